/**
 * The permission matrix, generated: every route of the API (ROUTES and RELAY_ROUTE) against every
 * role preset, a set of limited tokens and a token for each single scope. What each cell must answer
 * comes from OPERATION_SCOPES and the token's limits, never from a hand-written list of routes, so a
 * new route without a fixture below fails here, and a route whose enforcement drifts from its
 * declaration fails in its cell.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { OPERATION_SCOPES, type Operation } from '../../src/auth/permissions';
import { ROLES, SCOPES, type Scope } from '../../src/core/model';
import type { CreateTokenInput } from '../../src/core/schemas';
import { RELAY_ROUTE, ROUTES } from '../../src/server/routes';
import { type Answer, type ApiServer, startApiServer } from '../helpers/api-server';
import { createTestStore, type TestStore } from '../helpers/store';

const VALUE = 'matrix-VALUE-canary-7f3e';

/** A token of the matrix: how it is issued, and the limits the expectations are computed from. */
interface Holder {
	label: string;
	scopes: readonly Scope[];
	environments: string[];
	secrets: string[];
}

const LIMITED_ENV = 'staging';
const OTHER_ENV = 'production';
const LIMITED_GLOB = 'stripe-*';

const HOLDERS: Holder[] = [
	...Object.entries(ROLES).map(([role, scopes]) => ({
		label: `role ${role}`,
		scopes,
		environments: [],
		secrets: [],
	})),
	{
		label: `admin limited to ${LIMITED_ENV} + ${LIMITED_GLOB}`,
		scopes: ROLES.admin,
		environments: [LIMITED_ENV],
		secrets: [LIMITED_GLOB],
	},
	{
		label: `operator limited to ${LIMITED_ENV}`,
		scopes: ROLES.operator,
		environments: [LIMITED_ENV],
		secrets: [],
	},
	{
		label: `auditor limited to ${LIMITED_GLOB}`,
		scopes: ROLES.auditor,
		environments: [],
		secrets: [LIMITED_GLOB],
	},
	...SCOPES.map((scope) => ({
		label: `only ${scope}`,
		scopes: [scope],
		environments: [],
		secrets: [],
	})),
];

function tokenInput(h: Holder, subject: string): CreateTokenInput {
	const role = Object.entries(ROLES).find(
		([, s]) => s.length === h.scopes.length && s.every((x) => h.scopes.includes(x)),
	)?.[0] as keyof typeof ROLES | undefined;
	return {
		subject,
		...(role ? { role } : { scopes: [...h.scopes] }),
		environments: h.environments,
		secrets: h.secrets,
		ttl: '1d',
	};
}

/**
 * The rule as the issue states it, written independently of src/auth: `admin` holds every scope,
 * and `secrets:use` includes `secrets:relay`.
 */
function holds(scopes: readonly Scope[], scope: Scope): boolean {
	return (
		scopes.includes('admin') ||
		scopes.includes(scope) ||
		(scope === 'secrets:relay' && scopes.includes('secrets:use'))
	);
}

/** Where a request is aimed: a secret name and an environment. */
interface Target {
	name: string;
	env: string;
}

/** The parts of a request a fixture gives; the method and path come from the route table. */
interface RequestParts {
	params?: Record<string, string>;
	query?: Record<string, string>;
	body?: unknown;
}

interface Ctx {
	t: TestStore;
	upstreamUrl: string;
}

/**
 * A route's fixture. `aims` lists the limits a request can fall outside of (a token limited there
 * must get 403); limits a route filters by instead (listing, stats) are not aims. `wholeTenant`:
 * the route acts on the whole tenant, outside the limits of any limited token.
 */
interface Fixture {
	aims: ('env' | 'name')[];
	wholeTenant?: boolean;
	/** The target is a secret by name (for the "denial does not reveal existence" check). */
	namesSecret?: boolean;
	/** Puts the store into the state in which the request succeeds for a token allowed to make it. */
	seed?: (c: Ctx, target: Target) => Promise<RequestParts | void>;
	request: (c: Ctx, target: Target, seeded: RequestParts | void) => RequestParts;
}

const admin = (c: Ctx) => c.t.admin;

/** A secret with a value in the limited environment and, if the target is elsewhere, there too. */
async function seedSecret(c: Ctx, target: Target, allowedHosts: string[] = []): Promise<void> {
	await c.t.service.createSecret(admin(c), {
		name: target.name,
		type: 'API_KEY',
		environment: LIMITED_ENV,
		value: VALUE,
		allowedHosts,
	});
	if (target.env !== LIMITED_ENV)
		await c.t.service.setValue(admin(c), {
			name: target.name,
			environment: target.env,
			value: `${VALUE}-2`,
		});
}

const env = (target: Target) => ({ query: { env: target.env } });

const FIXTURES: Record<string, Fixture> = {
	'GET /whoami': { aims: [], request: () => ({}) },
	'GET /secrets': { aims: ['env'], request: (_c, x) => env(x) },
	'POST /secrets': {
		aims: ['env', 'name'],
		namesSecret: true,
		request: (_c, x) => ({
			body: { name: x.name, type: 'API_KEY', environment: x.env, value: VALUE },
		}),
	},
	'GET /secrets/expiring': {
		aims: ['env'],
		request: (_c, x) => ({ query: { env: x.env, withinDays: '30' } }),
	},
	'GET /secrets/:name': {
		aims: ['name'],
		namesSecret: true,
		seed: (c, x) => seedSecret(c, x),
		request: () => ({}),
	},
	// A secret-wide field (allowedHosts): outside an env-limited token when the secret has a line
	// in an environment the token may not act in.
	'PATCH /secrets/:name': {
		aims: ['env', 'name'],
		namesSecret: true,
		seed: (c, x) => seedSecret(c, x),
		// Secret-wide (so environment limits apply) but not steering: allowedHosts and allowedConsumers
		// also need secrets:reveal (test/integration/token-limits.test.ts).
		request: () => ({ body: { description: 'matrix', maxVersions: 5 } }),
	},
	'DELETE /secrets/:name': {
		aims: ['env', 'name'],
		namesSecret: true,
		seed: (c, x) => seedSecret(c, x),
		request: () => ({ query: { reason: 'matrix' } }),
	},
	'PUT /secrets/:name/value': {
		aims: ['env', 'name'],
		namesSecret: true,
		seed: (c, x) => seedSecret(c, x),
		request: (_c, x) => ({ ...env(x), body: { value: `${VALUE}-new` } }),
	},
	'POST /secrets/:name/rotate': {
		aims: ['env', 'name'],
		namesSecret: true,
		seed: (c, x) => seedSecret(c, x),
		request: (_c, x) => ({ ...env(x), body: {} }),
	},
	'POST /secrets/:name/stage': {
		aims: ['env', 'name'],
		namesSecret: true,
		seed: (c, x) => seedSecret(c, x),
		request: (_c, x) => ({ ...env(x), body: { value: `${VALUE}-pending` } }),
	},
	'POST /secrets/:name/promote': {
		aims: ['env', 'name'],
		namesSecret: true,
		seed: async (c, x) => {
			await seedSecret(c, x);
			await c.t.service.stage(admin(c), {
				name: x.name,
				environment: x.env,
				value: `${VALUE}-pending`,
			});
		},
		request: (_c, x) => ({ ...env(x), body: {} }),
	},
	'POST /secrets/:name/rollback': {
		aims: ['env', 'name'],
		namesSecret: true,
		seed: async (c, x) => {
			await seedSecret(c, x);
			await c.t.service.setValue(admin(c), {
				name: x.name,
				environment: x.env,
				value: `${VALUE}-next`,
			});
		},
		request: (_c, x) => ({ ...env(x), body: { reason: 'matrix' } }),
	},
	'POST /secrets/:name/restore': {
		aims: ['env', 'name'],
		namesSecret: true,
		seed: async (c, x) => {
			await seedSecret(c, x);
			await c.t.service.deleteSecret(admin(c), x.name);
		},
		request: () => ({}),
	},
	'POST /secrets/:name/purge': {
		aims: ['env', 'name'],
		namesSecret: true,
		seed: async (c, x) => {
			await seedSecret(c, x);
			await c.t.service.deleteSecret(admin(c), x.name);
		},
		request: () => ({}),
	},
	'POST /secrets/:name/resolve': {
		aims: ['env', 'name'],
		namesSecret: true,
		seed: (c, x) => seedSecret(c, x),
		request: (_c, x) => ({ ...env(x), body: {} }),
	},
	'POST /secrets/:name/reveal': {
		aims: ['env', 'name'],
		namesSecret: true,
		seed: (c, x) => seedSecret(c, x),
		request: (_c, x) => ({ ...env(x), body: {} }),
	},
	'GET /secrets/:name/versions': {
		aims: ['env', 'name'],
		namesSecret: true,
		seed: (c, x) => seedSecret(c, x),
		request: (_c, x) => env(x),
	},
	'GET /rotation/due': { aims: ['env'], request: (_c, x) => env(x) },
	'GET /stats': { aims: [], request: () => ({}) },
	'POST /maintenance': { aims: [], request: () => ({}) },
	'GET /audit': { aims: [], request: () => ({ query: { limit: '5' } }) },
	'GET /secrets/:name/usage': {
		aims: ['name'],
		namesSecret: true,
		seed: (c, x) => seedSecret(c, x),
		request: () => ({}),
	},
	'GET /audit/verify': { aims: [], request: () => ({}) },
	'GET /audit/checkpoint': { aims: [], request: () => ({}) },
	'GET /tokens': { aims: [], request: () => ({}) },
	// The new token's limits are the target: the requested environment and name pattern.
	'POST /tokens': {
		aims: ['env', 'name'],
		request: (_c, x) => ({
			body: {
				subject: 'minted',
				role: 'viewer',
				environments: [x.env],
				secrets: [x.name],
				ttl: '1h',
			},
		}),
	},
	// The revoked token's limits are the target.
	'DELETE /tokens/:jti': {
		aims: ['env', 'name'],
		seed: async (c, x) => {
			const { info } = await c.t.service.createToken(admin(c), {
				subject: 'revocation-target',
				role: 'viewer',
				environments: [x.env],
				secrets: [x.name],
				ttl: '1h',
			});
			return { params: { jti: info.jti } };
		},
		request: (_c, _x, seeded) => ({ params: (seeded as RequestParts).params }),
	},
	'POST /keys/rotate': {
		aims: [],
		wholeTenant: true,
		request: () => ({ body: { reencrypt: true } }),
	},
	'POST /relay': {
		aims: ['env', 'name'],
		namesSecret: true,
		seed: (c, x) => seedSecret(c, x, ['127.0.0.1']),
		request: (c, x) => ({
			body: {
				environment: x.env,
				method: 'GET',
				url: `${c.upstreamUrl}/matrix`,
				headers: [{ name: 'Authorization', value: `Bearer [[secret:${x.name}]]` }],
			},
		}),
	},
};

interface RouteUnderTest {
	key: string;
	method: string;
	path: string;
	operation: Operation;
	status: number;
}

const ALL_ROUTES: RouteUnderTest[] = [
	...ROUTES.map((r) => ({
		key: `${r.method} ${r.path}`,
		method: r.method,
		path: r.path,
		operation: r.operation,
		status: r.status ?? 200,
	})),
	{
		key: `${RELAY_ROUTE.method} ${RELAY_ROUTE.path}`,
		method: RELAY_ROUTE.method,
		path: RELAY_ROUTE.path,
		operation: RELAY_ROUTE.operation,
		status: 200,
	},
];

function fixtureOf(route: RouteUnderTest): Fixture {
	const f = FIXTURES[route.key];
	if (!f)
		throw new Error(
			`No fixture for ${route.key}: add one to FIXTURES in test/server/permission-matrix.test.ts.`,
		);
	return f;
}

function urlOf(route: RouteUnderTest, target: Target, parts: RequestParts): string {
	const params: Record<string, string> = { name: target.name, ...(parts.params ?? {}) };
	const path = route.path.replace(/:([A-Za-z]+)/g, (_m, p: string) => {
		if (params[p] === undefined) throw new Error(`${route.key}: no value for :${p}`);
		return encodeURIComponent(params[p]);
	});
	const qs = new URLSearchParams(parts.query ?? {}).toString();
	return `/api/v1${path}${qs ? `?${qs}` : ''}`;
}

function within(h: Holder, target: Target): { env: boolean; name: boolean } {
	return {
		env: h.environments.length === 0 || h.environments.includes(target.env),
		name:
			h.secrets.length === 0 ||
			h.secrets.some((g) =>
				g.endsWith('*') ? target.name.startsWith(g.slice(0, -1)) : g === target.name,
			),
	};
}

let t: TestStore;
let api: ApiServer;
let upstream: Server;
let upstreamHits = 0;
let ctx: Ctx;
const issued = new Map<string, { token: string; jti: string }>();
let serial = 0;

/** A fresh target per request: in the token's limits (`stripe-…` in staging) or aimed outside one. */
function target(kind: 'in' | 'env' | 'name'): Target {
	serial++;
	return {
		name: kind === 'name' ? `payroll-m${serial}` : `stripe-m${serial}`,
		env: kind === 'env' ? OTHER_ENV : LIMITED_ENV,
	};
}

async function send(
	route: RouteUnderTest,
	token: string,
	x: Target,
): Promise<{ status: number; body: Answer }> {
	const f = fixtureOf(route);
	const seeded = f.seed ? await f.seed(ctx, x) : undefined;
	const parts = f.request(ctx, x, seeded);
	const r = await api.call(route.method, urlOf(route, x, parts), {
		token,
		body: parts.body,
	});
	return { status: r.status, body: r.body };
}

beforeAll(async () => {
	t = await createTestStore();
	t.clock.ms = Date.now();
	upstream = createServer((req, res) => {
		upstreamHits++;
		req.resume();
		req.on('end', () => res.end('{"ok":true}'));
	});
	await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
	ctx = { t, upstreamUrl: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}` };
	api = await startApiServer(t);
	for (const h of HOLDERS) {
		const { token, info } = await t.service.createToken(
			t.admin,
			tokenInput(h, `m-${h.label.replace(/[^A-Za-z0-9_.:@/-]+/g, '-')}`),
		);
		issued.set(h.label, { token, jti: info.jti });
	}
});

afterAll(async () => {
	await api?.close();
	await new Promise<void>((r) => (upstream ? upstream.close(() => r()) : r()));
	await t?.cleanup();
});

describe('the route table', () => {
	it('has a fixture for every route, and none for a route that is gone', () => {
		const keys = ALL_ROUTES.map((r) => r.key);
		expect(keys.filter((k) => !FIXTURES[k])).toEqual([]);
		expect(Object.keys(FIXTURES).filter((k) => !keys.includes(k))).toEqual([]);
	});

	it('shows in openapi.json exactly the scopes the service enforces, for every route', async () => {
		const r = await api.call('GET', '/api/v1/openapi.json');
		expect(r.status).toBe(200);
		const documented: Record<string, unknown> = {};
		for (const [path, ops] of Object.entries(r.body.paths as Record<string, Answer>))
			for (const [method, op] of Object.entries(ops as Record<string, Answer>))
				if (path.startsWith('/api/v1/') && path !== '/api/v1/openapi.json')
					documented[`${method.toUpperCase()} ${path}`] = op['x-required-scopes'];
		const declared = Object.fromEntries(
			ALL_ROUTES.map((route) => [
				`${route.method} /api/v1${route.path.replace(/:([A-Za-z]+)/g, '{$1}')}`,
				[...OPERATION_SCOPES[route.operation]],
			]),
		);
		expect(documented).toEqual(declared);
	});

	it('declares scopes for every operation, and every operation but in-process use and audit archiving has a route', () => {
		const routed = new Set(ALL_ROUTES.map((r) => r.operation));
		// Archiving writes a file on the store's host and prunes only once it is on disk there: CLI only.
		expect(Object.keys(OPERATION_SCOPES).filter((op) => !routed.has(op as Operation))).toEqual([
			'use',
			'archiveAudit',
		]);
	});
});

describe.each(ALL_ROUTES.map((r) => [r.key, r] as const))('%s', (_key, route) => {
	const declared: readonly Scope[] = OPERATION_SCOPES[route.operation];

	it.each(HOLDERS.map((h) => [h.label, h] as const))('%s', async (_label, h) => {
		const f = fixtureOf(route);
		const { token, jti } = issued.get(h.label)!;
		const lacks = declared.filter((s) => !holds(h.scopes, s));
		const limited = h.environments.length > 0 || h.secrets.length > 0;
		const kinds: ('in' | 'env' | 'name')[] = lacks.length > 0 ? ['in'] : ['in', ...f.aims];
		const headBefore = (await t.service.listAudit(t.admin, { limit: 1 })).items[0]?.seq ?? 0;
		const hitsBefore = upstreamHits;
		const outcomes: unknown[] = [];
		const expected: unknown[] = [];
		for (const kind of kinds) {
			const x = target(kind);
			const inside = within(h, x);
			let why: string;
			if (lacks.length > 0) why = `lacks ${lacks.join(', ')}`;
			else if (f.wholeTenant && limited) why = 'whole tenant, token limited';
			else if (!inside.env) why = `env ${x.env} outside token`;
			else if (!inside.name) why = `${x.name} outside token`;
			else why = '';
			const r = await send(route, token, x);
			outcomes.push({
				kind,
				why,
				status: r.status,
				code: r.status >= 400 ? r.body?.code : undefined,
			});
			expected.push({
				kind,
				why,
				status: why ? 403 : route.status,
				code: why ? 'ACCESS_DENIED' : undefined,
			});
			expect(JSON.stringify(r.body)).not.toContain(token);
			if (why) expect(JSON.stringify(r.body)).not.toContain(VALUE);
		}
		expect(outcomes).toEqual(expected);

		// Every denial is in the audit trail, under the token that was refused.
		const denials = (
			await t.service.listAudit(t.admin, {
				afterSeq: headBefore,
				tokenId: jti,
				outcome: 'denied',
				limit: 1000,
			})
		).items;
		expect(denials).toHaveLength(expected.filter((e) => (e as { why: string }).why).length);
		if (route.key === 'POST /relay')
			expect(upstreamHits - hitsBefore).toBe(
				expected.filter((e) => !(e as { why: string }).why).length,
			);
	});
});

describe('a revoked token', () => {
	const revoked: Holder[] = HOLDERS.filter((h) =>
		[
			'role admin',
			'role viewer',
			`admin limited to ${LIMITED_ENV} + ${LIMITED_GLOB}`,
			'only secrets:relay',
		].includes(h.label),
	);
	const tokens = new Map<string, string>();

	beforeAll(async () => {
		for (const h of revoked) {
			const { token, info } = await t.service.createToken(t.admin, tokenInput(h, 'to-be-revoked'));
			await t.service.revokeToken(t.admin, info.jti);
			tokens.set(h.label, token);
		}
		expect(revoked).toHaveLength(4);
	});

	it.each(ALL_ROUTES.map((r) => [r.key, r] as const))(
		'gets 401 TOKEN_REVOKED on %s, whatever its scopes and limits',
		async (_key, route) => {
			const answers: unknown[] = [];
			const hitsBefore = upstreamHits;
			for (const h of revoked) {
				for (const kind of ['in', 'env', 'name'] as const) {
					const r = await send(route, tokens.get(h.label)!, target(kind));
					answers.push({ who: h.label, kind, status: r.status, code: r.body?.code });
				}
			}
			expect(answers).toEqual(
				revoked.flatMap((h) =>
					(['in', 'env', 'name'] as const).map((kind) => ({
						who: h.label,
						kind,
						status: 401,
						code: 'TOKEN_REVOKED',
					})),
				),
			);
			expect(upstreamHits).toBe(hitsBefore);
		},
	);
});

describe('a denial for a name outside the token', () => {
	const nameRoutes = ALL_ROUTES.filter((r) => fixtureOf(r).namesSecret);
	const limitedHolders = HOLDERS.filter((h) => h.secrets.length > 0);
	const payroll: Target = { name: 'payroll-db', env: LIMITED_ENV };

	async function answers(): Promise<Record<string, unknown>> {
		const out: Record<string, unknown> = {};
		for (const route of nameRoutes)
			for (const h of limitedHolders) {
				const parts = fixtureOf(route).request(ctx, payroll, undefined);
				const r = await api.call(route.method, urlOf(route, payroll, parts), {
					token: issued.get(h.label)!.token,
					body: parts.body,
				});
				out[`${route.key} · ${h.label}`] = { status: r.status, body: r.body };
			}
		return out;
	}

	it('is the same whether payroll-db is missing, exists, or is deleted', async () => {
		expect(nameRoutes.length).toBeGreaterThanOrEqual(14);
		expect(limitedHolders.length).toBeGreaterThanOrEqual(2);
		const missing = await answers();
		for (const [cell, a] of Object.entries(missing))
			expect({ cell, status: (a as Answer).status, code: (a as Answer).body.code }).toEqual({
				cell,
				status: 403,
				code: 'ACCESS_DENIED',
			});

		await seedSecret(ctx, { name: 'payroll-db', env: OTHER_ENV }, ['127.0.0.1']);
		await t.service.stage(t.admin, {
			name: 'payroll-db',
			environment: LIMITED_ENV,
			value: `${VALUE}-pending`,
		});
		const existing = await answers();
		expect(existing).toEqual(missing);

		await t.service.deleteSecret(t.admin, 'payroll-db');
		expect(await answers()).toEqual(missing);
		expect(JSON.stringify(missing)).not.toContain(VALUE);
	});
});
