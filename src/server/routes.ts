/**
 * Every route of the HTTP API in one table: the server registers it, the OpenAPI document is built
 * from it, and the remote client follows the same paths. Each route names its input schemas (zod, the
 * service's own rules) and calls one service operation; the tenant always comes from the token.
 */
import { z } from 'zod';

import { type Operation } from '../auth/permissions';
import { SecretsError } from '../core/errors';
import * as schema from '../core/schemas';
import type { Caller, SecretsService } from '../service/secrets-service';

export interface RouteInput {
	params: Record<string, string>;
	query: Record<string, unknown>;
	body: Record<string, unknown>;
	caller: Caller;
}

export interface Route {
	method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
	/** Under /api/v1, in fastify's syntax (`:name`). */
	path: string;
	summary: string;
	/**
	 * The service operation the route runs: its permission (OPERATION_SCOPES) is what the service
	 * enforces and what the OpenAPI document and docs/SERVER.md show.
	 */
	operation: Operation;
	query?: z.ZodTypeAny;
	/** For the documentation; the service validates the merged input with its own schema. */
	body?: z.ZodTypeAny;
	status?: number;
	handle(service: SecretsService, input: RouteInput): Promise<unknown>;
}

const env = z.object({ env: schema.environmentName }).strict();
const optionalEnv = z.object({ env: schema.environmentName.optional() }).strict();
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const bool = z.enum(['true', 'false']).transform((v) => v === 'true');

/** Body fields of the service inputs, without the name and environment the path and query carry. */
const valueBody = z
	.object({
		value: z.string().optional(),
		generate: schema.generateSpec.optional(),
		notBefore: z.string().optional(),
		expiresAt: z.string().optional(),
		reason: z.string().max(500).optional(),
		expectedVersion: z.number().int().min(0).optional(),
	})
	.strict();
const lineBody = z
	.object({
		expectedVersion: z.number().int().min(0).optional(),
		reason: z.string().max(500).optional(),
	})
	.strict();
const resolveBody = z
	.object({
		selector: schema.versionSelector.optional(),
		destinationHost: z.string().min(1).max(253).optional(),
	})
	.strict();
const updateSecretBody = schema.updateSecretInput.omit({ name: true });
const reencryptBody = z
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

function parse<S extends z.ZodTypeAny>(s: S | undefined, value: unknown): z.output<S> {
	if (!s) return value as z.output<S>;
	return schema.parseInput(s, value ?? {});
}

/** The body, as given, with the secret and environment from the path and query. */
function merged(input: RouteInput, query: { env?: string }): Record<string, unknown> {
	return { ...input.body, name: input.params.name, environment: query.env };
}

export const ROUTES: Route[] = [
	{
		method: 'GET',
		path: '/whoami',
		summary: 'What the access token may do (tenant, subject, scopes, limits).',
		operation: 'whoami',
		handle: (s, i) => s.whoami(i.caller),
	},
	{
		method: 'GET',
		path: '/secrets',
		summary: 'List secrets (names and metadata, never values), paged by cursor.',
		operation: 'listSecrets',
		// The service's own filter rules, with `env` for the environment and text for the rest.
		query: schema.listSecretsInput.omit({ environment: true }).extend({
			env: schema.environmentName.optional(),
			includeDeleted: bool.optional(),
			limit: int(1, 1000).optional(),
		}),
		handle: (s, i) => {
			const { env: environment, ...rest } = i.query as Record<string, unknown>;
			return s.listSecrets(i.caller, { ...rest, environment } as schema.ListSecretsInput);
		},
	},
	{
		method: 'POST',
		path: '/secrets',
		summary: 'Create a secret, optionally with a first value in one environment.',
		operation: 'createSecret',
		body: schema.createSecretInput,
		status: 201,
		handle: (s, i) => s.createSecret(i.caller, i.body as schema.CreateSecretInput),
	},
	{
		method: 'GET',
		path: '/secrets/expiring',
		summary: 'Versions that expire within N days (default 30), expired ones included.',
		operation: 'expiring',
		query: z
			.object({ withinDays: int(0, 3650).optional(), env: schema.environmentName.optional() })
			.strict(),
		handle: (s, i) =>
			s.expiring(i.caller, {
				withinDays: i.query.withinDays as number | undefined,
				environment: i.query.env as string | undefined,
			}),
	},
	{
		method: 'GET',
		path: '/secrets/:name',
		summary: "A secret's metadata: type, tags, bindings, rotation policy, environments.",
		operation: 'getSecret',
		handle: (s, i) => s.getSecret(i.caller, i.params.name),
	},
	{
		method: 'PATCH',
		path: '/secrets/:name',
		summary: "Change a secret's metadata (description, tags, allowed hosts, rotation policy, …).",
		operation: 'updateSecret',
		body: updateSecretBody,
		handle: (s, i) =>
			s.updateSecret(i.caller, { ...i.body, name: i.params.name } as schema.UpdateSecretInput),
	},
	{
		method: 'DELETE',
		path: '/secrets/:name',
		summary: 'Soft-delete a secret: hidden and unusable, restorable within the recovery window.',
		operation: 'deleteSecret',
		query: z.object({ reason: z.string().max(500).optional() }).strict(),
		handle: (s, i) => s.deleteSecret(i.caller, i.params.name, i.query.reason as string | undefined),
	},
	{
		method: 'PUT',
		path: '/secrets/:name/value',
		summary: 'Write a new current value (given, or generated on the server) in one environment.',
		operation: 'setValue',
		query: env,
		body: valueBody,
		status: 201,
		handle: (s, i) =>
			s.setValue(i.caller, merged(i, i.query as { env: string }) as schema.SetValueInput),
	},
	...(['rotate', 'stage'] as const).map(
		(op): Route => ({
			method: 'POST',
			path: `/secrets/:name/${op}`,
			summary:
				op === 'rotate'
					? 'Rotate: a new current value (generated by default), the old one kept as previous.'
					: 'Stage a pending value that is not served until promoted.',
			operation: op,
			query: env,
			body: valueBody,
			status: 201,
			handle: (s, i) => {
				const body = merged(i, i.query as { env: string });
				if (op === 'rotate' && body.value === undefined && body.generate === undefined)
					body.generate = {};
				return op === 'rotate'
					? s.rotate(i.caller, body as schema.RotateInput)
					: s.stage(i.caller, body as schema.RotateInput);
			},
		}),
	),
	...(['promote', 'rollback'] as const).map(
		(op): Route => ({
			method: 'POST',
			path: `/secrets/:name/${op}`,
			summary:
				op === 'promote'
					? 'Promote the pending value to current.'
					: 'Roll back: the previous value becomes current again.',
			operation: op,
			query: env,
			body: lineBody,
			handle: (s, i) => s[op](i.caller, merged(i, i.query as { env: string }) as schema.LineInput),
		}),
	),
	{
		method: 'POST',
		path: '/secrets/:name/restore',
		summary: 'Restore a soft-deleted secret with all its values.',
		operation: 'restoreSecret',
		handle: (s, i) => s.restoreSecret(i.caller, i.params.name),
	},
	{
		method: 'POST',
		path: '/secrets/:name/purge',
		summary: 'Erase a soft-deleted secret and every version for good.',
		operation: 'purgeSecret',
		handle: async (s, i) => {
			await s.purgeSecret(i.caller, i.params.name);
			return { purged: i.params.name };
		},
	},
	{
		method: 'POST',
		path: '/secrets/:name/resolve',
		summary:
			"The value, into the caller's own process, to send to destinationHost (audited as use): for the n8n runtime in remote mode (role runtime), never a person's token.",
		operation: 'resolve',
		query: env,
		body: resolveBody,
		handle: (s, i) =>
			s.resolve(i.caller, merged(i, i.query as { env: string }) as schema.ResolveInput),
	},
	{
		method: 'POST',
		path: '/secrets/:name/reveal',
		summary: 'The plaintext value as output (audited as reveal).',
		operation: 'reveal',
		query: env,
		body: resolveBody,
		handle: (s, i) =>
			s.reveal(i.caller, merged(i, i.query as { env: string }) as schema.ResolveInput),
	},
	{
		method: 'GET',
		path: '/secrets/:name/versions',
		summary: 'Versions of one environment, newest first, with labels and validity (no values).',
		operation: 'listVersions',
		query: env,
		handle: (s, i) =>
			s.listVersions(i.caller, { name: i.params.name, environment: i.query.env as string }),
	},
	{
		method: 'GET',
		path: '/rotation/due',
		summary:
			'Secrets whose rotation interval has passed: AUTOMATIC ones to rotate (action "rotate"), MANUAL ones as reminders (action "remind"); `policy` keeps one kind.',
		operation: 'dueForRotation',
		query: optionalEnv.extend({ policy: schema.rotationPolicy.optional() }),
		handle: (s, i) =>
			s.dueForRotation(i.caller, {
				environment: i.query.env as string | undefined,
				rotationPolicy: i.query.policy as schema.DueInput['rotationPolicy'],
			}),
	},
	{
		method: 'GET',
		path: '/stats',
		summary: 'Counts by type and environment, due and expiring.',
		operation: 'stats',
		handle: (s, i) => s.stats(i.caller),
	},
	{
		method: 'POST',
		path: '/maintenance',
		summary: 'Purge secrets past their recovery window and apply version retention.',
		operation: 'maintenance',
		handle: (s, i) => s.maintenance(i.caller),
	},
	{
		method: 'GET',
		path: '/audit',
		summary: 'Audit events, filtered and paged (never a value).',
		operation: 'listAudit',
		// The service's own filter rules; only the numbers arrive as text in a query string.
		query: schema.auditQueryInput.extend({
			afterSeq: int(0, Number.MAX_SAFE_INTEGER).optional(),
			limit: int(1, 1000).optional(),
		}),
		handle: (s, i) => s.listAudit(i.caller, i.query as schema.AuditQueryInput),
	},
	{
		method: 'GET',
		path: '/audit/verify',
		summary: "Check the audit trail's hash chain and head seal.",
		operation: 'verifyAudit',
		handle: (s, i) => s.verifyAudit(i.caller),
	},
	{
		method: 'GET',
		path: '/audit/checkpoint',
		summary:
			"A statement of the chain's last event signed with the tenant's key, for an auditor to keep outside the store.",
		operation: 'auditCheckpoint',
		handle: (s, i) => s.auditCheckpoint(i.caller),
	},
	{
		method: 'GET',
		path: '/tokens',
		summary: 'Access tokens of the tenant (ids and limits, never the tokens).',
		operation: 'listTokens',
		handle: (s, i) => s.listTokens(i.caller),
	},
	{
		method: 'POST',
		path: '/tokens',
		summary: 'Issue an access token (shown once) with a role or scopes and optional limits.',
		operation: 'createToken',
		body: schema.createTokenInput,
		status: 201,
		handle: (s, i) => s.createToken(i.caller, i.body as schema.CreateTokenInput),
	},
	{
		method: 'DELETE',
		path: '/tokens/:jti',
		summary: 'Revoke an access token; it fails on its very next use everywhere.',
		operation: 'revokeToken',
		handle: (s, i) => s.revokeToken(i.caller, i.params.jti),
	},
	{
		method: 'POST',
		path: '/keys/rotate',
		summary:
			"Re-encrypt the token's tenant under a new data key (an admin token without limits). Replacing the master key, store-wide, needs the key's holder: `n8n-secrets key rotate` on the store's host.",
		operation: 'rotateDataKeys',
		body: reencryptBody,
		handle: (s, i) => {
			const body = parse(reencryptBody, i.body);
			return s.rotateDataKeys(i.caller, { batchSize: body.batchSize });
		},
	},
];

/**
 * `POST /relay`, registered beside the table (it runs the relay, not one service call): its
 * permission is declared here all the same, for the OpenAPI document, the docs and the tests.
 */
export const RELAY_ROUTE = {
	method: 'POST',
	path: '/relay',
	operation: 'relay',
} as const satisfies Pick<Route, 'method' | 'path' | 'operation'>;

/** Validates a route's query string; unknown parameters are refused, not ignored. */
export function parseQuery(route: Route, query: unknown): Record<string, unknown> {
	if (!route.query) {
		if (query && typeof query === 'object' && Object.keys(query).length > 0)
			throw new SecretsError(
				'INVALID_INPUT',
				`Invalid input: ${route.method} ${route.path} takes no query parameters.`,
			);
		return {};
	}
	return parse(route.query, query) as Record<string, unknown>;
}
