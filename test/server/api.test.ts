import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { ROUTES } from '../../src/server/routes';
import { type Answer, type ApiServer, startApiServer } from '../helpers/api-server';
import { createTestStore, type TestStore } from '../helpers/store';

let t: TestStore;
let api: ApiServer;
const tokens: Record<string, string> = {};
const VALUE = 'sk_live_API_value_+/=?&';

beforeEach(async () => {
	t = await createTestStore();
	t.clock.ms = Date.now();
	for (const role of [
		'viewer',
		'user',
		'relay',
		'runtime',
		'operator',
		'revealer',
		'auditor',
	] as const) {
		tokens[role] = (
			await t.service.createToken(t.admin, { subject: `${role}-subject`, role, ttl: '1d' })
		).token;
	}
	tokens.auditOnly = (
		await t.service.createToken(t.admin, { subject: 'audit-only', scopes: ['audit:read'] })
	).token;
	tokens.admin = t.admin.token;
	api = await startApiServer(t);
});

afterEach(async () => {
	await api.close();
	await t.cleanup();
});

const admin = () => tokens.admin;

describe('every route', () => {
	it('answers its owner, and the logs carry no value, no token and no secret name', async () => {
		const steps: [string, string, unknown, number][] = [
			['GET', '/api/v1/whoami', undefined, 200],
			[
				'POST',
				'/api/v1/secrets',
				{ name: 'stripe-key', type: 'API_KEY', environment: 'production', value: VALUE },
				201,
			],
			['GET', '/api/v1/secrets?limit=10', undefined, 200],
			['GET', '/api/v1/secrets/stripe-key', undefined, 200],
			[
				'PATCH',
				'/api/v1/secrets/stripe-key',
				{ description: 'payments', rotationIntervalDays: 30 },
				200,
			],
			['PUT', '/api/v1/secrets/stripe-key/value?env=production', { value: `${VALUE}-2` }, 201],
			['POST', '/api/v1/secrets/stripe-key/stage?env=production', { value: `${VALUE}-3` }, 201],
			['POST', '/api/v1/secrets/stripe-key/promote?env=production', undefined, 200],
			['POST', '/api/v1/secrets/stripe-key/rollback?env=production', { reason: 'bad value' }, 200],
			['POST', '/api/v1/secrets/stripe-key/rotate?env=production', undefined, 201],
			['GET', '/api/v1/secrets/stripe-key/versions?env=production', undefined, 200],
			['POST', '/api/v1/secrets/stripe-key/resolve?env=production', {}, 200],
			[
				'POST',
				'/api/v1/secrets/stripe-key/reveal?env=production',
				{ selector: { version: 1 } },
				200,
			],
			['GET', '/api/v1/secrets/expiring?withinDays=30', undefined, 200],
			['GET', '/api/v1/rotation/due?env=production', undefined, 200],
			['GET', '/api/v1/stats', undefined, 200],
			['POST', '/api/v1/maintenance', undefined, 200],
			['GET', '/api/v1/audit?limit=5&action=rotate', undefined, 200],
			['GET', '/api/v1/secrets/stripe-key/usage', undefined, 200],
			['GET', '/api/v1/audit/verify', undefined, 200],
			['GET', '/api/v1/audit/checkpoint', undefined, 200],
			['GET', '/api/v1/tokens', undefined, 200],
			['POST', '/api/v1/tokens', { subject: 'ci', role: 'viewer', ttl: '1h' }, 201],
			['DELETE', '/api/v1/secrets/stripe-key?reason=cleanup', undefined, 200],
			['POST', '/api/v1/secrets/stripe-key/restore', undefined, 200],
			['DELETE', '/api/v1/secrets/stripe-key', undefined, 200],
			['POST', '/api/v1/secrets/stripe-key/purge', undefined, 200],
			['POST', '/api/v1/keys/rotate', { reencrypt: true }, 200],
		];
		const answers: Record<string, Answer> = {};
		for (const [method, path, body, status] of steps) {
			const r = await api.call(method, path, { token: admin(), body });
			expect({ method, path, status: r.status, body: r.status === status ? 'ok' : r.body }).toEqual(
				{
					method,
					path,
					status,
					body: 'ok',
				},
			);
			answers[`${method} ${path.split('?')[0]}`] = r.body;
		}
		const issued = answers['POST /api/v1/tokens'];
		const revoke = await api.call('DELETE', `/api/v1/tokens/${issued.info.jti}`, {
			token: admin(),
		});
		expect(revoke.status).toBe(200);
		expect(revoke.body.revokedAt).toEqual(expect.any(String));

		expect(answers['GET /api/v1/whoami']).toMatchObject({ subject: 'admin', scopes: ['admin'] });
		expect(answers['GET /api/v1/secrets'].items.map((s: { name: string }) => s.name)).toEqual([
			'stripe-key',
		]);
		expect(answers['POST /api/v1/secrets/stripe-key/rotate']).toMatchObject({ version: 4 });
		expect(
			answers['GET /api/v1/secrets/stripe-key/versions'].map((v: Answer) => v.version),
		).toEqual([4, 3, 2, 1]);
		expect(answers['POST /api/v1/secrets/stripe-key/reveal']).toMatchObject({
			version: 1,
			value: VALUE,
		});
		expect(answers['GET /api/v1/audit/verify']).toMatchObject({ ok: true });
		// The resolve above is a use outside any workflow: "Used by" has it, with its environment.
		expect(answers['GET /api/v1/secrets/stripe-key/usage'].items).toEqual([
			expect.objectContaining({ workflowId: null, uses: 1, lastEnvironment: 'production' }),
		]);
		expect(answers['GET /api/v1/audit/checkpoint']).toMatchObject({
			type: 'n8n-secrets/audit-checkpoint/v1',
			tenant: 'default',
		});
		expect(answers['POST /api/v1/keys/rotate']).toEqual({ rewrapped: 0, reencrypted: 0 });

		// Every route of the table was served (the log names the route, not the URL).
		const served = new Set(api.logs.map((l) => `${l.method} ${l.path}`));
		for (const r of ROUTES) expect(served).toContain(`${r.method} /api/v1${r.path}`);

		const logText = JSON.stringify(api.logs);
		for (const secret of [VALUE, `${VALUE}-2`, `${VALUE}-3`, admin(), issued.token, 'stripe-key'])
			expect(logText).not.toContain(secret);
		expect(api.logs.every((l) => typeof l.reqId === 'string' || l.msg !== 'request')).toBe(true);
	});

	it('describes every route in openapi.json', async () => {
		const r = await api.call('GET', '/api/v1/openapi.json');
		expect(r.status).toBe(200);
		expect(r.body.openapi).toBe('3.1.0');
		for (const route of ROUTES) {
			const path = `/api/v1${route.path.replace(/:([A-Za-z]+)/g, '{$1}')}`;
			expect(r.body.paths[path]?.[route.method.toLowerCase()]?.summary).toEqual(expect.any(String));
		}
		expect(r.body.paths['/api/v1/relay'].post.requestBody).toBeDefined();
		expect(r.body.paths['/healthz'].get).toBeDefined();
		expect(
			r.body.paths['/api/v1/secrets/{name}/value'].put.parameters.map((p: Answer) => p.name),
		).toEqual(['name', 'env']);
	});

	it('answers /healthz without a token, and echoes a given request id', async () => {
		const r = await api.call('GET', '/healthz', { headers: { 'x-request-id': 'trace-42' } });
		expect(r).toMatchObject({ status: 200, body: { status: 'ok' } });
		expect(r.headers['x-request-id']).toBe('trace-42');
		const other = await api.call('GET', '/healthz', { headers: { 'x-request-id': 'bad id!' } });
		expect(other.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
	});
});

describe('permissions', () => {
	beforeEach(async () => {
		await t.service.createSecret(t.admin, {
			name: 'stripe-key',
			environment: 'production',
			value: VALUE,
		});
		await t.service.deleteSecret(t.admin, 'stripe-key');
		await t.service.restoreSecret(t.admin, 'stripe-key');
	});

	// For each route, a token that lacks the permission it needs.
	const denied: [string, string, string, unknown?][] = [
		['auditOnly', 'GET', '/api/v1/secrets'],
		['auditOnly', 'GET', '/api/v1/secrets/stripe-key'],
		['auditOnly', 'GET', '/api/v1/secrets/stripe-key/versions?env=production'],
		['auditOnly', 'GET', '/api/v1/secrets/expiring'],
		['auditOnly', 'GET', '/api/v1/rotation/due'],
		['auditOnly', 'GET', '/api/v1/stats'],
		['viewer', 'POST', '/api/v1/secrets', { name: 'x', environment: 'production', value: 'v' }],
		['user', 'PATCH', '/api/v1/secrets/stripe-key', { description: 'x' }],
		['user', 'PUT', '/api/v1/secrets/stripe-key/value?env=production', { value: 'v' }],
		['revealer', 'POST', '/api/v1/secrets/stripe-key/rotate?env=production'],
		['user', 'POST', '/api/v1/secrets/stripe-key/stage?env=production', { value: 'v' }],
		['viewer', 'POST', '/api/v1/secrets/stripe-key/promote?env=production'],
		['viewer', 'POST', '/api/v1/secrets/stripe-key/rollback?env=production'],
		['operator', 'DELETE', '/api/v1/secrets/stripe-key'],
		['operator', 'POST', '/api/v1/secrets/stripe-key/restore'],
		['operator', 'POST', '/api/v1/secrets/stripe-key/purge'],
		['viewer', 'POST', '/api/v1/secrets/stripe-key/resolve?env=production'],
		['user', 'POST', '/api/v1/secrets/stripe-key/resolve?env=production'],
		['operator', 'POST', '/api/v1/secrets/stripe-key/resolve?env=production'],
		['relay', 'POST', '/api/v1/secrets/stripe-key/resolve?env=production'],
		['auditor', 'POST', '/api/v1/secrets/stripe-key/resolve?env=production'],
		['user', 'POST', '/api/v1/secrets/stripe-key/reveal?env=production'],
		['relay', 'POST', '/api/v1/secrets/stripe-key/reveal?env=production'],
		['operator', 'POST', '/api/v1/secrets/stripe-key/reveal?env=production'],
		['operator', 'POST', '/api/v1/maintenance'],
		['user', 'GET', '/api/v1/audit'],
		['operator', 'GET', '/api/v1/secrets/stripe-key/usage'],
		['user', 'GET', '/api/v1/audit/verify'],
		['user', 'GET', '/api/v1/audit/checkpoint'],
		['auditor', 'GET', '/api/v1/tokens'],
		['operator', 'POST', '/api/v1/tokens', { subject: 'x', role: 'admin' }],
		['operator', 'DELETE', '/api/v1/tokens/some-jti'],
		['operator', 'POST', '/api/v1/keys/rotate', { reencrypt: true }],
		[
			'viewer',
			'POST',
			'/api/v1/relay',
			{ environment: 'production', method: 'GET', url: 'http://127.0.0.1:9/' },
		],
	];

	// Rows have 3 or 4 cells: take them as one argument, or jest reads a 4th parameter as `done`.
	it.each(denied.map((row) => [row[0], row[1], row[2], row] as const))(
		'%s may not %s %s (403 ACCESS_DENIED, audited)',
		async (who, method, path, row) => {
			const body = row[3];
			const r = await api.call(method, path, { token: tokens[who], body });
			expect(r.status).toBe(403);
			expect(r.body.code).toBe('ACCESS_DENIED');
			expect(JSON.stringify(r.body)).not.toContain(VALUE);
		},
	);

	it('covers every route that needs more than a valid token', () => {
		const covered = new Set(
			denied.map(
				([, m, p]) =>
					`${m} ${p.split('?')[0].replace('stripe-key', ':name').replace('some-jti', ':jti')}`,
			),
		);
		for (const r of ROUTES.filter((x) => x.path !== '/whoami'))
			expect(covered).toContain(`${r.method} /api/v1${r.path}`);
	});

	it('lets each role do what it is for', async () => {
		const ok = async (who: string, method: string, path: string, body?: unknown) =>
			expect((await api.call(method, path, { token: tokens[who], body })).status).toBeLessThan(300);
		await ok('viewer', 'GET', '/api/v1/secrets');
		await ok('runtime', 'POST', '/api/v1/secrets/stripe-key/resolve?env=production');
		await ok('revealer', 'POST', '/api/v1/secrets/stripe-key/reveal?env=production');
		await ok('operator', 'POST', '/api/v1/secrets/stripe-key/rotate?env=production');
		await ok('auditor', 'GET', '/api/v1/audit/verify');
		await ok('auditor', 'GET', '/api/v1/audit/checkpoint');
		const denials = await t.service.listAudit(t.admin, { outcome: 'denied' });
		expect(denials.items).toHaveLength(0);
	});
});

describe('bad requests get a 4xx with a code, never a 500', () => {
	const cases: [
		string,
		{
			method: string;
			path: string;
			raw?: string;
			body?: unknown;
			headers?: Record<string, string>;
		},
		number,
		string,
	][] = [
		[
			'malformed JSON',
			{ method: 'POST', path: '/api/v1/secrets', raw: '{"name": "x",' },
			400,
			'INVALID_INPUT',
		],
		[
			'a JSON array',
			{ method: 'POST', path: '/api/v1/secrets', raw: '[1,2]' },
			400,
			'INVALID_INPUT',
		],
		[
			'a JSON string',
			{ method: 'POST', path: '/api/v1/secrets', raw: '"x"' },
			400,
			'INVALID_INPUT',
		],
		[
			'a text body',
			{
				method: 'POST',
				path: '/api/v1/secrets',
				raw: 'name=x',
				headers: { 'content-type': 'text/plain' },
			},
			415,
			'UNSUPPORTED_MEDIA_TYPE',
		],
		[
			'a field of the wrong type',
			{
				method: 'POST',
				path: '/api/v1/secrets',
				body: { name: 'x', environment: 'production', value: 42 },
			},
			400,
			'INVALID_INPUT',
		],
		[
			'an unknown field',
			{ method: 'POST', path: '/api/v1/secrets', body: { name: 'x', colour: 'red' } },
			400,
			'INVALID_INPUT',
		],
		[
			'an invalid secret name',
			{ method: 'GET', path: '/api/v1/secrets/bad%20name!' },
			400,
			'INVALID_INPUT',
		],
		[
			'an invalid environment',
			{ method: 'GET', path: '/api/v1/secrets/x/versions?env=pro%20d' },
			400,
			'INVALID_INPUT',
		],
		[
			'a missing environment',
			{ method: 'POST', path: '/api/v1/secrets/x/resolve' },
			400,
			'INVALID_INPUT',
		],
		[
			'an unknown query parameter',
			{ method: 'GET', path: '/api/v1/stats?verbose=1' },
			400,
			'INVALID_INPUT',
		],
		[
			'an unknown audit filter',
			{ method: 'GET', path: '/api/v1/audit?colour=red' },
			400,
			'INVALID_INPUT',
		],
		[
			'an unknown list filter',
			{ method: 'GET', path: '/api/v1/secrets?environment=production' },
			400,
			'INVALID_INPUT',
		],
		[
			'a date that is not one',
			{ method: 'GET', path: '/api/v1/audit?since=yesterday' },
			400,
			'INVALID_INPUT',
		],
		[
			'an out-of-range number',
			{ method: 'GET', path: '/api/v1/secrets/expiring?withinDays=99999' },
			400,
			'INVALID_INPUT',
		],
		['a non-number', { method: 'GET', path: '/api/v1/secrets?limit=ten' }, 400, 'INVALID_INPUT'],
		['an unknown route', { method: 'GET', path: '/api/v1/nothing-here' }, 404, 'ROUTE_NOT_FOUND'],
		['a wrong method', { method: 'PUT', path: '/api/v1/stats' }, 404, 'ROUTE_NOT_FOUND'],
		[
			'a relay without a URL',
			{ method: 'POST', path: '/api/v1/relay', body: { environment: 'production', method: 'GET' } },
			400,
			'INVALID_INPUT',
		],
		[
			'key rotation without reencrypt',
			{ method: 'POST', path: '/api/v1/keys/rotate', body: { newKey: 'abc' } },
			400,
			'INVALID_INPUT',
		],
	];

	it.each(cases)('%s', async (_name, req, status, code) => {
		const r = await api.call(req.method, req.path, {
			token: admin(),
			raw: req.raw,
			body: req.body,
			headers: req.headers,
		});
		expect({ status: r.status, code: r.body.code }).toEqual({ status, code });
		expect(r.body.message).toEqual(expect.any(String));
	});

	it('refuses an oversize body with 413 and keeps serving', async () => {
		const small = await startApiServer(t, { bodyLimit: 4096 });
		try {
			const r = await small.call('POST', '/api/v1/secrets', {
				token: admin(),
				body: { name: 'big', environment: 'production', value: 'x'.repeat(10_000) },
			});
			expect({ status: r.status, code: r.body.code }).toEqual({
				status: 413,
				code: 'PAYLOAD_TOO_LARGE',
			});
			const after = await small.call('GET', '/api/v1/stats', { token: admin() });
			expect(after.status).toBe(200);
			expect(after.body.secrets).toBe(0);
		} finally {
			await small.close();
		}
	});

	afterEach(() => {
		expect(api.logs.filter((l) => (l.status ?? 0) >= 500)).toEqual([]);
	});
});

describe('tokens that do not authenticate (401)', () => {
	it('refuses a missing, malformed, forged, foreign, expired or revoked token', async () => {
		const other = await createTestStore();
		try {
			const { token: short } = await t.service.createToken(t.admin, {
				subject: 'short',
				role: 'viewer',
				ttl: 60,
			});
			const [h, p, s] = admin().split('.');
			const payload = JSON.parse(Buffer.from(p, 'base64url').toString());
			payload.scp = ['admin'];
			payload.sub = 'mallory';
			const forged = `${h}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${s}`;
			const wrongSignature = `${h}.${p}.${s.slice(0, -4)}AAAA`;
			const cases: [string, Record<string, string>, string][] = [
				['no header', {}, 'TOKEN_INVALID'],
				[
					'not a bearer',
					{ authorization: `Basic ${Buffer.from('a:b').toString('base64')}` },
					'TOKEN_INVALID',
				],
				['garbage', { authorization: 'Bearer not-a-jwt' }, 'TOKEN_INVALID'],
				['forged claims', { authorization: `Bearer ${forged}` }, 'TOKEN_INVALID'],
				['wrong signature', { authorization: `Bearer ${wrongSignature}` }, 'TOKEN_INVALID'],
				['another store', { authorization: `Bearer ${other.admin.token}` }, 'TOKEN_INVALID'],
			];
			for (const [name, headers, code] of cases) {
				const r = await api.call('GET', '/api/v1/secrets', { headers });
				expect({ name, status: r.status, code: r.body.code }).toEqual({ name, status: 401, code });
			}
			expect((await api.call('GET', '/api/v1/secrets', { token: short })).status).toBe(200);
			t.clock.ms += 120_000;
			const expired = await api.call('GET', '/api/v1/secrets', { token: short });
			expect({ status: expired.status, code: expired.body.code }).toEqual({
				status: 401,
				code: 'TOKEN_EXPIRED',
			});
			await t.service.revokeToken(t.admin, (await t.service.whoami({ token: tokens.viewer })).jti);
			const revoked = await api.call('GET', '/api/v1/secrets', { token: tokens.viewer });
			expect({ status: revoked.status, code: revoked.body.code }).toEqual({
				status: 401,
				code: 'TOKEN_REVOKED',
			});
		} finally {
			await other.cleanup();
		}
	});
});

describe('relay', () => {
	let upstream: Server;
	let upstreamUrl: string;
	let seen: { host: string; url: string; headers: IncomingMessage['headers']; body: string }[];
	let answer: (req: IncomingMessage, res: import('node:http').ServerResponse, body: string) => void;

	beforeEach(async () => {
		seen = [];
		answer = (req, res, body) => {
			res.setHeader('content-type', 'application/json');
			res.end(JSON.stringify({ echo: { headers: req.headers, url: req.url, body } }));
		};
		upstream = createServer((req, res) => {
			let body = '';
			req.on('data', (c) => (body += c));
			req.on('end', () => {
				seen.push({
					host: String(req.headers.host),
					url: String(req.url),
					headers: req.headers,
					body,
				});
				answer(req, res, body);
			});
		});
		await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
		upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
		// The relay sends only secrets bound to hosts (see 'refuses an unbound secret' below).
		await t.service.createSecret(t.admin, {
			name: 'stripe-key',
			environment: 'production',
			value: VALUE,
			allowedHosts: ['127.0.0.1'],
		});
	});

	afterEach(() => new Promise<void>((r) => upstream.close(() => r())));

	it('refuses an unbound secret, unless the secret allows any host or the operator allows the tenant', async () => {
		await t.service.createSecret(t.admin, {
			name: 'loose-key',
			environment: 'production',
			value: 'loose-value-9d3f',
		});
		const body = relayBody(`${upstreamUrl}/x`, {
			headers: [{ name: 'Authorization', value: 'Bearer [[secret:loose-key]]' }],
			body: '{}',
		});
		for (const who of ['relay', 'user', 'admin']) {
			const r = await api.call('POST', '/api/v1/relay', { token: tokens[who], body });
			expect({ who, status: r.status, code: r.body.code }).toEqual({
				who,
				status: 403,
				code: 'DESTINATION_NOT_ALLOWED',
			});
			expect(r.body.message).toContain('not bound to any host');
		}
		expect(seen).toHaveLength(0);

		// The secret's own explicit choice: any destination.
		await t.service.updateSecret(t.admin, { name: 'loose-key', allowedHosts: ['*'] });
		expect((await api.call('POST', '/api/v1/relay', { token: tokens.relay, body })).status).toBe(
			200,
		);
		expect(seen).toHaveLength(1);
		await t.service.updateSecret(t.admin, { name: 'loose-key', allowedHosts: [] });

		// The operator's choice for a tenant (N8N_SECRETS_RELAY_UNBOUND_TENANTS).
		const lenient = await startApiServer(t, { relayUnboundTenants: ['default'] });
		try {
			expect(
				(await lenient.call('POST', '/api/v1/relay', { token: tokens.relay, body })).status,
			).toBe(200);
			expect(seen).toHaveLength(2);
		} finally {
			await lenient.close();
		}
		const other = await startApiServer(t, { relayUnboundTenants: ['acme'] });
		try {
			expect(
				(await other.call('POST', '/api/v1/relay', { token: tokens.relay, body })).status,
			).toBe(403);
			expect(seen).toHaveLength(2);
		} finally {
			await other.close();
		}
	});

	const relayBody = (url: string, extra: Record<string, unknown> = {}) => ({
		environment: 'production',
		method: 'POST',
		url,
		headers: [{ name: 'Authorization', value: 'Bearer [[secret:stripe-key]]' }],
		bodyType: 'json',
		body: JSON.stringify({ key: '[[secret:stripe-key]]', note: 'hello' }),
		...extra,
	});

	it('sends the value upstream for a relay-only token and returns the answer scrubbed', async () => {
		const r = await api.call('POST', '/api/v1/relay', {
			token: tokens.relay,
			body: relayBody(`${upstreamUrl}/charge?q=1`),
			headers: { 'x-n8n-workflow-id': 'wf-7', 'x-n8n-execution-id': '991' },
		});
		expect(r.status).toBe(200);
		expect(seen).toHaveLength(1);
		expect(seen[0].headers.authorization).toBe(`Bearer ${VALUE}`);
		expect(JSON.parse(seen[0].body)).toEqual({ key: VALUE, note: 'hello' });
		expect(r.body.statusCode).toBe(200);
		const text = JSON.stringify(r.body);
		expect(text).not.toContain(VALUE);
		expect(text).not.toContain(encodeURIComponent(VALUE));
		expect(r.body.body.echo.headers.authorization).toBe('Bearer [redacted:stripe-key]');
		const use = (await t.service.listAudit(t.admin, { action: 'use' })).items[0];
		expect(use).toMatchObject({
			actor: 'relay-subject',
			outcome: 'success',
			destinationHost: upstreamUrl,
			workflowId: 'wf-7',
			executionId: '991',
			reason: 'relayed by the server',
		});
	});

	it('refuses a bound secret for another host, and after a redirect to another host', async () => {
		await t.service.updateSecret(t.admin, { name: 'stripe-key', allowedHosts: ['api.stripe.com'] });
		const r = await api.call('POST', '/api/v1/relay', {
			token: tokens.relay,
			body: relayBody(`${upstreamUrl}/x`),
		});
		expect({ status: r.status, code: r.body.code }).toEqual({
			status: 403,
			code: 'DESTINATION_NOT_ALLOWED',
		});
		expect(seen).toHaveLength(0);

		await t.service.updateSecret(t.admin, { name: 'stripe-key', allowedHosts: ['127.0.0.1'] });
		const port = (upstream.address() as AddressInfo).port;
		answer = (req, res) => {
			if (req.url === '/start') {
				res.statusCode = 307;
				res.setHeader('location', `http://localhost:${port}/stolen`);
			}
			res.end('{}');
		};
		const redirected = await api.call('POST', '/api/v1/relay', {
			token: tokens.relay,
			body: relayBody(`${upstreamUrl}/start`),
		});
		expect({ status: redirected.status, code: redirected.body.code }).toEqual({
			status: 403,
			code: 'DESTINATION_NOT_ALLOWED',
		});
		expect(seen.map((s) => s.url)).toEqual(['/start']);
		const denials = (await t.service.listAudit(t.admin, { outcome: 'denied' })).items;
		expect(denials.map((d) => d.destinationHost).sort()).toEqual([
			upstreamUrl,
			`http://localhost:${port}`,
		]);
	});

	it('reports an upstream error as UPSTREAM_ERROR (502) without the value', async () => {
		answer = (_req, res, body) => {
			res.statusCode = 401;
			res.setHeader('content-type', 'text/plain');
			res.end(`invalid key ${JSON.parse(body).key}`);
		};
		const r = await api.call('POST', '/api/v1/relay', {
			token: tokens.relay,
			body: relayBody(`${upstreamUrl}/x`),
		});
		expect({ status: r.status, code: r.body.code }).toEqual({
			status: 502,
			code: 'UPSTREAM_ERROR',
		});
		expect(r.body.message).toContain('401');
		expect(r.body.message).not.toContain(VALUE);
		const never = await api.call('POST', '/api/v1/relay', {
			token: tokens.relay,
			body: relayBody(`${upstreamUrl}/x`, { neverError: true }),
		});
		expect(never.body).toMatchObject({
			statusCode: 401,
			body: 'invalid key [redacted:stripe-key]',
		});
	});

	it('refuses loopback and private destinations unless the operator allows them', async () => {
		// Bound to any host: the network guard, not the binding, is what refuses here.
		await t.service.updateSecret(t.admin, { name: 'stripe-key', allowedHosts: ['*'] });
		const strict = await startApiServer(t, { allowPrivate: false });
		try {
			for (const url of [
				`${upstreamUrl}/x`,
				'http://169.254.169.254/latest',
				`http://localhost:${(upstream.address() as AddressInfo).port}/x`,
			]) {
				const r = await strict.call('POST', '/api/v1/relay', {
					token: tokens.relay,
					body: relayBody(url),
				});
				expect({ url, status: r.status, code: r.body.code }).toEqual({
					url,
					status: 403,
					code: 'DESTINATION_NOT_ALLOWED',
				});
				expect(r.body.message).toContain('N8N_SECRETS_RELAY_ALLOW_PRIVATE');
			}
			expect(seen).toHaveLength(0);
		} finally {
			await strict.close();
		}
	});
});
