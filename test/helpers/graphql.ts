/**
 * The GraphQL suites' tools: a real GraphQL client (graphql-request) for a server on loopback, an
 * operation document for any field of the generated schema (every output field selected), the same
 * operation as a REST request (from the table's HTTP exposure), one scenario that runs every
 * GraphQL-exposed operation, and audit events without what differs from one store to another.
 */
import { type GraphQLSchema, type GraphQLOutputType, getNamedType, isObjectType } from 'graphql';
import { ClientError, GraphQLClient } from 'graphql-request';

import type { AuditEvent } from '../../src/core/model';
import { type GraphqlField, buildGraphqlSchema, graphqlFields } from '../../src/graphql/schema';
import type { GraphqlOperationName } from '../../src/graphql/outputs';
import { ROUTES } from '../../src/server/routes';
import type { Answer, ApiServer } from './api-server';

export const GRAPHQL_PATH = '/api/v1/graphql';
export const SCHEMA: GraphQLSchema = buildGraphqlSchema();
export const FIELDS: readonly GraphqlField[] = graphqlFields();

export function fieldOf(op: GraphqlOperationName): GraphqlField {
	const f = FIELDS.find((x) => x.operation === op);
	if (!f) throw new Error(`${op} is not exposed to GraphQL`);
	return f;
}

export function client(api: ApiServer, token: string, headers: Record<string, string> = {}) {
	return new GraphQLClient(`${api.url}${GRAPHQL_PATH}`, {
		headers: { authorization: `Bearer ${token}`, ...headers },
		fetch,
	});
}

function selection(type: GraphQLOutputType): string {
	const named = getNamedType(type);
	if (!isObjectType(named)) return '';
	const fields = Object.values(named.getFields()).map((f) => `${f.name}${selection(f.type)}`);
	return ` { ${fields.join(' ')} }`;
}

/** `mutation($name: String!, …) { setValue(name: $name, …) { …every field… } }` for `input`'s keys. */
export function documentFor(op: GraphqlOperationName, input: Record<string, unknown>): string {
	const f = fieldOf(op);
	const root = f.root === 'query' ? SCHEMA.getQueryType()! : SCHEMA.getMutationType()!;
	const field = root.getFields()[f.field];
	const keys = Object.keys(input).filter((k) => input[k] !== undefined);
	const vars = keys.map((k) => {
		const arg = field.args.find((a) => a.name === k);
		if (!arg) throw new Error(`${f.field} has no argument ${k}`);
		return `$${k}: ${String(arg.type)}`;
	});
	const args = keys.map((k) => `${k}: $${k}`);
	const list = (xs: string[]) => (xs.length ? `(${xs.join(', ')})` : '');
	return `${f.root} ${list(vars)} { ${f.field}${list(args)}${selection(field.type)} }`;
}

/** Runs one operation over GraphQL and answers its field's data. */
export async function runGraphql(
	c: GraphQLClient,
	op: GraphqlOperationName,
	input: Record<string, unknown>,
): Promise<Answer> {
	const data = await c.request<Record<string, unknown>>(documentFor(op, input), input);
	return data[fieldOf(op).field];
}

/** The coded error a GraphQL request failed with (the first one), and its HTTP status. */
export async function graphqlError(
	request: Promise<unknown>,
): Promise<{ status: number; code: string; message: string; errors: Answer[] }> {
	try {
		await request;
	} catch (e) {
		if (!(e instanceof ClientError)) throw e;
		const errors = (e.response.errors ?? []) as Answer[];
		return {
			status: e.response.status,
			code: errors[0]?.extensions?.code,
			message: errors[0]?.message,
			errors,
		};
	}
	throw new Error('the GraphQL request succeeded');
}

/** The same operation as a REST request: the generated route, with the input placed as it says. */
export function restRequest(
	op: GraphqlOperationName,
	input: Record<string, unknown>,
): { method: string; path: string; body?: unknown } {
	const route = ROUTES.find((r) => r.operation === op);
	if (!route) throw new Error(`${op} has no REST route`);
	const rest: Record<string, unknown> = { ...input };
	const path = route.path.replace(/:([A-Za-z]+)/g, (_m, k: string) => {
		const v = rest[k];
		delete rest[k];
		return encodeURIComponent(String(v));
	});
	const query = new URLSearchParams();
	for (const [name, field] of Object.entries(route.query))
		if (rest[field] !== undefined) {
			query.set(name, String(rest[field]));
			delete rest[field];
		}
	const qs = query.size ? `?${query}` : '';
	return {
		method: route.method,
		path: `/api/v1${path}${qs}`,
		body: route.hasBody ? rest : undefined,
	};
}

/** One step of the scenario: an operation, its input (from earlier answers), and what to check. */
export interface Step {
	op: GraphqlOperationName;
	input: (answers: Record<string, Answer>) => Record<string, unknown>;
	/** Under this key in `answers` (default: the operation's name). */
	as?: string;
}

export const VALUE = 'sk_live_GRAPHQL_value_+/=?&';
const NAME = 'stripe-key';
const ENV = 'production';
const line = { name: NAME, environment: ENV };
/** The stores' clocks are set to the real time: an expiry `days` from now. */
export const inDays = (days: number) =>
	new Date(Math.floor(Date.now() / 86_400_000 + days) * 86_400_000).toISOString();

/** Every GraphQL-exposed operation, in an order in which each succeeds. */
export const SCENARIO: readonly Step[] = [
	{ op: 'whoami', input: () => ({}) },
	{
		op: 'createSecret',
		input: () => ({
			name: NAME,
			type: 'API_KEY',
			environment: ENV,
			value: VALUE,
			tags: ['payments'],
			rotationPolicy: 'MANUAL',
			rotationIntervalDays: 30,
		}),
	},
	{ op: 'listSecrets', input: () => ({ limit: 10 }) },
	{ op: 'getSecret', input: () => ({ name: NAME }) },
	{ op: 'updateSecret', input: () => ({ name: NAME, description: 'payments', maxVersions: 5 }) },
	{
		op: 'setValue',
		input: () => ({ ...line, value: `${VALUE}-2`, expiresAt: inDays(100) }),
	},
	{ op: 'stage', input: () => ({ ...line, value: `${VALUE}-3` }) },
	{ op: 'promote', input: () => ({ ...line }) },
	{ op: 'rollback', input: () => ({ ...line, reason: 'bad value' }) },
	{ op: 'rotate', input: () => ({ ...line, expiresAt: inDays(10) }) },
	{ op: 'listVersions', input: () => ({ ...line }) },
	{ op: 'reveal', input: () => ({ ...line, selector: { version: 1 } }) },
	{ op: 'expiring', input: () => ({ withinDays: 30 }) },
	{ op: 'dueForRotation', input: () => ({ environment: ENV }) },
	{ op: 'stats', input: () => ({}) },
	{ op: 'maintenance', input: () => ({}) },
	{ op: 'listAudit', input: () => ({ limit: 5, action: 'rotate' }) },
	{ op: 'secretUsage', input: () => ({ name: NAME }) },
	{ op: 'verifyAudit', input: () => ({}) },
	{ op: 'auditCheckpoint', input: () => ({}) },
	{ op: 'listTokens', input: () => ({}) },
	{ op: 'createToken', input: () => ({ subject: 'ci', role: 'viewer', ttl: '1h' }) },
	{ op: 'revokeToken', input: (a) => ({ jti: a.createToken.info.jti }) },
	{ op: 'deleteSecret', input: () => ({ name: NAME, reason: 'cleanup' }) },
	{ op: 'restoreSecret', input: () => ({ name: NAME }) },
	{ op: 'deleteSecret', as: 'deleteAgain', input: () => ({ name: NAME }) },
	{ op: 'purgeSecret', input: () => ({ name: NAME }) },
	{ op: 'rotateDataKeys', input: () => ({ reencrypt: true }) },
];

/** Runs the scenario with `run` and answers every step's result by its key. */
export async function runScenario(
	run: (op: GraphqlOperationName, input: Record<string, unknown>) => Promise<Answer>,
): Promise<Record<string, Answer>> {
	const answers: Record<string, Answer> = {};
	for (const step of SCENARIO)
		answers[step.as ?? step.op] = await run(step.op, step.input(answers));
	return answers;
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

/** An audit event without what differs between two stores (ids, times, hashes, token ids). */
export function comparable(e: AuditEvent): Partial<AuditEvent> {
	const { seq: _s, id: _i, time: _t, tenant: _n, tokenId: _k, prevHash: _p, hash: _h, ...rest } = e;
	return { ...rest, reason: rest.reason?.replace(UUID, '<id>') ?? null };
}
