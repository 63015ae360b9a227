import { execFileSync } from 'node:child_process';
import { type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { join } from 'node:path';

import { SignJWT, exportJWK, generateKeyPair } from 'jose';

import { ExternalIssuer } from '../../src/auth/external-issuer';
import { RemoteSecrets } from '../../src/client/remote-secrets';
import { runCli } from '../../src/cli/program';
import type { LogLine } from '../../src/server/app';
import { type RunningServer, startServer, timeoutsFromEnv } from '../../src/server/serve';
import { startApiServer } from '../helpers/api-server';
import { createTestStore, type TestStore } from '../helpers/store';

let t: TestStore;

beforeEach(async () => {
	t = await createTestStore();
	t.clock.ms = Date.now();
});

afterEach(() => t.cleanup());

function serverEnv(): NodeJS.ProcessEnv {
	return { ...t.storeEnv, N8N_SECRETS_MASTER_KEY: t.keyBase64 };
}

describe('n8n-secrets serve', () => {
	let server: RunningServer | undefined;
	afterEach(async () => {
		await server?.close();
		server = undefined;
	});

	it('serves HTTPS with the given certificate; a client trusting its CA works, others are refused', async () => {
		const cert = join(t.dir, 'cert.pem');
		const key = join(t.dir, 'key.pem');
		execFileSync(
			'openssl',
			[
				'req',
				'-x509',
				'-newkey',
				'ec',
				'-pkeyopt',
				'ec_paramgen_curve:prime256v1',
				'-nodes',
				'-keyout',
				key,
				'-out',
				cert,
				'-days',
				'1',
				'-subj',
				'/CN=localhost',
				'-addext',
				'subjectAltName=DNS:localhost,IP:127.0.0.1',
			],
			{ stdio: 'ignore' },
		);
		const logs: LogLine[] = [];
		server = await startServer({
			env: serverEnv(),
			host: '127.0.0.1',
			port: 0,
			tlsCert: cert,
			tlsKey: key,
			log: (l) => logs.push(l),
		});
		expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
		const trusted = new RemoteSecrets(server.url, { ca: readFileSync(cert) });
		const untrusted = new RemoteSecrets(server.url, { retries: 0 });
		try {
			expect(await trusted.whoami(t.admin)).toMatchObject({ subject: 'admin' });
			await expect(untrusted.whoami(t.admin)).rejects.toMatchObject({ code: 'SERVER_UNAVAILABLE' });
		} finally {
			await trusted.close();
			await untrusted.close();
		}
		expect(logs.filter((l) => l.level === 'warn')).toEqual([]);
	});

	it('warns when it serves plain HTTP off loopback, and not on loopback', async () => {
		const logs: LogLine[] = [];
		server = await startServer({
			env: serverEnv(),
			host: '0.0.0.0',
			port: 0,
			log: (l) => logs.push(l),
		});
		expect(logs.filter((l) => l.level === 'warn').map((l) => l.msg)).toEqual([
			expect.stringContaining('plain HTTP on 0.0.0.0'),
		]);
		await server.close();
		const quiet: LogLine[] = [];
		server = await startServer({
			env: serverEnv(),
			host: '127.0.0.1',
			port: 0,
			log: (l) => quiet.push(l),
		});
		expect(quiet.filter((l) => l.level === 'warn')).toEqual([]);
	});

	it('finishes a request in flight when told to stop, then refuses new ones', async () => {
		let release: () => void = () => undefined;
		const slow: Server = createServer((_req, res) => {
			release = () => res.setHeader('content-type', 'application/json').end('{"ok":true}');
		});
		await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r));
		const slowUrl = `http://127.0.0.1:${(slow.address() as AddressInfo).port}/slow`;
		server = await startServer({
			env: { ...serverEnv(), N8N_SECRETS_RELAY_ALLOW_PRIVATE: 'true' },
			host: '127.0.0.1',
			port: 0,
			log: () => undefined,
		});
		const client = new RemoteSecrets(server.url, { retries: 0 });
		try {
			const inFlight = client.relay(t.admin, {
				environment: 'production',
				method: 'GET',
				url: slowUrl,
			});
			await new Promise((r) => setTimeout(r, 200));
			const stopping = server.close();
			setTimeout(() => release(), 200);
			const answer = await inFlight;
			expect(answer).toMatchObject({ statusCode: 200, body: { ok: true } });
			await stopping;
			await expect(client.whoami(t.admin)).rejects.toMatchObject({ code: 'SERVER_UNAVAILABLE' });
		} finally {
			server = undefined;
			await client.close();
			slow.close();
		}
	});
});

describe('client timeouts from the environment', () => {
	let server: RunningServer | undefined;
	afterEach(async () => {
		await server?.close();
		server = undefined;
	});

	it('N8N_SECRETS_SERVER_*_TIMEOUT_MS: a client dribbling its headers is cut off with 408', async () => {
		server = await startServer({
			env: {
				...serverEnv(),
				N8N_SECRETS_SERVER_HEADERS_TIMEOUT_MS: '300',
				N8N_SECRETS_SERVER_REQUEST_TIMEOUT_MS: '600',
				N8N_SECRETS_SERVER_KEEPALIVE_TIMEOUT_MS: '1000',
			},
			host: '127.0.0.1',
			port: 0,
			log: () => undefined,
		});
		const started = Date.now();
		const answer = await new Promise<string>((resolve) => {
			const socket = connect(Number(new URL(server!.url).port), '127.0.0.1');
			const chunks: Buffer[] = [];
			let trickle: NodeJS.Timeout | undefined;
			socket.on('connect', () => {
				socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
				trickle = setInterval(() => socket.writable && socket.write('X-Slow: 1\r\n'), 50);
			});
			socket.on('data', (c) => chunks.push(c));
			socket.on('error', () => undefined);
			socket.on('close', () => {
				clearInterval(trickle);
				resolve(Buffer.concat(chunks).toString('utf8'));
			});
		});
		expect(answer).toMatch(/^HTTP\/1\.1 408 /);
		expect(JSON.parse(answer.split('\r\n\r\n')[1])).toMatchObject({ code: 'REQUEST_TIMEOUT' });
		// Node checks its deadlines once a second: 300 ms, plus at most that.
		expect(Date.now() - started).toBeLessThan(2500);
	});

	it.each([
		[
			{ N8N_SECRETS_SERVER_HEADERS_TIMEOUT_MS: 'ten seconds' },
			'N8N_SECRETS_SERVER_HEADERS_TIMEOUT_MS',
		],
		[{ N8N_SECRETS_SERVER_REQUEST_TIMEOUT_MS: '0' }, 'N8N_SECRETS_SERVER_REQUEST_TIMEOUT_MS'],
		[{ N8N_SECRETS_SERVER_KEEPALIVE_TIMEOUT_MS: '-5' }, 'N8N_SECRETS_SERVER_KEEPALIVE_TIMEOUT_MS'],
		[
			{
				N8N_SECRETS_SERVER_HEADERS_TIMEOUT_MS: '40000',
				N8N_SECRETS_SERVER_REQUEST_TIMEOUT_MS: '30000',
			},
			'must not exceed',
		],
	])('refuses to start with %o', async (env, message) => {
		await expect(
			startServer({
				env: { ...serverEnv(), ...env },
				host: '127.0.0.1',
				port: 0,
				log: () => undefined,
			}),
		).rejects.toMatchObject({ code: 'INVALID_INPUT', message: expect.stringContaining(message) });
	});

	it('has defaults that fit an API: 10 s for headers, 30 s for the request, 5 s idle keep-alive', () => {
		expect(timeoutsFromEnv({})).toMatchObject({
			headersMs: 10_000,
			requestMs: 30_000,
			keepAliveMs: 5_000,
		});
	});
});

describe('tokens from an external OAuth 2.0 issuer', () => {
	let jwks: Server;
	let issuer: string;
	let signingKey: KeyObject;
	const AUDIENCE = 'n8n-secrets-api';

	beforeEach(async () => {
		const pair = await generateKeyPair('ES256', { extractable: true });
		signingKey = pair.privateKey as unknown as KeyObject;
		const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
		jwks = createServer((req, res) => {
			res.setHeader('content-type', 'application/json');
			res.end(JSON.stringify(req.url === '/.well-known/jwks.json' ? { keys: [jwk] } : {}));
		});
		await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', r));
		issuer = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}`;
	});

	afterEach(() => new Promise<void>((r) => jwks.close(() => r())));

	function sign(
		claims: Record<string, unknown>,
		o: { aud?: string; iss?: string; exp?: string | number; key?: KeyObject } = {},
	) {
		return new SignJWT(claims)
			.setProtectedHeader({ alg: 'ES256', kid: 'k1' })
			.setIssuer(o.iss ?? issuer)
			.setAudience(o.aud ?? AUDIENCE)
			.setSubject(String(claims.sub ?? 'alice@example.com'))
			.setIssuedAt()
			.setExpirationTime(o.exp ?? '5m')
			.sign(o.key ?? signingKey);
	}

	it('refuses a token without a limit claim the server is configured to read (fail closed)', async () => {
		const api = await startApiServer(t, {
			externalIssuer: new ExternalIssuer({
				issuer,
				audience: AUDIENCE,
				roleClaim: 'roles',
				environmentsClaim: 'envs',
				secretsClaim: 'names',
			}),
		});
		try {
			const call = async (claims: Record<string, unknown>) => {
				const r = await api.call('GET', '/api/v1/whoami', { token: await sign(claims) });
				return r.status === 200
					? { status: 200, environments: r.body.environments, secrets: r.body.secrets }
					: { status: r.status, code: r.body.code };
			};
			expect(await call({ roles: ['admin'], names: ['stripe-*'] })).toEqual({
				status: 401,
				code: 'TOKEN_INVALID',
			});
			expect(await call({ roles: ['admin'], envs: 7, names: ['stripe-*'] })).toEqual({
				status: 401,
				code: 'TOKEN_INVALID',
			});
			expect(await call({ roles: ['admin'], envs: ['staging'] })).toEqual({
				status: 401,
				code: 'TOKEN_INVALID',
			});
			expect(await call({ roles: ['admin'], envs: 'staging', names: ['stripe-*'] })).toEqual({
				status: 200,
				environments: ['staging'],
				secrets: ['stripe-*'],
			});
		} finally {
			await api.close();
		}
	});

	it('maps roles and scopes from the claims, checks issuer, audience, expiry and signature', async () => {
		const api = await startApiServer(t, {
			externalIssuer: new ExternalIssuer({ issuer, audience: AUDIENCE, roleClaim: 'realm.roles' }),
		});
		try {
			const operator = await sign({ realm: { roles: ['operator', 'unrelated'] } });
			const me = await api.call('GET', '/api/v1/whoami', { token: operator });
			expect(me.status).toBe(200);
			expect(me.body).toMatchObject({ tenant: 'default', subject: 'alice@example.com' });
			expect([...me.body.scopes].sort()).toEqual(['secrets:list', 'secrets:use', 'secrets:write']);
			const created = await api.call('POST', '/api/v1/secrets', {
				token: operator,
				body: { name: 'oauth-made', environment: 'production', value: 'v-oauth' },
			});
			expect(created.status).toBe(201);
			const reveal = await api.call('POST', '/api/v1/secrets/oauth-made/reveal?env=production', {
				token: operator,
			});
			expect({ status: reveal.status, code: reveal.body.code }).toEqual({
				status: 403,
				code: 'ACCESS_DENIED',
			});
			const audit = (await t.service.listAudit(t.admin, { secret: 'oauth-made' })).items;
			expect(audit.map((e) => [e.action, e.actor, e.outcome])).toEqual(
				expect.arrayContaining([
					['create', 'alice@example.com', 'success'],
					['deny', 'alice@example.com', 'denied'],
				]),
			);

			const listOnly = await sign({ scope: 'openid secrets:list profile' });
			expect((await api.call('GET', '/api/v1/secrets', { token: listOnly })).status).toBe(200);
			expect(
				(
					await api.call('POST', '/api/v1/secrets/oauth-made/resolve?env=production', {
						token: listOnly,
					})
				).status,
			).toBe(403);

			const other = await generateKeyPair('ES256');
			const refused: [string, string, string][] = [
				[
					'wrong audience',
					await sign({ scope: 'secrets:list' }, { aud: 'someone-else' }),
					'TOKEN_INVALID',
				],
				[
					'expired',
					await sign({ scope: 'secrets:list' }, { exp: Math.floor(Date.now() / 1000) - 600 }),
					'TOKEN_EXPIRED',
				],
				[
					'signed by another key',
					await sign({ scope: 'secrets:list' }, { key: other.privateKey as unknown as KeyObject }),
					'TOKEN_INVALID',
				],
				[
					'another issuer',
					await sign({ scope: 'secrets:list' }, { iss: 'https://evil.example.com' }),
					'TOKEN_INVALID',
				],
			];
			for (const [name, token, code] of refused) {
				const r = await api.call('GET', '/api/v1/secrets', { token });
				expect({ name, status: r.status, code: r.body.code }).toEqual({ name, status: 401, code });
			}
			const noScope = await api.call('GET', '/api/v1/secrets', {
				token: await sign({ scope: 'openid' }),
			});
			expect({ status: noScope.status, code: noScope.body.code }).toEqual({
				status: 403,
				code: 'ACCESS_DENIED',
			});
		} finally {
			await api.close();
		}
	});

	it('takes the tenant from a claim when told to, and refuses a tenant the store does not have', async () => {
		const api = await startApiServer(t, {
			externalIssuer: new ExternalIssuer({
				issuer,
				audience: AUDIENCE,
				tenantClaim: 'org',
				roleClaim: 'roles',
			}),
		});
		try {
			const ok = await api.call('GET', '/api/v1/whoami', {
				token: await sign({ org: 'default', roles: ['viewer'] }),
			});
			expect(ok.body).toMatchObject({ tenant: 'default', scopes: ['secrets:list'] });
			const unknown = await api.call('GET', '/api/v1/secrets', {
				token: await sign({ org: 'acme', roles: ['viewer'] }),
			});
			expect({ status: unknown.status, code: unknown.body.code }).toEqual({
				status: 401,
				code: 'TOKEN_INVALID',
			});
		} finally {
			await api.close();
		}
	});
});

describe('the CLI against a server (--url)', () => {
	it('runs secret, audit and key commands remotely, and refuses to move the master key over the API', async () => {
		const api = await startApiServer(t);
		const run = async (args: string[], input = '', extraEnv: NodeJS.ProcessEnv = {}) => {
			let out = '';
			let err = '';
			const code = await runCli(args, {
				env: { N8N_SECRETS_URL: api.url, N8N_SECRETS_TOKEN: t.admin.token, ...extraEnv },
				stdin: async () => input,
				out: (s) => (out += s),
				err: (s) => (err += s),
				isTty: false,
			});
			return { code, out, err };
		};
		try {
			expect(
				(
					await run(
						['secret', 'set', 'db-pass', '--env', 'production', '--value-stdin'],
						'remote-1\n',
					)
				).code,
			).toBe(0);
			expect(
				(
					await run(
						['secret', 'set', 'db-pass', '--env', 'production', '--value-stdin'],
						'remote-2\n',
					)
				).code,
			).toBe(0);
			const list = await run(['secret', 'list', '--json']);
			expect(JSON.parse(list.out).map((s: { name: string }) => s.name)).toEqual(['db-pass']);
			expect((await run(['secret', 'rollback', 'db-pass', '--env', 'production'])).code).toBe(0);
			const got = await run(['secret', 'get', 'db-pass', '--env', 'production', '--reveal']);
			expect(got.out.trim()).toBe('remote-1');
			const verify = await run(['audit', 'verify']);
			expect(verify.code).toBe(0);
			expect(verify.out).toMatch(/intact/);
			expect((await run(['key', 'rotate', '--reencrypt'])).code).toBe(0);
			const moved = await run(['key', 'rotate'], '', { N8N_SECRETS_NEW_MASTER_KEY: t.keyBase64 });
			expect(moved.code).toBe(2);
			expect(moved.err).toContain('store host');
			// The server's store is the one that changed.
			expect(
				(await t.service.reveal(t.admin, { name: 'db-pass', environment: 'production' })).value,
			).toBe('remote-1');
			const down = await run(['secret', 'list'], '', { N8N_SECRETS_URL: 'http://127.0.0.1:9' });
			expect(down.code).toBe(1);
			expect(down.err).toContain('SERVER_UNAVAILABLE');
		} finally {
			await api.close();
		}
	});
});
