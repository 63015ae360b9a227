/**
 * The GraphQL endpoint's protocol and limits: bearer tokens as REST has them, POST with JSON only,
 * malformed, invalid, too deep, too costly, too long and too large batched requests each refused with
 * their own code (never a 500), service errors with REST's code, message and status, partial
 * answers, no echoed value in any message, introspection on and GraphiQL only when switched on.
 */
import { getIntrospectionQuery } from 'graphql';

import { GRAPHQL_LIMITS } from '../../src/graphql/limits';
import { GRAPHIQL_ENV } from '../../src/graphql/register';
import { type Answer, type ApiServer, startApiServer } from '../helpers/api-server';
import { GRAPHQL_PATH, client, graphqlError } from '../helpers/graphql';
import { createTestStore, type TestStore } from '../helpers/store';

let t: TestStore;
let api: ApiServer;
const CANARY = 'sk_canary_7f3e19';

beforeEach(async () => {
	t = await createTestStore();
	t.clock.ms = Date.now();
	api = await startApiServer(t);
});

afterEach(async () => {
	await api.close();
	await t.cleanup();
});

/** A raw POST; every answer is checked to be coded and never a 500. */
async function post(
	body: unknown,
	o: { token?: string | null; raw?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: Answer }> {
	const token = o.token === null ? undefined : (o.token ?? t.admin.token);
	const r = await api.call('POST', GRAPHQL_PATH, {
		token,
		body: o.raw === undefined ? body : undefined,
		raw: o.raw,
		headers: o.headers,
	});
	expect(r.status).toBeLessThan(500);
	if (r.status >= 400) expect(r.body.errors[0].extensions.code).toEqual(expect.any(String));
	return r;
}

const codeOf = (r: { body: Answer }) => r.body.errors?.[0]?.extensions?.code;

describe('bearer tokens', () => {
	it('without one: 401 TOKEN_INVALID with the message REST gives, before anything is parsed', async () => {
		const rest = await api.call('GET', '/api/v1/whoami');
		const r = await post({ query: '{ whoami { subject } }' }, { token: null });
		expect(r.status).toBe(401);
		expect(r.body).toEqual({
			errors: [{ message: rest.body.message, extensions: { code: 'TOKEN_INVALID' } }],
		});
		expect((await post({ query: '{ not parsed' }, { token: null })).status).toBe(401);
	});

	it('a bad or revoked one: the code, message and status REST gives', async () => {
		const { token, info } = await t.service.createToken(t.admin, {
			subject: 'gone',
			role: 'viewer',
		});
		await t.service.revokeToken(t.admin, info.jti);
		for (const bad of ['not-a-token', token]) {
			const rest = await api.call('GET', '/api/v1/whoami', { token: bad });
			const g = await graphqlError(client(api, bad).request('{ whoami { subject } }'));
			expect(g).toMatchObject({
				status: rest.status,
				code: rest.body.code,
				message: rest.body.message,
			});
		}
	});
});

describe('the HTTP side', () => {
	it('refuses GET (a GET can be forged from another site) and anything but JSON', async () => {
		const get = await api.call(
			'GET',
			`${GRAPHQL_PATH}?query=${encodeURIComponent('{ whoami { subject } }')}`,
			{
				token: t.admin.token,
			},
		);
		expect([get.status, codeOf(get)]).toEqual([404, 'ROUTE_NOT_FOUND']);
		for (const type of ['text/plain', 'application/graphql', 'application/x-www-form-urlencoded']) {
			const r = await post(undefined, {
				raw: '{ whoami { subject } }',
				headers: { 'content-type': type },
			});
			expect([r.status, codeOf(r)]).toEqual([415, 'UNSUPPORTED_MEDIA_TYPE']);
		}
	});

	it('refuses bodies that are not GraphQL requests with INVALID_INPUT', async () => {
		for (const body of [
			{},
			[],
			{ query: 5 },
			{ query: ' ' },
			{ query: '{ whoami { subject } }', variables: [1] },
			'text',
		])
			expect([body, codeOf(await post(body))]).toEqual([body, 'INVALID_INPUT']);
		expect(codeOf(await post(undefined, { raw: '{"query": ' }))).toBe('INVALID_INPUT');
		const big = await post({ query: `{ whoami { subject } } #${'x'.repeat(300 * 1024)}` });
		expect([big.status, codeOf(big)]).toEqual([413, 'PAYLOAD_TOO_LARGE']);
	});
});

describe('queries it refuses', () => {
	it('malformed: GRAPHQL_PARSE_FAILED with where; JSON text is not a document', async () => {
		const r = await post({ query: '{ whoami { subject }' });
		expect([r.status, codeOf(r)]).toEqual([400, 'GRAPHQL_PARSE_FAILED']);
		expect(r.body.errors[0].locations).toEqual([{ line: 1, column: 21 }]);
		expect(r.body.data).toBeUndefined();
		for (const query of ['{"kind":"Document","definitions":[]}', 'null', '[1]'])
			expect(codeOf(await post({ query }))).toBe('GRAPHQL_PARSE_FAILED');
	});

	it('not of the schema: GRAPHQL_VALIDATION_FAILED', async () => {
		for (const query of [
			'{ nope }',
			'{ secret { name } }',
			'{ secrets(limit: "x") { items { name } } }',
			'mutation { whoami { subject } }',
		]) {
			const r = await post({ query });
			expect([query, r.status, codeOf(r)]).toEqual([query, 400, 'GRAPHQL_VALIDATION_FAILED']);
		}
		const vars = await post({
			query: 'query($n: Int!) { secrets(limit: $n) { items { name } } }',
			variables: { n: 'ten' },
		});
		expect(codeOf(vars)).toBe('GRAPHQL_VALIDATION_FAILED');
	});

	it('never shows a value it was sent, in any message', async () => {
		const setValue = (value: string) =>
			`mutation { setValue(name: "a-key", environment: "production", value: ${value}) { version } }`;
		const requests: unknown[] = [
			{ query: setValue('7319245') },
			{ query: setValue(`{ v: "${CANARY}" }`) },
			{ query: `mutation { setValue(name: "a-key" "${CANARY}") { version } }` },
			{ query: `mutation { createSecret(name: "a-key", type: ${CANARY}) { name } }` },
			{ query: `mutation { createSecret(name: "a-key", type: "${CANARY}") { name } }` },
			{
				query:
					'mutation($v: String!) { setValue(name: "a-key", environment: "p", value: $v) { version } }',
				variables: { v: { nested: CANARY } },
			},
			{
				query:
					'mutation($v: String!) { setValue(name: "a-key", environment: "p", value: $v) { version } }',
				variables: { v: 7319245 },
			},
			{
				query:
					'mutation($g: GenerateSpec) { rotate(name: "a-key", environment: "p", generate: $g) { version } }',
				variables: { g: { length: CANARY } },
			},
		];
		for (const body of requests) {
			const r = await post(body);
			expect(codeOf(r)).toMatch(/^GRAPHQL_/);
			const text = JSON.stringify(r.body);
			expect(text).not.toContain(CANARY);
			expect(text).not.toContain('7319245');
		}
		expect(JSON.stringify(api.logs)).not.toContain(CANARY);
	});

	it(`too deep (over ${GRAPHQL_LIMITS.maxDepth} levels): QUERY_TOO_DEEP, before validation`, async () => {
		const deep = `{ ${'a { '.repeat(GRAPHQL_LIMITS.maxDepth)}b${' }'.repeat(GRAPHQL_LIMITS.maxDepth)} }`;
		const r = await post({ query: deep });
		expect([r.status, codeOf(r)]).toEqual([400, 'QUERY_TOO_DEEP']);
		const viaFragments = `{ ...A } fragment A on Query { a { ...B } } fragment B on X { b { c { d { e { f { g { h { i } } } } } } } }`;
		expect(codeOf(await post({ query: viaFragments }))).toBe('QUERY_TOO_DEEP');
		// The deepest real query, and the standard introspection query, pass.
		expect(
			(await post({ query: '{ secrets { items { environments { environment } } } }' })).status,
		).toBe(200);
		const intro = await post({ query: getIntrospectionQuery() });
		expect(intro.status).toBe(200);
		expect(intro.body.data.__schema.types.map((x: Answer) => x.name)).toContain('SecretMetadata');
	});

	it(`too costly (over ${GRAPHQL_LIMITS.maxCost} points): QUERY_TOO_COSTLY, nothing run`, async () => {
		const page = (limit: string) =>
			`secrets(limit: ${limit}) { items { name environments { environment currentVersion } } }`;
		const costly = [
			{ query: `{ ${page('1000')} }` },
			{ query: `query($n: Int!) { ${page('$n')} }`, variables: { n: 1000 } },
			{ query: `query($n: Int = 1000) { ${page('$n')} }` },
			{
				query: `{ ${Array.from({ length: 201 }, (_, i) => `a${i}: whoami { subject }`).join(' ')} }`,
			},
			{ query: `query { ...P } fragment P on Query { ${page('1000')} }` },
		];
		for (const body of costly) {
			const r = await post(body);
			expect([r.status, codeOf(r)]).toEqual([400, 'QUERY_TOO_COSTLY']);
			expect(r.body.errors[0].extensions.details.maxCost).toBe(GRAPHQL_LIMITS.maxCost);
		}
		expect((await post({ query: `{ ${page('100')} }` })).status).toBe(200);
		const long = `{ ${'__typename '.repeat(GRAPHQL_LIMITS.maxTokens)} }`;
		expect(codeOf(await post({ query: long }))).toBe('QUERY_TOO_COSTLY');
	});
});

describe('batches', () => {
	const one = { query: '{ whoami { subject } }' };

	it(`answer each operation of up to ${GRAPHQL_LIMITS.maxBatch}, each with its own errors`, async () => {
		const r = await post([
			one,
			{ query: '{ secret(name: "missing") { name } }' },
			{ query: '{ broken' },
		]);
		expect(r.status).toBe(200);
		expect(r.body[0]).toEqual({ data: { whoami: { subject: 'admin' } } });
		expect(r.body[1].errors[0].extensions.code).toBe('SECRET_NOT_FOUND');
		expect(r.body[2].errors[0].extensions.code).toBe('GRAPHQL_PARSE_FAILED');
		expect((await post(Array(GRAPHQL_LIMITS.maxBatch).fill(one))).body).toHaveLength(
			GRAPHQL_LIMITS.maxBatch,
		);
	});

	it('refuses a larger batch whole: BATCH_TOO_LARGE', async () => {
		const r = await post(Array(GRAPHQL_LIMITS.maxBatch + 1).fill(one));
		expect([r.status, codeOf(r)]).toEqual([400, 'BATCH_TOO_LARGE']);
	});
});

describe('service errors', () => {
	it("carry REST's code, message and status", async () => {
		const admin = client(api, t.admin.token);
		const cases: [string, string, string][] = [
			['{ secret(name: "missing") { name } }', 'GET', '/api/v1/secrets/missing'],
			[
				'{ secret(name: "no spaces") { name } }',
				'GET',
				`/api/v1/secrets/${encodeURIComponent('no spaces')}`,
			],
			[
				'mutation { promote(name: "missing", environment: "p") { version } }',
				'POST',
				'/api/v1/secrets/missing/promote?env=p',
			],
		];
		for (const [query, method, path] of cases) {
			const rest = await api.call(method, path, { token: t.admin.token });
			const g = await graphqlError(admin.request(query));
			expect({ query, ...g, errors: undefined }).toEqual({
				query,
				status: rest.status,
				code: rest.body.code,
				message: rest.body.message,
				errors: undefined,
			});
		}
	});

	it('leave the other fields their answers (partial data, 200)', async () => {
		const r = await post({ query: '{ whoami { subject } secret(name: "missing") { name } }' });
		expect(r.status).toBe(200);
		expect(r.body.data).toEqual({ whoami: { subject: 'admin' }, secret: null });
		expect(r.body.errors).toEqual([
			expect.objectContaining({ path: ['secret'], extensions: { code: 'SECRET_NOT_FOUND' } }),
		]);
	});

	it('read null for an argument that cannot be null as "not given", and pass a null that means "none"', async () => {
		await t.service.createSecret(t.admin, {
			name: 'a-key',
			rotationPolicy: 'MANUAL',
			rotationIntervalDays: 30,
		});
		const admin = client(api, t.admin.token);
		const listed = await admin.request<Answer>(
			'{ secrets(prefix: null, limit: null) { items { name } } }',
		);
		expect(listed.secrets.items).toEqual([{ name: 'a-key' }]);
		const updated = await admin.request<Answer>(
			'mutation { updateSecret(name: "a-key", rotationIntervalDays: null) { rotationIntervalDays } }',
		);
		expect(updated.updateSecret.rotationIntervalDays).toBeNull();
	});
});

describe('GraphiQL', () => {
	it('is off by default, on with N8N_SECRETS_GRAPHIQL=true, and the variable is checked', async () => {
		expect(codeOf(await api.call('GET', '/api/v1/graphiql'))).toBeUndefined();
		expect((await api.call('GET', '/api/v1/graphiql')).status).toBe(404);
		const before = process.env[GRAPHIQL_ENV];
		try {
			process.env[GRAPHIQL_ENV] = 'true';
			const withPage = await startApiServer(t);
			try {
				const page = await withPage.call('GET', '/api/v1/graphiql');
				expect(page.status).toBe(200);
				expect(String(page.body)).toContain('graphiql');
			} finally {
				await withPage.close();
			}
			process.env[GRAPHIQL_ENV] = 'yes';
			await expect(startApiServer(t)).rejects.toMatchObject({ code: 'INVALID_INPUT' });
		} finally {
			if (before === undefined) delete process.env[GRAPHIQL_ENV];
			else process.env[GRAPHIQL_ENV] = before;
		}
	});
});
