/**
 * Bad input over HTTP, on both stores: text no store keeps as given (NUL, other control characters,
 * unpaired surrogates), path parameters of every length, and what Node's HTTP server answers itself
 * (malformed requests, oversized headers, slow clients). Every answer is a coded `{ code, message }`
 * with a 4xx status, nothing of the input is written back, and denials are still audited.
 */
import { type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { type AddressInfo, type Socket, connect } from 'node:net';

import { SignJWT, exportJWK, generateKeyPair } from 'jose';

import { ExternalIssuer } from '../../src/auth/external-issuer';

import type { AuditEvent } from '../../src/core/model';
import { buildServer } from '../../src/server/app';
import { type ApiServer, startApiServer } from '../helpers/api-server';
import { createTestStore, type TestStore } from '../helpers/store';

let t: TestStore;
let api: ApiServer;
const tokens: Record<string, string> = {};

beforeEach(async () => {
	t = await createTestStore();
	t.clock.ms = Date.now();
	for (const role of ['viewer', 'operator', 'revealer'] as const)
		tokens[role] = (
			await t.service.createToken(t.admin, { subject: `${role}-subject`, role, ttl: '1d' })
		).token;
	tokens.admin = t.admin.token;
	await t.service.createSecret(t.admin, {
		name: 'db-password',
		environment: 'production',
		value: 'first-value',
	});
	api = await startApiServer(t);
});

afterEach(async () => {
	await api.close();
	await t.cleanup();
});

/** The last audit event, read as an auditor would. */
async function lastEvent(): Promise<AuditEvent> {
	const page = await t.service.listAudit(t.admin, { limit: 1 });
	return page.items[0];
}

function expectCoded(r: { status: number; body: unknown }, status: number, code: string): void {
	expect({ status: r.status, body: r.body }).toEqual({
		status,
		body: expect.objectContaining({ code, message: expect.any(String) }),
	});
}

describe('text no store keeps as given is refused with 400 INVALID_INPUT', () => {
	const NUL = '%00';
	const queries: [string, string][] = [
		['list prefix', `/api/v1/secrets?prefix=db${NUL}`],
		['list cursor', `/api/v1/secrets?cursor=a${NUL}`],
		['audit actor', `/api/v1/audit?actor=x${NUL}`],
		['audit tokenId', `/api/v1/audit?tokenId=${NUL}`],
		['audit workflowId', `/api/v1/audit?workflowId=${NUL}`],
		['audit executionId', `/api/v1/audit?executionId=1${NUL}`],
		['audit action', `/api/v1/audit?action=use${NUL}`],
		['audit cursor', `/api/v1/audit?cursor=5${NUL}`],
		['delete reason', `/api/v1/secrets/db-password?reason=why${NUL}`],
		['delete reason (escape)', `/api/v1/secrets/db-password?reason=%1B%5B2J`],
		['environment', `/api/v1/secrets/db-password/versions?env=production${NUL}`],
		['an unknown parameter', `/api/v1/stats?x=${NUL}`],
	];
	it.each(queries)('a NUL or control character in the %s query parameter', async (_what, path) => {
		const method = path.includes('reason=') ? 'DELETE' : 'GET';
		const r = await api.call(method, path, { token: tokens.admin });
		expectCoded(r, 400, 'INVALID_INPUT');
		expect(JSON.stringify(r.body)).not.toMatch(/\\u0000|\\u001b/);
	});

	const bodies: [string, string, string, Record<string, unknown>][] = [
		['create: description', 'POST', '/api/v1/secrets', { name: 'n1', description: 'a\u0000b' }],
		[
			'create: description (escape)',
			'POST',
			'/api/v1/secrets',
			{ name: 'n1', description: '\u001b[31m' },
		],
		[
			'create: reason',
			'POST',
			'/api/v1/secrets',
			{ name: 'n1', value: 'v', environment: 'production', reason: '\u0000' },
		],
		[
			'create: consumer pattern',
			'POST',
			'/api/v1/secrets',
			{ name: 'n1', allowedConsumers: ['ci\u0000'] },
		],
		[
			'create: description (lone surrogate)',
			'POST',
			'/api/v1/secrets',
			{ name: 'n1', description: 'x\ud800' },
		],
		['patch: description', 'PATCH', '/api/v1/secrets/db-password', { description: '\u0000' }],
		[
			'patch: consumer pattern',
			'PATCH',
			'/api/v1/secrets/db-password',
			{ allowedConsumers: ['\udc00'] },
		],
		[
			'set value: reason',
			'PUT',
			'/api/v1/secrets/db-password/value?env=production',
			{ value: 'v2', reason: 'r\u0000' },
		],
		[
			'stage: reason',
			'POST',
			'/api/v1/secrets/db-password/stage?env=production',
			{ value: 'v2', reason: '\u0007' },
		],
		[
			'rotate: reason',
			'POST',
			'/api/v1/secrets/db-password/rotate?env=production',
			{ reason: '\u0000' },
		],
		[
			'promote: reason',
			'POST',
			'/api/v1/secrets/db-password/promote?env=production',
			{ reason: '\u0000' },
		],
		[
			'rollback: reason',
			'POST',
			'/api/v1/secrets/db-password/rollback?env=production',
			{ reason: '\u0000' },
		],
		[
			'reveal: destination',
			'POST',
			'/api/v1/secrets/db-password/reveal?env=production',
			{ destinationHost: 'a\u0000' },
		],
		['token: subject', 'POST', '/api/v1/tokens', { subject: 'ci\u0000', role: 'viewer' }],
		[
			'set value: value (lone high surrogate)',
			'PUT',
			'/api/v1/secrets/db-password/value?env=production',
			{ value: 'pre\ud800' },
		],
		[
			'set value: value (lone low surrogate)',
			'PUT',
			'/api/v1/secrets/db-password/value?env=production',
			{ value: '\udfffpost' },
		],
		[
			'create: value (lone surrogate)',
			'POST',
			'/api/v1/secrets',
			{ name: 'n1', environment: 'production', value: '\ud83d' },
		],
		[
			'stage: value (lone surrogate)',
			'POST',
			'/api/v1/secrets/db-password/stage?env=production',
			{ value: '\ud83d' },
		],
	];
	it.each(bodies)('%s', async (_what, method, path, body) => {
		const r = await api.call(method, path, { token: tokens.admin, body });
		expectCoded(r, 400, 'INVALID_INPUT');
		// Nothing was written: the secret still has its one version and n1 does not exist.
		expect(
			(await t.service.listVersions(t.admin, { name: 'db-password', environment: 'production' }))
				.length,
		).toBe(1);
		await expect(t.service.getSecret(t.admin, 'n1')).rejects.toMatchObject({
			code: 'SECRET_NOT_FOUND',
		});
	});

	it('keeps tab and newline in descriptions and reasons, and any Unicode (astral included)', async () => {
		const description = 'Payments DB\n\towner: ops 🔑 (Zürich)';
		const r = await api.call('PATCH', '/api/v1/secrets/db-password', {
			token: tokens.admin,
			body: { description },
		});
		expect(r.status).toBe(200);
		expect((await t.service.getSecret(t.admin, 'db-password')).description).toBe(description);
		const put = await api.call('PUT', '/api/v1/secrets/db-password/value?env=production', {
			token: tokens.admin,
			body: { value: 'v2', reason: 'rotated\nafter incident 🔥' },
		});
		expect(put.status).toBe(201);
		expect((await lastEvent()).reason).toBe('rotated\nafter incident 🔥');
	});
});

describe('repeated entries', () => {
	it('a tag given twice is kept once, on create and on change (not a constraint error)', async () => {
		const created = await api.call('POST', '/api/v1/secrets', {
			token: tokens.admin,
			body: { name: 'tagged', tags: ['team:pay', 'team:pay', 'pci'] },
		});
		expect(created.status).toBe(201);
		expect([...created.body.tags].sort()).toEqual(['pci', 'team:pay']);
		const changed = await api.call('PATCH', '/api/v1/secrets/db-password', {
			token: tokens.admin,
			body: { tags: ['a', 'b', 'a', 'b', 'a'] },
		});
		expect(changed.status).toBe(200);
		expect([...(await t.service.getSecret(t.admin, 'db-password')).tags].sort()).toEqual([
			'a',
			'b',
		]);
	});
});

describe('a value is stored byte for byte', () => {
	const values: [string, string][] = [
		['a NUL inside', 'before\u0000after'],
		['only NUL', '\u0000'],
		[
			'every C0 control and DEL',
			Array.from({ length: 32 }, (_, i) => String.fromCharCode(i)).join('') + '\u007f',
		],
		['astral characters and a BOM', '\ufeff🔑𝔘 ünïcödé'],
		['a trailing newline', 'line\n'],
	];
	it.each(values)('%s: written over HTTP, revealed unchanged', async (_what, value) => {
		const put = await api.call('PUT', '/api/v1/secrets/db-password/value?env=production', {
			token: tokens.operator,
			body: { value },
		});
		expect(put.status).toBe(201);
		const revealed = await api.call('POST', '/api/v1/secrets/db-password/reveal?env=production', {
			token: tokens.revealer,
			body: {},
		});
		expect(revealed.status).toBe(200);
		expect(revealed.body.value).toBe(value);
		expect(Buffer.from(revealed.body.value, 'utf8')).toEqual(Buffer.from(value, 'utf8'));
	});
});

describe('n8n context headers are recorded, never obeyed', () => {
	it('a NUL in X-N8n-Workflow-Name: the denial is still answered 403 and audited', async () => {
		const r = await api.call('POST', '/api/v1/secrets/db-password/reveal?env=production', {
			token: tokens.viewer,
			body: {},
			headers: {
				'x-n8n-workflow-name': 'pay%00roll',
				'x-n8n-workflow-id': '%1B%5B2J',
				'x-n8n-node': 'HTTP%20Request',
				'x-n8n-execution-id': '%ED%A0%80',
			},
		});
		expectCoded(r, 403, 'ACCESS_DENIED');
		const e = await lastEvent();
		expect(e).toMatchObject({
			action: 'deny',
			outcome: 'denied',
			actor: 'viewer-subject',
			workflowName: 'pay\ufffdroll',
			workflowId: '\ufffd[2J',
			node: 'HTTP Request',
			// Not UTF-8 once decoded: recorded as sent.
			executionId: '%ED%A0%80',
		});
		expect((await t.service.verifyAudit(t.admin)).ok).toBe(true);
	});

	it.each([254, 255, 499, 500])(
		'a long context value (%i characters, then an emoji) is clipped without splitting it',
		async (length) => {
			const name = `${'a'.repeat(length)}🔑tail`;
			const r = await api.call('POST', '/api/v1/secrets/db-password/reveal?env=production', {
				token: tokens.revealer,
				body: {},
				headers: { 'x-n8n-workflow-name': encodeURIComponent(name) },
			});
			expect(r.status).toBe(200);
			const events = await t.service.listAudit(t.admin, { action: 'reveal', limit: 1 });
			const recorded = events.items[0].workflowName!;
			expect(recorded.startsWith('a'.repeat(200))).toBe(true);
			expect(recorded).not.toContain('\ufffd');
			expect(/[\ud800-\udbff](?![\udc00-\udfff])/.test(recorded)).toBe(false);
			expect((await t.service.verifyAudit(t.admin)).ok).toBe(true);
		},
	);
});

describe("an identity provider's token with text no store keeps", () => {
	it.each([
		['a NUL in the subject', { sub: 'al\u0000ice' }],
		['an unpaired surrogate in the subject', { sub: 'bob\ud800' }],
		['a line break in the subject', { sub: 'eve\nadmin' }],
		['a NUL in the token id', { sub: 'carol', jti: 'j\u0000' }],
		['a NUL in the tenant', { sub: 'dave', tnt: 'default\u0000' }],
	])(
		'%s: the token is refused as TOKEN_INVALID (401), nothing is written, the trail verifies',
		async (_what, claims) => {
			const pair = await generateKeyPair('ES256', { extractable: true });
			const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
			const jwks: Server = createServer((_req, res) =>
				res.setHeader('content-type', 'application/json').end(JSON.stringify({ keys: [jwk] })),
			);
			await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', r));
			const issuer = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}`;
			const withIssuer = await startApiServer(t, {
				externalIssuer: new ExternalIssuer({
					issuer,
					audience: 'api',
					roleClaim: 'roles',
					tenantClaim: 'tnt',
				}),
			});
			try {
				const before = (await t.service.listAudit(t.admin, { limit: 1000 })).items.length;
				const { sub, ...rest } = { tnt: 'default', ...claims };
				const token = await new SignJWT({ roles: ['viewer'], ...rest })
					.setProtectedHeader({ alg: 'ES256', kid: 'k1' })
					.setIssuer(issuer)
					.setAudience('api')
					.setSubject(sub)
					.setIssuedAt()
					.setExpirationTime('5m')
					.sign(pair.privateKey as unknown as KeyObject);
				const r = await withIssuer.call(
					'POST',
					'/api/v1/secrets/db-password/reveal?env=production',
					{
						token,
						body: {},
					},
				);
				expectCoded(r, 401, 'TOKEN_INVALID');
				expect((await t.service.listAudit(t.admin, { limit: 1000 })).items).toHaveLength(before);
				expect((await t.service.verifyAudit(t.admin)).ok).toBe(true);
			} finally {
				await withIssuer.close();
				await new Promise((r) => jwks.close(r));
			}
		},
	);
});

describe('path parameters', () => {
	const routes: [string, string][] = [
		['GET', ''],
		['PATCH', ''],
		['DELETE', ''],
		['PUT', '/value?env=production'],
		['POST', '/rotate?env=production'],
		['POST', '/stage?env=production'],
		['POST', '/promote?env=production'],
		['POST', '/rollback?env=production'],
		['POST', '/restore'],
		['POST', '/purge'],
		['POST', '/resolve?env=production'],
		['POST', '/reveal?env=production'],
		['GET', '/versions?env=production'],
	];

	it.each(routes)(
		'%s /secrets/{name}%s: names of 100 to 128 characters reach the route',
		async (method, rest) => {
			for (const length of [100, 101, 127, 128]) {
				const r = await api.call(method, `/api/v1/secrets/${'n'.repeat(length)}${rest}`, {
					token: tokens.admin,
					body: rest.startsWith('/value') || rest.startsWith('/stage') ? { value: 'v' } : {},
				});
				expectCoded(r, 404, 'SECRET_NOT_FOUND');
				expect(r.body.message).toContain('n'.repeat(length));
			}
		},
	);

	it.each(routes)(
		'%s /secrets/{name}%s: longer names, NUL, dots and bad encoding are 400 and not echoed',
		async (method, rest) => {
			for (const name of [
				'n'.repeat(129),
				'n'.repeat(1025),
				'x'.repeat(5000),
				'a%00b',
				'%00',
				'..',
				'%2e%2e',
				'a%E0%A4',
				'%ZZ',
				'na%20me',
				'%F0%9F%94%91',
			]) {
				const r = await api.call(method, `/api/v1/secrets/${name}${rest}`, {
					token: tokens.admin,
					body: {},
				});
				// `..` is normalised away by no one: it is simply not a name (or, as a path, no route).
				expect([400, 404]).toContain(r.status);
				expect(r.body).toMatchObject({ code: expect.any(String), message: expect.any(String) });
				if (r.status === 404) expect(r.body.code).toBe('ROUTE_NOT_FOUND');
				else expect(r.body.code).toBe('INVALID_INPUT');
				expect(r.body.message).not.toContain('nnnnnnnnnn');
				expect(r.body.message).not.toContain('xxxxxxxxxx');
			}
		},
	);

	it('a name of 128 characters works end to end over HTTP', async () => {
		const name = 'k'.repeat(128);
		const created = await api.call('POST', '/api/v1/secrets', {
			token: tokens.admin,
			body: { name, environment: 'production', value: 'long-name-value' },
		});
		expect(created.status).toBe(201);
		const revealed = await api.call('POST', `/api/v1/secrets/${name}/reveal?env=production`, {
			token: tokens.admin,
			body: {},
		});
		expect(revealed.body).toMatchObject({ name, value: 'long-name-value' });
		expect(
			(await api.call('DELETE', `/api/v1/secrets/${name}`, { token: tokens.admin })).status,
		).toBe(200);
	});

	it('DELETE /tokens/{jti}: a NUL, an over-long or odd id is 400; an unknown id is 400 too; a real one revokes', async () => {
		for (const jti of ['%00', 'a%00', 'j'.repeat(201), 'a%20b', '%ED%A0%80', 'x'.repeat(2000)]) {
			const r = await api.call('DELETE', `/api/v1/tokens/${jti}`, { token: tokens.admin });
			expectCoded(r, 400, 'INVALID_INPUT');
			expect(r.body.message).not.toContain('jjjjjjjjjj');
		}
		const unknown = await api.call(
			'DELETE',
			'/api/v1/tokens/00000000-0000-4000-8000-000000000000',
			{
				token: tokens.admin,
			},
		);
		expectCoded(unknown, 400, 'INVALID_INPUT');
		const viewer = await t.service.whoami({ token: tokens.viewer });
		const revoked = await api.call('DELETE', `/api/v1/tokens/${viewer.jti}`, {
			token: tokens.admin,
		});
		expect(revoked.status).toBe(200);
		expectCoded(
			await api.call('GET', '/api/v1/whoami', { token: tokens.viewer }),
			401,
			'TOKEN_REVOKED',
		);
	});

	it('an unknown route names a plain path, and never echoes an odd one', async () => {
		const plain = await api.call('GET', '/api/v1/nothing-here');
		expect(plain.body.message).toContain('/api/v1/nothing-here');
		const odd = await api.call('GET', `/api/v1/${'<script>'.repeat(20)}%00`);
		expectCoded(odd, 404, 'ROUTE_NOT_FOUND');
		expect(odd.body.message).not.toContain('script');
	});
});

/** Sends raw bytes on a new connection; resolves with everything the server wrote before closing. */
function raw(port: number, write: (socket: Socket) => void, timeoutMs = 5000): Promise<string> {
	return new Promise((resolve, reject) => {
		const socket = connect(port, '127.0.0.1');
		const chunks: Buffer[] = [];
		const timer = setTimeout(() => {
			socket.destroy();
			reject(new Error('the server did not close the connection'));
		}, timeoutMs);
		socket.on('data', (c) => chunks.push(c));
		socket.on('error', () => undefined);
		socket.on('close', () => {
			clearTimeout(timer);
			resolve(Buffer.concat(chunks).toString('utf8'));
		});
		socket.on('connect', () => write(socket));
	});
}

function parseRaw(response: string): { status: number; headers: string; body: unknown } {
	const [head, body] = response.split('\r\n\r\n');
	return { status: Number(head.split(' ')[1]), headers: head, body: JSON.parse(body) };
}

describe("what Node's HTTP server answers itself is coded JSON too", () => {
	const port = () => Number(new URL(api.url).port);

	it('headers larger than 16 KiB: 431 HEADERS_TOO_LARGE, nothing echoed', async () => {
		const junk = 'J'.repeat(20_000);
		const res = parseRaw(
			await raw(port(), (s) =>
				s.write(`GET /api/v1/whoami HTTP/1.1\r\nHost: x\r\nX-Junk: ${junk}\r\n\r\n`),
			),
		);
		expect(res).toMatchObject({
			status: 431,
			body: { code: 'HEADERS_TOO_LARGE', message: expect.any(String) },
		});
		expect(res.headers).toMatch(/content-type: application\/json/i);
		expect(JSON.stringify(res.body)).not.toContain('JJJJ');
	});

	it('a request line of 20,000 characters: 431 HEADERS_TOO_LARGE', async () => {
		const res = parseRaw(
			await raw(port(), (s) =>
				s.write(`GET /api/v1/secrets/${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`),
			),
		);
		expect(res).toMatchObject({ status: 431, body: { code: 'HEADERS_TOO_LARGE' } });
	});

	const malformed: [string, string][] = [
		['not HTTP at all', 'HELLO THERE\r\n\r\n'],
		['a NUL in a header value', 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\u0000b\r\n\r\n'],
		['a bare LF inside a header name', 'GET /healthz HTTP/1.1\r\nHo\nst: x\r\n\r\n'],
		[
			'both Content-Length and Transfer-Encoding',
			'POST /api/v1/secrets HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
		],
		[
			'a bad chunk size',
			'POST /api/v1/secrets HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n{}\r\n0\r\n\r\n',
		],
		[
			'an invalid Content-Length',
			'POST /api/v1/secrets HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n',
		],
		['a space in the path', 'GET /api/v1/se crets HTTP/1.1\r\nHost: x\r\n\r\n'],
	];
	it.each(malformed)('%s: 400 BAD_REQUEST', async (_what, request) => {
		const res = parseRaw(await raw(port(), (s) => s.write(request)));
		expect(res).toMatchObject({
			status: 400,
			body: { code: 'BAD_REQUEST', message: expect.any(String) },
		});
	});

	it('the server keeps serving afterwards', async () => {
		await raw(port(), (s) => s.write('HELLO\r\n\r\n'));
		expect((await api.call('GET', '/healthz')).status).toBe(200);
	});
});

describe('slow clients are cut off', () => {
	async function server(timeouts: { headersMs: number; requestMs: number }) {
		const service = await t.open();
		const app = await buildServer({
			service,
			log: () => undefined,
			timeouts: { ...timeouts, keepAliveMs: 1000, checkIntervalMs: 50 },
		});
		await app.listen({ host: '127.0.0.1', port: 0 });
		return { app, port: (app.server.address() as { port: number }).port };
	}

	it('a client that sends its headers slowly gets 408 REQUEST_TIMEOUT at the headers deadline', async () => {
		const { app, port } = await server({ headersMs: 300, requestMs: 2000 });
		try {
			const started = Date.now();
			let trickle: NodeJS.Timeout | undefined;
			const answer = await raw(port, (s) => {
				s.write('GET /api/v1/whoami HTTP/1.1\r\nHost: x\r\n');
				trickle = setInterval(() => s.writable && s.write('X-Slow: 1\r\n'), 50);
			});
			clearInterval(trickle);
			const elapsed = Date.now() - started;
			expect(parseRaw(answer)).toMatchObject({ status: 408, body: { code: 'REQUEST_TIMEOUT' } });
			expect(elapsed).toBeGreaterThanOrEqual(250);
			expect(elapsed).toBeLessThan(1500);
		} finally {
			await app.close();
		}
	});

	it('a client that sends its body slowly gets 408 at the request deadline; a prompt one is served', async () => {
		const { app, port } = await server({ headersMs: 300, requestMs: 600 });
		try {
			const started = Date.now();
			let trickle: NodeJS.Timeout | undefined;
			const answer = await raw(port, (s) => {
				s.write(
					`POST /api/v1/secrets HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{`,
				);
				trickle = setInterval(() => s.writable && s.write(' '), 50);
			});
			clearInterval(trickle);
			expect(parseRaw(answer)).toMatchObject({ status: 408, body: { code: 'REQUEST_TIMEOUT' } });
			expect(Date.now() - started).toBeLessThan(2500);
			const prompt = await raw(port, (s) =>
				s.write('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'),
			);
			expect(prompt).toMatch(/^HTTP\/1\.1 200/);
		} finally {
			await app.close();
		}
	});

	it('an idle keep-alive connection is closed after the keep-alive timeout', async () => {
		const { app, port } = await server({ headersMs: 5000, requestMs: 5000 });
		try {
			const started = Date.now();
			const answer = await raw(
				port,
				(s) => s.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'),
				5000,
			);
			expect(answer).toMatch(/^HTTP\/1\.1 200/);
			const elapsed = Date.now() - started;
			expect(elapsed).toBeGreaterThanOrEqual(900);
			expect(elapsed).toBeLessThan(3000);
		} finally {
			await app.close();
		}
	});
});

describe('a server that is stopping', () => {
	it('answers a request arriving on a busy keep-alive connection with 503 SERVER_UNAVAILABLE as JSON', async () => {
		let release: () => void = () => undefined;
		let arrived: () => void = () => undefined;
		const upstreamArrived = new Promise<void>((r) => (arrived = r));
		const slow: Server = createServer((_req, res) => {
			arrived();
			release = () => {
				if (!res.headersSent) res.setHeader('content-type', 'application/json').end('{"ok":true}');
			};
		});
		await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r));
		const slowUrl = `http://127.0.0.1:${(slow.address() as AddressInfo).port}/slow`;
		const service = await t.open();
		const app = await buildServer({
			service,
			log: () => undefined,
			relay: { allow: ['127.0.0.1/32'] },
		});
		await app.listen({ host: '127.0.0.1', port: 0 });
		const port = (app.server.address() as AddressInfo).port;
		try {
			const relayBody = JSON.stringify({ environment: 'production', method: 'GET', url: slowUrl });
			let closing: Promise<void> | undefined;
			const answer = await raw(port, (s) => {
				s.write(
					`POST /api/v1/relay HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${tokens.admin}\r\n` +
						`Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(relayBody)}\r\n\r\n${relayBody}`,
				);
				void upstreamArrived.then(() => {
					closing = app.close();
					s.write(
						`GET /api/v1/whoami HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${tokens.admin}\r\n\r\n`,
					);
					setTimeout(() => release(), 200);
				});
			});
			await closing;
			const responses = answer.split(/(?=HTTP\/1\.1 )/);
			expect(responses.map((r) => r.slice(0, 12))).toEqual(['HTTP/1.1 200', 'HTTP/1.1 503']);
			expect(parseRaw(responses[1])).toMatchObject({
				status: 503,
				body: { code: 'SERVER_UNAVAILABLE', message: expect.any(String) },
			});
		} finally {
			release();
			await app.close();
			await new Promise((r) => slow.close(r));
		}
	});
});
