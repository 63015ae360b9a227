/**
 * The operation table against its three interfaces: every operation is exposed, or its absence is
 * explained, in REST (routes and openapi.json), in GraphQL (the generated schema) and in the remote
 * client; and over a real server each interface refuses a token without the declared permission in
 * the same way, with the same audit event, and the client sends exactly the route the table declares.
 */
import { RemoteSecrets } from '../../src/client/remote-secrets';
import { type Scope, SCOPES } from '../../src/core/model';
import type { GraphqlOperationName } from '../../src/graphql/outputs';
import { OPERATION_SCOPES, describeScopes } from '../../src/auth/permissions';
import { RELAY_ROUTE, ROUTES, routeInput } from '../../src/server/routes';
import { IMPLEMENTATIONS } from '../../src/service/capabilities';
import {
	type HttpExposure,
	OPERATIONS,
	OPERATION_NAMES,
	type OperationName,
	declaration,
} from '../../src/service/operations';
import { type ApiServer, startApiServer } from '../helpers/api-server';
import { FIELDS, SCHEMA, client, documentFor, graphqlError } from '../helpers/graphql';
import { type TestStore, createTestStore } from '../helpers/store';

/** A valid input for every operation: the walk is about the guard, so each input passes validation. */
const INPUTS: Record<OperationName, Record<string, unknown>> = {
	whoami: {},
	listSecrets: { limit: 5 },
	createSecret: { name: 'walk-new', type: 'API_KEY' },
	expiring: { withinDays: 10 },
	getSecret: { name: 'walk' },
	updateSecret: { name: 'walk', description: 'changed' },
	deleteSecret: { name: 'walk', reason: 'walk' },
	setValue: { name: 'walk', environment: 'production', value: 'v2' },
	rotate: { name: 'walk', environment: 'production' },
	stage: { name: 'walk', environment: 'production', generate: {} },
	promote: { name: 'walk', environment: 'production' },
	rollback: { name: 'walk', environment: 'production' },
	restoreSecret: { name: 'walk' },
	purgeSecret: { name: 'walk' },
	use: { name: 'walk', environment: 'production' },
	resolve: { name: 'walk', environment: 'production' },
	reveal: { name: 'walk', environment: 'production' },
	relay: { environment: 'production' },
	listVersions: { name: 'walk', environment: 'production' },
	dueForRotation: { rotationPolicy: 'AUTOMATIC' },
	stats: {},
	maintenance: {},
	listAudit: { limit: 3 },
	secretUsage: { name: 'walk' },
	verifyAudit: {},
	auditCheckpoint: {},
	archiveAudit: { before: '2026-01-01', out: 'x.jsonl' },
	listTokens: {},
	createToken: { subject: 'walk-token', role: 'viewer' },
	revokeToken: { jti: '00000000-0000-4000-8000-000000000000' },
	rotateDataKeys: { reencrypt: true },
};

const http = (name: OperationName) => OPERATIONS[name].http as HttpExposure | { none: string };
const gql = (name: OperationName) => OPERATIONS[name].graphql;

describe('the operation table', () => {
	it('gives every operation a permission, one implementation, a REST route or a reason, and a GraphQL field or a reason', () => {
		expect(Object.keys(IMPLEMENTATIONS).sort()).toEqual([...OPERATION_NAMES].sort());
		expect(Object.keys(OPERATION_SCOPES).sort()).toEqual([...OPERATION_NAMES].sort());
		const routes = [...ROUTES, RELAY_ROUTE];
		const queries = SCHEMA.getQueryType()!.getFields();
		const mutations = SCHEMA.getMutationType()!.getFields();
		for (const name of OPERATION_NAMES) {
			const h = http(name);
			const served = routes.filter((r) => r.operation === name);
			if ('none' in h) {
				expect(h.none.length).toBeGreaterThan(10);
				expect(served).toEqual([]);
			} else expect(served.map((r) => `${r.method} ${r.path}`)).toEqual([`${h.method} ${h.path}`]);
			const g = gql(name);
			if ('query' in g) expect(queries[g.query]).toBeDefined();
			else if ('mutation' in g) expect(mutations[g.mutation]).toBeDefined();
			else expect(g.none.length).toBeGreaterThan(10);
		}
		// And nothing in the GraphQL schema that the table does not declare.
		const declared = FIELDS.map((f) => `${f.root} ${f.field}`).sort();
		const inSchema = [
			...Object.keys(queries).map((f) => `query ${f}`),
			...Object.keys(mutations).map((f) => `mutation ${f}`),
		].sort();
		expect(inSchema).toEqual(declared);
		expect(new Set(declared).size).toBe(declared.length);
	});

	it('never takes a field only the store host may give (localFields) from a request', () => {
		const verify = ROUTES.find((r) => r.operation === 'verifyAudit')!;
		expect(Object.values(verify.query)).not.toContain('archive');
		expect(() => routeInput(verify, {}, { archive: '/etc/passwd' }, {})).toThrow(
			expect.objectContaining({ code: 'INVALID_INPUT' }),
		);
		// Even on a route with a body, such a field is refused, not passed to the runner.
		expect(() =>
			routeInput({ ...verify, hasBody: true }, {}, {}, { archive: '/etc/passwd' }),
		).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
		for (const name of OPERATION_NAMES) {
			const local: readonly string[] = declaration(name).localFields ?? [];
			for (const r of ROUTES.filter((x) => x.operation === name))
				for (const field of local) expect(Object.values(r.query)).not.toContain(field);
		}
	});

	it('describes each field and route with the permission the runner enforces', () => {
		for (const f of FIELDS) {
			const root = f.root === 'query' ? SCHEMA.getQueryType()! : SCHEMA.getMutationType()!;
			const text = root.getFields()[f.field].description;
			expect(text).toContain(declaration(f.operation).summary);
			expect(text).toContain(describeScopes(f.operation));
		}
	});
});

describe('the table over a real server', () => {
	let t: TestStore;
	let api: ApiServer;
	let remote: RemoteSecrets;

	beforeAll(async () => {
		t = await createTestStore();
		await t.service.createSecret(t.admin, {
			name: 'walk',
			environment: 'production',
			value: 'walk-value',
			allowedHosts: ['api.example.com'],
		});
		api = await startApiServer(t);
		remote = new RemoteSecrets(api.url, { retries: 0 });
	});

	afterAll(async () => {
		await remote.close();
		await api.close();
		await t.cleanup();
	});

	/** A token with every scope but those `name` needs (and admin): it must be refused everywhere. */
	async function tokenWithout(name: OperationName): Promise<string> {
		const needed = new Set<Scope>(OPERATION_SCOPES[name]);
		// secrets:use includes secrets:relay, so an operation needing relay loses use as well.
		if (needed.has('secrets:relay')) needed.add('secrets:use');
		const scopes = SCOPES.filter((s) => s !== 'admin' && !needed.has(s));
		return (await t.service.createToken(t.admin, { subject: `without-${name}`, scopes })).token;
	}

	const lastDenial = async () =>
		(await t.service.listAudit(t.admin, { outcome: 'denied', limit: 1 })).items[0];

	const guarded = OPERATION_NAMES.filter((n) => OPERATION_SCOPES[n].length > 0);

	it.each(guarded.filter((n) => !('none' in http(n)) && !('none' in gql(n))))(
		'%s: refused alike over REST (the remote client) and GraphQL, each audited the same way',
		async (name) => {
			const token = await tokenWithout(name);
			const input = INPUTS[name];
			const rest = await remote.run(name, { token }, input).catch((e: unknown) => e);
			expect(rest).toMatchObject({ code: 'ACCESS_DENIED' });
			const overRest = await lastDenial();
			const logged = api.logs.filter((l) => l.msg === 'request').at(-1)!;
			const route = ROUTES.find((r) => r.operation === name)!;
			// The client sent exactly the route the table declares.
			expect(`${logged.method} ${logged.path}`).toBe(`${route.method} /api/v1${route.path}`);
			const g = await graphqlError(
				client(api, token).request(documentFor(name as GraphqlOperationName, input), input),
			);
			expect(g.code).toBe('ACCESS_DENIED');
			expect(g.message).toBe((rest as Error).message);
			const overGraphql = await lastDenial();
			expect(overGraphql.seq).toBeGreaterThan(overRest.seq);
			const same = (e: typeof overRest) => ({
				actor: e.actor,
				action: e.action,
				secret: e.secret,
				environment: e.environment,
				outcome: e.outcome,
				reason: e.reason,
			});
			expect(same(overGraphql)).toEqual(same(overRest));
		},
	);

	it.each(guarded.filter((n) => ROUTES.some((r) => r.operation === n)))(
		'%s: refused over REST for a token without its permission',
		async (name) => {
			const token = await tokenWithout(name);
			const err = await remote.run(name, { token }, INPUTS[name]).catch((e: unknown) => e);
			expect(err).toMatchObject({ code: 'ACCESS_DENIED' });
		},
	);

	it('refuses, in the client, an operation that has no route, before anything is sent', async () => {
		const before = api.logs.length;
		for (const name of OPERATION_NAMES.filter((n) => 'none' in http(n) && n !== 'use'))
			await expect(remote.run(name, t.admin, INPUTS[name])).rejects.toMatchObject({
				code: 'INVALID_INPUT',
			});
		expect(api.logs.length).toBe(before);
	});
});
