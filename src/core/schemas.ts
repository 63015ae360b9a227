/**
 * Input schemas: every public operation validates its input here, at the boundary, so the layers below
 * can trust their arguments. Messages name the field and the rule, never the value.
 */
import { z } from 'zod';

import { SecretsError } from './errors';
import { isHostPattern } from './matching';
import {
	ALL_ENVIRONMENTS,
	ROLES,
	ROTATION_POLICIES,
	SCOPES,
	SECRET_TYPES,
	VERSION_LABELS,
} from './model';

import {
	CONTROL,
	CONTROL_BUT_TAB_NEWLINE,
	hasForbiddenCharacter,
	isWellFormedText,
	replaceForbiddenCharacters,
	toStorableText,
} from './text';

export { hasForbiddenCharacter, isWellFormedText, replaceForbiddenCharacters, toStorableText };

const NOT_UNICODE = 'is not valid Unicode text (it holds an unpaired UTF-16 surrogate)';

/** A secret value: any Unicode text (NUL and other controls included: it is encrypted, never text in SQL). */
export const secretValue = z.string().refine(isWellFormedText, NOT_UNICODE);

/** One-line text (filters, patterns, cursors): no control character, no unpaired surrogate. */
function lineText(max: number, min = 0) {
	return z
		.string()
		.min(min)
		.max(max)
		.refine((s) => !CONTROL.test(s), 'must not contain control characters')
		.refine(isWellFormedText, NOT_UNICODE);
}

/** Text a person writes (descriptions, reasons): tab and newline allowed, other controls not. */
function freeText(max: number) {
	return z
		.string()
		.max(max)
		.refine(
			(s) => !CONTROL_BUT_TAB_NEWLINE.test(s),
			'must not contain control characters other than tab and newline',
		)
		.refine(isWellFormedText, NOT_UNICODE);
}

/** Why, for the audit trail. */
export const reasonText = freeText(500);

/** An access token's id (`jti`): a UUID for this store's tokens. */
export const tokenId = z
	.string()
	.regex(/^[A-Za-z0-9_.:-]{1,200}$/, 'expected a token id as `n8n-secrets token list` shows it');

export const secretName = z
	.string()
	.regex(/^[A-Za-z0-9_-]{1,128}$/, 'use 1 to 128 letters, digits, "-" or "_"');

export const environmentName = z
	.string()
	.regex(
		/^(\*|[A-Za-z0-9_-]{1,64})$/,
		`use 1 to 64 letters, digits, "-" or "_" (or "${ALL_ENVIRONMENTS}" for the value shared by all environments)`,
	);

const isoDate = z
	.string()
	.refine(
		(s) => !Number.isNaN(Date.parse(s)),
		'expected an ISO 8601 date, e.g. 2027-01-31T00:00:00Z',
	)
	.transform((s) => new Date(s).toISOString());

/** `*`, or `[http(s)://]host[:port]` where host is a name, `*.`-prefixed name, IPv4 or `[IPv6]`. */
const hostPattern = z
	.string()
	.regex(
		/^\*$|^((https?):\/\/)?((\*\.)?[A-Za-z0-9][A-Za-z0-9.-]{0,252}|\[[0-9a-fA-F:.]+\])(:\d{1,5})?\/?$/i,
		'expected a host such as api.example.com, *.example.com, https://api.example.com or api.example.com:8443 (or * for any destination)',
	)
	.refine(isHostPattern, 'expected a port from 1 to 65535 and a valid IPv6 address in brackets');

const consumerPattern = lineText(200, 1);
export const tag = z
	.string()
	.regex(
		/^[A-Za-z0-9_.:/=-]{1,64}$/,
		'tags are 1 to 64 characters: letters, digits and _ . : / = -',
	);

export const secretType = z.enum(SECRET_TYPES);
export const rotationPolicy = z.enum(ROTATION_POLICIES);
export const versionLabel = z.enum(VERSION_LABELS);

export const versionSelector = z.union([
	z.object({ label: versionLabel }).strict(),
	z.object({ version: z.number().int().positive() }).strict(),
]);

const metadataFields = {
	description: freeText(1000),
	// A set: the store keeps one row per tag, so a repeated tag is folded, not a constraint error.
	tags: z
		.array(tag)
		.max(50)
		.transform((tags) => [...new Set(tags)]),
	rotationPolicy: rotationPolicy.describe(
		'AUTOMATIC: the rotation workflow replaces the value every rotationIntervalDays (required). MANUAL: a person rotates it; with an interval it is due as a reminder. ON_DEMAND: rotated only when asked; no interval. Required on create when rotationIntervalDays is given.',
	),
	rotationIntervalDays: z
		.number()
		.int()
		.min(1)
		.max(3650)
		.nullable()
		.describe(
			'Days a value may be used before it is due (AUTOMATIC: rotated; MANUAL: a reminder). null: none.',
		),
	allowedHosts: z.array(hostPattern).max(100),
	allowedConsumers: z.array(consumerPattern).max(100),
	maxVersions: z.number().int().min(2).max(1000),
	previousWindowDays: z.number().int().min(0).max(3650),
};

const valueFields = {
	value: secretValue,
	notBefore: isoDate.optional(),
	expiresAt: isoDate.optional(),
	reason: reasonText.optional(),
	expectedVersion: z.number().int().min(0).optional(),
};

export const generateSpec = z
	.object({
		length: z.number().int().min(8).max(4096).default(32),
		alphabet: z
			.enum(['alphanumeric', 'hex', 'base64url', 'ascii-printable'])
			.default('alphanumeric'),
	})
	.strict();

const optionalMetadata = z.object(metadataFields).partial();

export const createSecretInput = optionalMetadata
	.extend({
		name: secretName,
		type: secretType.default('CUSTOM'),
		environment: environmentName.optional(),
		value: secretValue.optional(),
		generate: generateSpec.optional(),
		notBefore: isoDate.optional(),
		expiresAt: isoDate.optional(),
		reason: reasonText.optional(),
	})
	.strict()
	.superRefine((v, ctx) => {
		// A first value needs its environment, and is given or generated: the one place this is checked.
		if ((v.value !== undefined || v.generate !== undefined) !== (v.environment !== undefined))
			ctx.addIssue({
				code: z.ZodIssueCode.custom,
				message:
					'give "environment" together with "value" or "generate" for an initial value, or none of them',
			});
		else if (v.value !== undefined && v.generate !== undefined)
			ctx.addIssue({
				code: z.ZodIssueCode.custom,
				message: 'give "value" or "generate", not both',
			});
	});
export type CreateSecretInput = z.input<typeof createSecretInput>;

export const updateSecretInput = optionalMetadata.extend({ name: secretName }).strict();
export type UpdateSecretInput = z.input<typeof updateSecretInput>;

export const setValueInput = z
	.object({ name: secretName, environment: environmentName, ...valueFields })
	.strict();
export type SetValueInput = z.input<typeof setValueInput>;

export const rotateInput = z
	.object({
		name: secretName,
		environment: environmentName,
		value: secretValue.optional(),
		generate: generateSpec.optional(),
		notBefore: isoDate.optional(),
		expiresAt: isoDate.optional(),
		reason: reasonText.optional(),
		expectedVersion: z.number().int().min(0).optional(),
	})
	.strict()
	.refine((v) => (v.value === undefined) !== (v.generate === undefined), {
		message: 'give exactly one of "value" or "generate"',
		path: ['value'],
	});
export type RotateInput = z.input<typeof rotateInput>;

export const lineInput = z
	.object({
		name: secretName,
		environment: environmentName,
		expectedVersion: z.number().int().min(0).optional(),
		reason: reasonText.optional(),
	})
	.strict();
export type LineInput = z.input<typeof lineInput>;

export const resolveInput = z
	.object({
		name: secretName,
		environment: environmentName,
		selector: versionSelector.optional(),
		/** Where the value goes: `scheme://host:port` (or a bare host, which matches host-only bindings). */
		destinationHost: lineText(300, 1).optional(),
	})
	.strict();
export type ResolveInput = z.input<typeof resolveInput>;

export const nameInput = z.object({ name: secretName }).strict();

export const deleteInput = z.object({ name: secretName, reason: reasonText.optional() }).strict();

export const revokeTokenInput = z.object({ jti: tokenId }).strict();

/** What a listing can be narrowed to by the state of its values (the Secrets page's status filter). */
export const LIST_STATUSES = ['expiring', 'expired', 'due', 'deleted'] as const;
export type ListStatus = (typeof LIST_STATUSES)[number];
export const LIST_SORTS = [
	'name',
	'-name',
	'updatedAt',
	'-updatedAt',
	'createdAt',
	'-createdAt',
] as const;
export type ListSort = (typeof LIST_SORTS)[number];

export const listSecretsInput = z
	.object({
		prefix: lineText(128).optional(),
		/** Case-insensitive substring of the name, the description or a tag. */
		search: lineText(128).optional(),
		tag: tag.optional(),
		type: secretType.optional(),
		environment: environmentName.optional(),
		includeDeleted: z.boolean().optional(),
		/**
		 * expiring: a current value expires within 30 days (not yet expired); expired: one has; due: a
		 * current value is due for rotation; deleted: only soft-deleted secrets.
		 */
		status: z.enum(LIST_STATUSES).optional(),
		sort: z.enum(LIST_SORTS).default('name'),
		limit: z.number().int().min(1).max(1000).default(100),
		cursor: lineText(300).optional(),
	})
	.strict();
export type ListSecretsInput = z.input<typeof listSecretsInput>;

export const versionsInput = z.object({ name: secretName, environment: environmentName }).strict();

export const withinDaysInput = z
	.object({
		withinDays: z.number().int().min(0).max(3650).default(30),
		environment: environmentName.optional(),
	})
	.strict();
export type WithinDaysInput = z.input<typeof withinDaysInput>;

export const dueInput = z
	.object({
		environment: environmentName.optional(),
		/** AUTOMATIC: what the rotation workflow rotates; MANUAL: reminders for a person. */
		rotationPolicy: rotationPolicy.optional(),
	})
	.strict();
export type DueInput = z.input<typeof dueInput>;

export const auditQueryInput = z
	.object({
		secret: secretName.optional(),
		action: lineText(32).optional(),
		actor: lineText(200).optional(),
		tokenId: lineText(200).optional(),
		outcome: z.enum(['success', 'denied', 'failure']).optional(),
		workflowId: lineText(200).optional(),
		executionId: lineText(200).optional(),
		since: isoDate.optional(),
		until: isoDate.optional(),
		/** Events with a sequence number greater than this; for polling without missing any. */
		afterSeq: z.number().int().min(0).optional(),
		limit: z.number().int().min(1).max(1000).default(100),
		cursor: lineText(40).optional(),
	})
	.strict();
export type AuditQueryInput = z.input<typeof auditQueryInput>;

export const usageInput = z
	.object({ name: secretName, limit: z.number().int().min(1).max(1000).default(100) })
	.strict();

/** Audit archiving, on the store's host: events before `before` go to the file `out`. */
export const archiveAuditInput = z
	.object({
		before: z.string().refine((v) => !Number.isNaN(Date.parse(v)), {
			message: 'not a date; use an ISO date such as 2026-01-01',
		}),
		out: z.string().trim().min(1, 'name the archive file to write'),
	})
	.strict();

/** `POST /keys/rotate`: the tenant's values re-encrypted under a new data key. */
export const reencryptInput = z
	.object({
		reencrypt: z.literal(true, {
			errorMap: () => ({
				message:
					'set "reencrypt": true (the master key is replaced with the CLI, on the store host)',
			}),
		}),
		batchSize: z.number().int().min(1).max(10000).optional(),
	})
	.strict();

/** `90d`, `12h`, `30m`, `never`, or a number of seconds. */
export const ttl = z.union([
	z.literal('never'),
	z.number().int().positive(),
	z.string().regex(/^\d+[smhdy]$/, 'expected a duration like 90d, 12h, 30m or "never"'),
]);

export const createTokenInput = z
	.object({
		subject: z.string().regex(/^[A-Za-z0-9_.:@/-]{1,200}$/, 'use letters, digits and _ . : @ / -'),
		role: z.enum(Object.keys(ROLES) as [keyof typeof ROLES, ...(keyof typeof ROLES)[]]).optional(),
		scopes: z.array(z.enum(SCOPES)).min(1).optional(),
		environments: z.array(environmentName).max(50).default([]),
		secrets: z
			.array(z.string().regex(/^[A-Za-z0-9_*?-]{1,128}$/, 'a glob of name characters, * and ?'))
			.max(100)
			.default([]),
		ttl: ttl.default('90d'),
	})
	.strict()
	.refine((v) => (v.role === undefined) !== (v.scopes === undefined), {
		message: 'give exactly one of "role" or "scopes"',
		path: ['role'],
	});
export type CreateTokenInput = z.input<typeof createTokenInput>;

/** Parses `90d` style durations into seconds; `never` into null. */
export function ttlSeconds(value: z.infer<typeof ttl>): number | null {
	if (value === 'never') return null;
	if (typeof value === 'number') return value;
	const n = Number(value.slice(0, -1));
	const unit = value.slice(-1);
	const mult = { s: 1, m: 60, h: 3600, d: 86400, y: 365 * 86400 }[
		unit as 's' | 'm' | 'h' | 'd' | 'y'
	];
	return n * mult;
}

/**
 * Unknown field names as the message shows them: a few, short, JSON-quoted (so a control character
 * or a megabyte-long key sent by a client is not written back verbatim).
 */
function unknownKeys(keys: string[]): string {
	const shown = keys
		.slice(0, 5)
		.map((k) => JSON.stringify(k.length > 40 ? `${k.slice(0, 40)}…` : k));
	return keys.length > 5 ? `${shown.join(', ')} and ${keys.length - 5} more` : shown.join(', ');
}

/** Runs a schema and turns its failure into an INVALID_INPUT error that names the fields at fault. */
export function parseInput<S extends z.ZodTypeAny>(schema: S, input: unknown): z.output<S> {
	const result = schema.safeParse(input);
	if (result.success) return result.data;
	const issues = result.error.issues.map((i) => {
		const field = i.path.length ? i.path.join('.') : 'input';
		return i.code === 'unrecognized_keys'
			? `${field}: unknown field(s) ${unknownKeys(i.keys)}`
			: `${field}: ${i.message}`;
	});
	throw new SecretsError('INVALID_INPUT', `Invalid input: ${issues.join('; ')}.`, {
		details: { fields: result.error.issues.map((i) => i.path.join('.') || 'input') },
	});
}
