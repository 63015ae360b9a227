/**
 * Input schemas: every public operation validates its input here, at the boundary, so the layers below
 * can trust their arguments. Messages name the field and the rule, never the value.
 */
import { z } from 'zod';

import { SecretsError } from './errors';
import {
	ALL_ENVIRONMENTS,
	ROLES,
	ROTATION_POLICIES,
	SCOPES,
	SECRET_TYPES,
	VERSION_LABELS,
} from './model';

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
	);

const consumerPattern = z.string().min(1).max(200);
const tag = z
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
	description: z.string().max(1000),
	tags: z.array(tag).max(50),
	rotationPolicy,
	rotationIntervalDays: z.number().int().min(1).max(3650).nullable(),
	allowedHosts: z.array(hostPattern).max(100),
	allowedConsumers: z.array(consumerPattern).max(100),
	maxVersions: z.number().int().min(2).max(1000),
	previousWindowDays: z.number().int().min(0).max(3650),
};

const valueFields = {
	value: z.string(),
	notBefore: isoDate.optional(),
	expiresAt: isoDate.optional(),
	reason: z.string().max(500).optional(),
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
		value: z.string().optional(),
		generate: generateSpec.optional(),
		notBefore: isoDate.optional(),
		expiresAt: isoDate.optional(),
		reason: z.string().max(500).optional(),
	})
	.strict();
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
		value: z.string().optional(),
		generate: generateSpec.optional(),
		notBefore: isoDate.optional(),
		expiresAt: isoDate.optional(),
		reason: z.string().max(500).optional(),
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
		reason: z.string().max(500).optional(),
	})
	.strict();
export type LineInput = z.input<typeof lineInput>;

export const resolveInput = z
	.object({
		name: secretName,
		environment: environmentName,
		selector: versionSelector.optional(),
		/** Where the value goes: `scheme://host:port` (or a bare host, which matches host-only bindings). */
		destinationHost: z.string().min(1).max(300).optional(),
	})
	.strict();
export type ResolveInput = z.input<typeof resolveInput>;

export const nameInput = z.object({ name: secretName }).strict();

export const listSecretsInput = z
	.object({
		prefix: z.string().max(128).optional(),
		tag: tag.optional(),
		type: secretType.optional(),
		environment: environmentName.optional(),
		includeDeleted: z.boolean().optional(),
		limit: z.number().int().min(1).max(1000).default(100),
		cursor: z.string().max(200).optional(),
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

export const dueInput = z.object({ environment: environmentName.optional() }).strict();
export type DueInput = z.input<typeof dueInput>;

export const auditQueryInput = z
	.object({
		secret: secretName.optional(),
		action: z.string().max(32).optional(),
		actor: z.string().max(200).optional(),
		tokenId: z.string().max(200).optional(),
		outcome: z.enum(['success', 'denied', 'failure']).optional(),
		workflowId: z.string().max(200).optional(),
		executionId: z.string().max(200).optional(),
		since: isoDate.optional(),
		until: isoDate.optional(),
		/** Events with a sequence number greater than this; for polling without missing any. */
		afterSeq: z.number().int().min(0).optional(),
		limit: z.number().int().min(1).max(1000).default(100),
		cursor: z.string().max(40).optional(),
	})
	.strict();
export type AuditQueryInput = z.input<typeof auditQueryInput>;

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

/** Runs a schema and turns its failure into an INVALID_INPUT error that names the fields at fault. */
export function parseInput<S extends z.ZodTypeAny>(schema: S, input: unknown): z.output<S> {
	const result = schema.safeParse(input);
	if (result.success) return result.data;
	const issues = result.error.issues.map((i) => {
		const field = i.path.length ? i.path.join('.') : 'input';
		return i.code === 'unrecognized_keys'
			? `${field}: unknown field(s) ${i.keys.join(', ')}`
			: `${field}: ${i.message}`;
	});
	throw new SecretsError('INVALID_INPUT', `Invalid input: ${issues.join('; ')}.`, {
		details: { fields: result.error.issues.map((i) => i.path.join('.') || 'input') },
	});
}
