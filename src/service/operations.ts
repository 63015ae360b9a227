/**
 * The operation table: every operation of the backend, once, with its input schema, its permission
 * (OPERATION_SCOPES), the audit action it is recorded under, and how each interface exposes it. The
 * runner (runner.ts) enforces it for every caller; the REST routes, `openapi.json`, the GraphQL schema
 * and the remote client are generated from it, so an operation cannot exist in one interface and be
 * missing, or differently guarded, in another (test/server/operation-table.test.ts walks it).
 *
 * This module declares; it runs nothing. The implementations live in the capability modules
 * (capabilities/*.ts) under the same names, and TypeScript checks that every declared operation has
 * exactly one.
 */
import { z } from 'zod';

import { OPERATION_SCOPES, type Operation } from '../auth/permissions';
import type { AuditAction } from '../core/model';
import * as schema from '../core/schemas';

/** Reads are not audit actions of their own; the name only appears in the reason of a denial. */
export type ReadAction = 'read' | 'list' | 'audit.read' | 'token.list';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface HttpExposure {
	method: HttpMethod;
	/** Under /api/v1, in fastify's syntax: each `:param` is the input field of the same name. */
	path: string;
	status?: number;
	/**
	 * Input fields carried in the query string (GET and DELETE carry every field not in the path
	 * there), keyed by their query name: `{ env: 'environment' }`.
	 */
	query?: Readonly<Record<string, string>>;
	/** Registered by its own handler beside the generated routes (the relay sends a request). */
	custom?: true;
}

export type GraphqlExposure =
	| { query: string }
	| { mutation: string }
	/** Why the operation is not in the GraphQL schema: said once, checked by the table's test. */
	| { none: string };

export interface OperationDecl {
	summary: string;
	input: z.ZodTypeAny;
	/**
	 * How the operation is run: `read` outside any transaction, only denials and tampered rows
	 * audited; `write` in a transaction that re-checks the token and ends with the success event the
	 * declaration describes; `custom` manages its own transactions and success audit (value
	 * resolutions, token issue, archive, key rotation).
	 */
	kind: 'read' | 'write' | 'custom';
	/** The audit action of its success, denial and failure events. */
	action: AuditAction | ReadAction;
	/** The denial's wording: "This access token may not <verb>". */
	verb: string;
	/**
	 * Which input fields the token's limits apply to before anything is read: `name` against its
	 * secret-name patterns, `environment` against its environments. Default: both, when present.
	 */
	limits?: readonly ('name' | 'environment')[];
	/** Input fields no network interface accepts (a local file, an auditor's statement). */
	localFields?: readonly string[];
	http: HttpExposure | { none: string };
	graphql: GraphqlExposure;
}

const empty = z.object({}).strict();
const env = { env: 'environment' } as const;
const notOverGraphql = 'GraphQL carries no value except reveal';

const lineOp = (
	path: string,
	input: z.ZodTypeAny,
	action: AuditAction,
	verb: string,
	summary: string,
	status?: number,
): OperationDecl => ({
	summary,
	input,
	kind: 'write',
	action,
	verb,
	http: { method: 'POST', path: `/secrets/:name/${path}`, query: env, status },
	graphql: { mutation: path },
});

/** Rotate generates the new value unless one is given: the value never has to leave the store. */
const rotateInput = z.preprocess(
	(v) =>
		v && typeof v === 'object' && !('value' in v) && !('generate' in v)
			? { ...v, generate: {} }
			: v,
	schema.rotateInput,
);

export const OPERATIONS = {
	whoami: {
		summary: 'What the access token may do (tenant, subject, scopes, limits).',
		input: empty,
		kind: 'read',
		action: 'read',
		verb: 'read its own permissions',
		http: { method: 'GET', path: '/whoami' },
		graphql: { query: 'whoami' },
	},
	listSecrets: {
		summary: 'List secrets (names and metadata, never values), paged by cursor.',
		input: schema.listSecretsInput,
		kind: 'read',
		action: 'list',
		verb: 'list secrets',
		http: { method: 'GET', path: '/secrets', query: env },
		graphql: { query: 'secrets' },
	},
	createSecret: {
		summary: 'Create a secret, optionally with a first value in one environment.',
		input: schema.createSecretInput,
		kind: 'write',
		action: 'create',
		verb: 'create secrets',
		http: { method: 'POST', path: '/secrets', status: 201 },
		graphql: { mutation: 'createSecret' },
	},
	expiring: {
		summary: 'Versions that expire within N days (default 30), expired ones included.',
		input: schema.withinDaysInput,
		kind: 'read',
		action: 'list',
		verb: 'list expiring secrets',
		http: { method: 'GET', path: '/secrets/expiring', query: env },
		graphql: { query: 'expiring' },
	},
	getSecret: {
		summary: "A secret's metadata: type, tags, bindings, rotation policy, environments.",
		input: schema.nameInput,
		kind: 'read',
		action: 'read',
		verb: 'read secret metadata',
		http: { method: 'GET', path: '/secrets/:name' },
		graphql: { query: 'secret' },
	},
	updateSecret: {
		summary: "Change a secret's metadata (description, tags, allowed hosts, rotation policy, …).",
		input: schema.updateSecretInput,
		kind: 'write',
		action: 'update',
		verb: 'change secrets',
		http: { method: 'PATCH', path: '/secrets/:name' },
		graphql: { mutation: 'updateSecret' },
	},
	deleteSecret: {
		summary: 'Soft-delete a secret: hidden and unusable, restorable within the recovery window.',
		input: schema.deleteInput,
		kind: 'write',
		action: 'delete',
		verb: 'delete secrets',
		http: { method: 'DELETE', path: '/secrets/:name' },
		graphql: { mutation: 'deleteSecret' },
	},
	setValue: {
		summary: 'Write a new current value in one environment (rotate generates one on the server).',
		input: schema.setValueInput,
		kind: 'write',
		action: 'update',
		verb: 'set secret values',
		http: { method: 'PUT', path: '/secrets/:name/value', query: env, status: 201 },
		graphql: { mutation: 'setValue' },
	},
	rotate: lineOp(
		'rotate',
		rotateInput,
		'rotate',
		'rotate secrets',
		'Rotate: a new current value (generated by default), the old one kept as previous.',
		201,
	),
	stage: lineOp(
		'stage',
		schema.rotateInput,
		'stage',
		'stage secret values',
		'Stage a pending value that is not served until promoted.',
		201,
	),
	promote: lineOp(
		'promote',
		schema.lineInput,
		'promote',
		'promote secret versions',
		'Promote the pending value to current.',
	),
	rollback: lineOp(
		'rollback',
		schema.lineInput,
		'rollback',
		'roll back secrets',
		'Roll back: the previous value becomes current again.',
	),
	restoreSecret: {
		summary: 'Restore a soft-deleted secret with all its values.',
		input: schema.nameInput,
		kind: 'write',
		action: 'restore',
		verb: 'restore secrets',
		http: { method: 'POST', path: '/secrets/:name/restore' },
		graphql: { mutation: 'restoreSecret' },
	},
	purgeSecret: {
		summary: 'Erase a soft-deleted secret and every version for good.',
		input: schema.nameInput,
		kind: 'write',
		action: 'purge',
		verb: 'purge secrets',
		http: { method: 'POST', path: '/secrets/:name/purge' },
		graphql: { mutation: 'purgeSecret' },
	},
	use: {
		summary:
			"The value for the package's own code to send somewhere (audited as use); in-process only.",
		input: schema.resolveInput,
		kind: 'custom',
		action: 'use',
		verb: 'use secret values',
		http: { none: 'in-process only: over the network the runtime uses resolve' },
		graphql: { none: notOverGraphql },
	},
	resolve: {
		summary:
			"The value, into the caller's own process, to send to destinationHost (audited as use): for the n8n runtime in remote mode (role runtime), never a person's token.",
		input: schema.resolveInput,
		kind: 'custom',
		action: 'use',
		verb: 'receive secret values over the network',
		http: { method: 'POST', path: '/secrets/:name/resolve', query: env },
		graphql: { none: notOverGraphql },
	},
	reveal: {
		summary: 'The plaintext value as output (audited as reveal).',
		input: schema.resolveInput,
		kind: 'custom',
		action: 'reveal',
		verb: 'reveal secret values',
		http: { method: 'POST', path: '/secrets/:name/reveal', query: env },
		graphql: { mutation: 'reveal' },
	},
	relay: {
		summary:
			'Send an HTTP request with secret references injected by the server; only the scrubbed answer comes back.',
		// Without a name: whether the caller may relay in that environment at all (asked first).
		input: schema.resolveInput.partial({ name: true }),
		kind: 'custom',
		action: 'use',
		verb: 'relay requests with secret values',
		http: { method: 'POST', path: '/relay', custom: true },
		graphql: { none: 'an outbound HTTP request, not data: POST /relay' },
	},
	listVersions: {
		summary: 'Versions of one environment, newest first, with labels and validity (no values).',
		input: schema.versionsInput,
		kind: 'read',
		action: 'list',
		verb: 'list secret versions',
		http: { method: 'GET', path: '/secrets/:name/versions', query: env },
		graphql: { query: 'versions' },
	},
	dueForRotation: {
		summary:
			'Secrets whose rotation interval has passed: AUTOMATIC ones to rotate (action "rotate"), MANUAL ones as reminders (action "remind"); the rotation policy filter (REST: `policy`) keeps one kind.',
		input: schema.dueInput,
		kind: 'read',
		action: 'list',
		verb: 'list secrets due for rotation',
		http: { method: 'GET', path: '/rotation/due', query: { ...env, policy: 'rotationPolicy' } },
		graphql: { query: 'dueForRotation' },
	},
	stats: {
		summary: 'Counts by type and environment, due and expiring.',
		input: empty,
		kind: 'read',
		action: 'read',
		verb: 'read statistics',
		http: { method: 'GET', path: '/stats' },
		graphql: { query: 'stats' },
	},
	maintenance: {
		summary: 'Purge secrets past their recovery window and apply version retention.',
		input: empty,
		kind: 'write',
		action: 'purge',
		verb: 'run maintenance',
		http: { method: 'POST', path: '/maintenance' },
		graphql: { mutation: 'maintenance' },
	},
	listAudit: {
		summary: 'Audit events, filtered and paged (never a value).',
		input: schema.auditQueryInput,
		kind: 'read',
		action: 'audit.read',
		verb: 'read the audit trail',
		// The filters narrow what is read; which events a limited token sees is decided per event.
		limits: [],
		http: { method: 'GET', path: '/audit' },
		graphql: { query: 'audit' },
	},
	secretUsage: {
		summary:
			'Used by: the workflows that used a secret (successful uses in the audit trail), each with its last use, newest first.',
		input: schema.usageInput,
		kind: 'read',
		action: 'audit.read',
		verb: 'read where secrets are used',
		http: { method: 'GET', path: '/secrets/:name/usage' },
		graphql: { query: 'secretUsage' },
	},
	verifyAudit: {
		summary: "Check the audit trail's hash chain and head seal.",
		// On the store's host only: an auditor's signed checkpoint, or an archive file, checked too.
		input: z
			.object({ checkpoint: z.unknown().optional(), archive: z.string().optional() })
			.strict(),
		kind: 'read',
		action: 'audit.read',
		verb: 'verify the audit trail',
		localFields: ['checkpoint', 'archive'],
		http: { method: 'GET', path: '/audit/verify' },
		graphql: { query: 'auditVerify' },
	},
	auditCheckpoint: {
		summary:
			"A statement of the chain's last event signed with the tenant's key, for an auditor to keep outside the store.",
		input: empty,
		kind: 'read',
		action: 'audit.read',
		verb: 'sign an audit checkpoint',
		http: { method: 'GET', path: '/audit/checkpoint' },
		graphql: { query: 'auditCheckpoint' },
	},
	archiveAudit: {
		summary: 'Move the oldest audit events to a file on the store host and remove them.',
		input: schema.archiveAuditInput,
		kind: 'custom',
		action: 'audit.archive',
		verb: 'archive the audit trail',
		http: { none: 'writes a file on the store host: `n8n-secrets audit archive`' },
		graphql: { none: 'writes a file on the store host: `n8n-secrets audit archive`' },
	},
	listTokens: {
		summary: 'Access tokens of the tenant (ids and limits, never the tokens).',
		input: empty,
		kind: 'read',
		action: 'token.list',
		verb: 'list access tokens',
		http: { method: 'GET', path: '/tokens' },
		graphql: { query: 'tokens' },
	},
	createToken: {
		summary: 'Issue an access token (shown once) with a role or scopes and optional limits.',
		input: schema.createTokenInput,
		kind: 'custom',
		action: 'token.create',
		verb: 'create access tokens',
		http: { method: 'POST', path: '/tokens', status: 201 },
		graphql: { mutation: 'createToken' },
	},
	revokeToken: {
		summary: 'Revoke an access token; it fails on its very next use everywhere.',
		input: schema.revokeTokenInput,
		kind: 'write',
		action: 'token.revoke',
		verb: 'revoke access tokens',
		http: { method: 'DELETE', path: '/tokens/:jti' },
		graphql: { mutation: 'revokeToken' },
	},
	rotateDataKeys: {
		summary:
			"Re-encrypt the token's tenant under a new data key (an admin token without limits). Replacing the master key, store-wide, needs the key's holder: `n8n-secrets key rotate` on the store's host.",
		input: schema.reencryptInput,
		kind: 'custom',
		action: 'key.rotate',
		verb: 'rotate data keys',
		http: { method: 'POST', path: '/keys/rotate' },
		graphql: { mutation: 'rotateDataKeys' },
	},
} as const satisfies Record<Operation, OperationDecl>;

export type OperationName = keyof typeof OPERATIONS;
export type InputOf<K extends OperationName> = z.output<(typeof OPERATIONS)[K]['input']>;

/** Every operation's declaration, with its permission from the one table of scopes. */
export function declaration(name: OperationName): OperationDecl & {
	name: OperationName;
	scopes: readonly string[];
} {
	return { ...(OPERATIONS[name] as OperationDecl), name, scopes: OPERATION_SCOPES[name] };
}

export const OPERATION_NAMES = Object.keys(OPERATIONS) as OperationName[];
