/**
 * The Secrets page's sessions over HTTP (no browser): the cookie's attributes, sign-in failures and
 * their rate limit, CSRF proof and same-origin checks on writes, idle and absolute expiry (on a
 * clock the test moves), sign-out and revocation ending a session on the server, the token never
 * in a log line, and the security headers on the page, its files and the API.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

import type { FastifyInstance } from 'fastify';
import { Agent, request } from 'undici';

import { type LogLine, buildServer, formatLogLine } from '../../src/server/app';
import type { SecretsService } from '../../src/service/secrets-service';
import type { Answer } from '../helpers/api-server';
import { createTestStore, type TestStore } from '../helpers/store';

const IDLE = 60;
const MAX = 300;

let t: TestStore;
let service: SecretsService;
let app: FastifyInstance | undefined;
let base: string;
let logs: LogLine[];
/** The sessions' clock, moved by the expiry tests. */
let now: number;
let dispatcher: Agent | undefined;

beforeEach(async () => {
	t = await createTestStore();
	t.clock.ms = Date.now();
	now = Date.now();
});

afterEach(async () => {
	await app?.close();
	app = undefined;
	await dispatcher?.close();
	dispatcher = undefined;
	await t.cleanup();
});

async function start(o: { tls?: boolean } = {}): Promise<void> {
	service = await t.open();
	logs = [];
	let https: { cert: Buffer; key: Buffer } | undefined;
	if (o.tls) {
		const cert = join(t.dir, 'cert.pem');
		const key = join(t.dir, 'key.pem');
		execFileSync(
			'openssl',
			[
				...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'],
				...['-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost'],
				...['-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'],
			],
			{ stdio: 'ignore' },
		);
		https = { cert: readFileSync(cert), key: readFileSync(key) };
		dispatcher = new Agent({ connect: { ca: https.cert } });
	}
	app = await buildServer({
		service,
		https,
		log: (l) => logs.push(l),
		sessions: { idleSeconds: IDLE, maxSeconds: MAX, now: () => now },
	});
	await app.listen({ host: '127.0.0.1', port: 0 });
	const { port } = app.server.address() as AddressInfo;
	base = `${o.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
}

interface Reply {
	status: number;
	body: Answer;
	headers: Record<string, string | string[] | undefined>;
}

async function call(
	method: string,
	path: string,
	o: { body?: unknown; headers?: Record<string, string> } = {},
): Promise<Reply> {
	const headers: Record<string, string> = { ...o.headers };
	if (o.body !== undefined) headers['content-type'] = 'application/json';
	const res = await request(`${base}${path}`, {
		method: method as 'GET',
		headers,
		body: o.body === undefined ? undefined : JSON.stringify(o.body),
		dispatcher,
	});
	const text = await res.body.text();
	let body: unknown = text;
	try {
		body = JSON.parse(text);
	} catch {
		// not JSON
	}
	return { status: res.statusCode, body, headers: res.headers };
}

function setCookie(r: Reply): string {
	const h = r.headers['set-cookie'];
	const one = Array.isArray(h) ? h[0] : h;
	if (typeof one !== 'string') throw new Error(`no set-cookie in the ${r.status} answer`);
	return one;
}

/** A signed-in session: its cookie header and CSRF token. */
async function signIn(token = t.admin.token): Promise<{ cookie: string; csrf: string }> {
	const r = await call('POST', '/api/v1/session', { body: { token } });
	expect(r.status).toBe(201);
	return { cookie: setCookie(r).split(';')[0], csrf: r.body.csrfToken };
}

/** The same token with its last character changed. */
const otherThan = (csrf: string) => `${csrf.slice(0, -1)}${csrf.endsWith('A') ? 'B' : 'A'}`;

const CREATE = {
	name: 'session-made',
	type: 'API_KEY',
	environment: 'production',
	value: 'session-VALUE-3e1c9a7b5d',
};

describe('sign-in', () => {
	beforeEach(() => start());

	it('sets an httpOnly SameSite=Strict cookie (not Secure over plain HTTP) and answers who signed in', async () => {
		const r = await call('POST', '/api/v1/session', { body: { token: t.admin.token } });
		expect(r.status).toBe(201);
		const cookie = setCookie(r);
		expect(cookie).toMatch(/^n8n-secrets-session=[A-Za-z0-9_-]{32,};/);
		expect(cookie).toMatch(/;\s*HttpOnly/i);
		expect(cookie).toMatch(/;\s*SameSite=Strict/i);
		expect(cookie).toMatch(/;\s*Path=\/(;|$)/);
		expect(cookie).not.toMatch(/Secure/i);
		expect(r.body).toMatchObject({
			subject: 'admin',
			role: 'admin',
			scopes: ['admin'],
			csrfToken: expect.stringMatching(/^[A-Za-z0-9_-]{32,}$/),
			idleTimeoutSeconds: IDLE,
			expiresAt: new Date(now + MAX * 1000).toISOString(),
		});
		expect(JSON.stringify(r.body)).not.toContain(t.admin.token);
		expect(r.headers['cache-control']).toBe('no-store');
	});

	it('refuses a wrong token with 401 TOKEN_INVALID and no cookie', async () => {
		const r = await call('POST', '/api/v1/session', { body: { token: 'not-a-token' } });
		expect(r.status).toBe(401);
		expect(r.body.code).toBe('TOKEN_INVALID');
		expect(r.body.message).toMatch(/token/i);
		expect(r.headers['set-cookie']).toBeUndefined();
	});

	it('rate-limits repeated failures with 429 and retry-after, even for the right token then', async () => {
		const codes: number[] = [];
		for (let i = 0; i < 5; i++)
			codes.push((await call('POST', '/api/v1/session', { body: { token: `wrong-${i}` } })).status);
		expect(codes).toEqual([401, 401, 401, 401, 401]);
		const limited = await call('POST', '/api/v1/session', { body: { token: t.admin.token } });
		expect(limited.status).toBe(429);
		expect(limited.body.code).toBe('SIGN_IN_RATE_LIMITED');
		expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
		expect(limited.headers['set-cookie']).toBeUndefined();
		// The window passes: the right token signs in again.
		now += 5 * 60 * 1000 + 1000;
		expect((await call('POST', '/api/v1/session', { body: { token: t.admin.token } })).status).toBe(
			201,
		);
	});

	it('a good sign-in does not reset the count of failures (one token buys no extra guesses)', async () => {
		const codes: number[] = [];
		for (let round = 0; round < 2; round++) {
			for (let i = 0; i < 3; i++)
				codes.push((await call('POST', '/api/v1/session', { body: { token: `bad-${i}` } })).status);
			codes.push(
				(await call('POST', '/api/v1/session', { body: { token: t.admin.token } })).status,
			);
		}
		expect(codes).toEqual([401, 401, 401, 201, 401, 401, 429, 429]);
	});

	it("one token signing in again and again ends its own oldest sessions, not other people's", async () => {
		const { token } = await service.createToken(t.admin, { subject: 'busy', role: 'viewer' });
		const admin = await signIn();
		const first = await signIn(token);
		for (let i = 0; i < 20; i++) {
			now += 1000;
			await signIn(token);
		}
		const list = (cookie: string) => call('GET', '/api/v1/secrets', { headers: { cookie } });
		expect((await list(first.cookie)).body.code).toBe('SESSION_EXPIRED');
		expect((await list(admin.cookie)).status).toBe(200);
	});

	it('two session cookies (one set by another service on this host name) are refused and cleared', async () => {
		const mine = await signIn();
		const theirs = await signIn();
		const r = await call('GET', '/api/v1/secrets', {
			headers: { cookie: `${theirs.cookie}; ${mine.cookie}` },
		});
		expect([r.status, r.body.code]).toEqual([401, 'SESSION_EXPIRED']);
		const cleared = ([] as string[]).concat(r.headers['set-cookie'] ?? []);
		for (const path of ['/', '/api', '/api/v1'])
			expect(cleared).toContainEqual(expect.stringContaining(`; Path=${path};`));
		expect(cleared.every((c) => /Max-Age=0/.test(c))).toBe(true);
		// Sign-in itself clears what could shadow the new cookie.
		const again = await call('POST', '/api/v1/session', { body: { token: t.admin.token } });
		const set = ([] as string[]).concat(again.headers['set-cookie'] ?? []);
		expect(set[0]).toMatch(/^n8n-secrets-session=[^;]+; Path=\/;/);
		expect(set.slice(1).every((c) => /Max-Age=0/.test(c))).toBe(true);
	});

	it('GET /session answers the CSRF token after a reload, and 401 SESSION_REQUIRED without a cookie', async () => {
		const s = await signIn();
		const again = await call('GET', '/api/v1/session', { headers: { cookie: s.cookie } });
		expect(again.status).toBe(200);
		expect(again.body).toMatchObject({ csrfToken: s.csrf, subject: 'admin' });
		const none = await call('GET', '/api/v1/session');
		expect(none.status).toBe(401);
		expect(none.body.code).toBe('SESSION_REQUIRED');
	});

	it('never writes the token (or the cookie) into a log line', async () => {
		const s = await signIn();
		await call('POST', '/api/v1/session', { body: { token: `${t.admin.token}x` } });
		await call('GET', '/api/v1/secrets', { headers: { cookie: s.cookie } });
		await call('DELETE', '/api/v1/session', {
			headers: { cookie: s.cookie, 'x-csrf-token': s.csrf },
		});
		const text = logs.map((l) => formatLogLine(l)).join('');
		expect(logs.length).toBeGreaterThanOrEqual(4);
		expect(text).not.toContain(t.admin.token);
		expect(text).not.toContain(t.admin.token.split('.')[2]);
		expect(text).not.toContain(s.cookie.split('=')[1]);
		expect(text).not.toContain(s.csrf);
	});
});

describe('writes with the session cookie', () => {
	beforeEach(() => start());

	it('need the x-csrf-token header: without it or with another 403 CSRF_REQUIRED, with it 201', async () => {
		const s = await signIn();
		const without = await call('POST', '/api/v1/secrets', {
			body: CREATE,
			headers: { cookie: s.cookie },
		});
		expect(without.status).toBe(403);
		expect(without.body.code).toBe('CSRF_REQUIRED');
		const wrong = await call('POST', '/api/v1/secrets', {
			body: CREATE,
			headers: { cookie: s.cookie, 'x-csrf-token': otherThan(s.csrf) },
		});
		expect(wrong.status).toBe(403);
		expect(wrong.body.code).toBe('CSRF_REQUIRED');
		const withIt = await call('POST', '/api/v1/secrets', {
			body: CREATE,
			headers: { cookie: s.cookie, 'x-csrf-token': s.csrf },
		});
		expect(withIt.status).toBe(201);
		expect(withIt.headers['cache-control']).toBe('no-store');
	});

	it.each([
		['a foreign Origin', { origin: 'https://evil.example' }],
		['Sec-Fetch-Site: cross-site', { 'sec-fetch-site': 'cross-site' }],
		['Sec-Fetch-Site: same-site', { 'sec-fetch-site': 'same-site' }],
	])('are refused from %s, even with the CSRF token', async (_label, extra) => {
		const s = await signIn();
		for (const [method, path] of [
			['POST', '/api/v1/secrets'],
			['DELETE', '/api/v1/secrets/session-made'],
		] as const) {
			const r = await call(method, path, {
				body: method === 'POST' ? CREATE : undefined,
				headers: { cookie: s.cookie, 'x-csrf-token': s.csrf, ...extra },
			});
			expect([method, r.status, r.body.code]).toEqual([method, 403, 'CSRF_REQUIRED']);
		}
		const list = await service.listSecrets(t.admin, {});
		expect(list.items).toEqual([]);
	});

	it('from the same origin are accepted (Origin and Sec-Fetch-Site as the page sends them)', async () => {
		const s = await signIn();
		const r = await call('POST', '/api/v1/secrets', {
			body: CREATE,
			headers: {
				cookie: s.cookie,
				'x-csrf-token': s.csrf,
				origin: base,
				'sec-fetch-site': 'same-origin',
			},
		});
		expect(r.status).toBe(201);
	});

	it('a sign-in from another site is refused (no login CSRF)', async () => {
		const r = await call('POST', '/api/v1/session', {
			body: { token: t.admin.token },
			headers: { origin: 'https://evil.example' },
		});
		expect(r.status).toBe(403);
		expect(r.body.code).toBe('CSRF_REQUIRED');
		expect(r.headers['set-cookie']).toBeUndefined();
	});
});

describe('the end of a session', () => {
	beforeEach(() => start());

	const list = (cookie: string) => call('GET', '/api/v1/secrets', { headers: { cookie } });

	it('ends when idle: used within the idle time it lives on, after it 401 SESSION_EXPIRED', async () => {
		const s = await signIn();
		for (let i = 0; i < 3; i++) {
			now += (IDLE - 1) * 1000;
			expect((await list(s.cookie)).status).toBe(200);
		}
		now += IDLE * 1000;
		const r = await list(s.cookie);
		expect(r.status).toBe(401);
		expect(r.body.code).toBe('SESSION_EXPIRED');
		expect(setCookie(r)).toMatch(/Max-Age=0/);
		expect((await call('GET', '/api/v1/session', { headers: { cookie: s.cookie } })).status).toBe(
			401,
		);
	});

	it('ends at its absolute limit however busy it is', async () => {
		const s = await signIn();
		const end = now + MAX * 1000;
		while (now + (IDLE - 1) * 1000 < end) {
			now += (IDLE - 1) * 1000;
			expect((await list(s.cookie)).status).toBe(200);
		}
		now = end;
		const r = await list(s.cookie);
		expect([r.status, r.body.code]).toEqual([401, 'SESSION_EXPIRED']);
	});

	it('sign-out ends it on the server: the old cookie, sent again, no longer works', async () => {
		const s = await signIn();
		const out = await call('DELETE', '/api/v1/session', {
			headers: { cookie: s.cookie, 'x-csrf-token': s.csrf },
		});
		expect(out.status).toBe(204);
		expect(setCookie(out)).toMatch(/^n8n-secrets-session=;.*Max-Age=0/);
		const replay = await list(s.cookie);
		expect([replay.status, replay.body.code]).toEqual([401, 'SESSION_EXPIRED']);
		const write = await call('POST', '/api/v1/secrets', {
			body: CREATE,
			headers: { cookie: s.cookie, 'x-csrf-token': s.csrf },
		});
		expect(write.status).toBe(401);
	});

	it('sign-out needs the CSRF token (a foreign page cannot sign a person out)', async () => {
		const s = await signIn();
		const r = await call('DELETE', '/api/v1/session', { headers: { cookie: s.cookie } });
		expect([r.status, r.body.code]).toEqual([403, 'CSRF_REQUIRED']);
		expect((await list(s.cookie)).status).toBe(200);
	});

	it('stops working when its token is revoked, and stays ended', async () => {
		const { token, info } = await service.createToken(t.admin, {
			subject: 'short-lived',
			role: 'viewer',
			ttl: '1d',
		});
		const s = await signIn(token);
		expect((await list(s.cookie)).status).toBe(200);
		const other = await signIn(token);
		await service.revokeToken(t.admin, info.jti);
		// Asking the page's session endpoint ends it too (the page learns at its next reload).
		const asked = await call('GET', '/api/v1/session', { headers: { cookie: other.cookie } });
		expect([asked.status, asked.body.code]).toEqual([401, 'TOKEN_REVOKED']);
		expect((await list(other.cookie)).body.code).toBe('SESSION_EXPIRED');
		const r = await list(s.cookie);
		expect([r.status, r.body.code]).toEqual([401, 'TOKEN_REVOKED']);
		const after = await call('GET', '/api/v1/session', { headers: { cookie: s.cookie } });
		expect(after.status).toBe(401);
		const again = await call('POST', '/api/v1/session', { body: { token } });
		expect([again.status, again.body.code]).toEqual([401, 'TOKEN_REVOKED']);
	});
});

describe('security headers', () => {
	beforeEach(() => start());

	const CSP_PARTS = [
		"default-src 'none'",
		"script-src 'self'",
		"style-src 'self'",
		"frame-ancestors 'none'",
		"base-uri 'none'",
	];

	it.each([
		['the page', '/', /^text\/html/],
		['its script', '/ui/app.js', /^text\/javascript/],
		['its style', '/ui/app.css', /^text\/css/],
		['an API route', '/api/v1/rules', /^application\/json/],
		['an API error', '/api/v1/secrets', /^application\/json/],
		['a path the router refuses', '/api/v1/secrets/%E0%A4%A', /^application\/json/],
	])('on %s (%s)', async (_label, path, type) => {
		const r = await call('GET', path);
		expect(r.headers['content-type']).toMatch(type);
		const csp = String(r.headers['content-security-policy']);
		for (const part of CSP_PARTS) expect(csp).toContain(part);
		expect(csp).not.toContain('unsafe-inline');
		expect(csp).not.toContain('unsafe-eval');
		expect(r.headers['x-content-type-options']).toBe('nosniff');
		expect(r.headers['referrer-policy']).toBe('no-referrer');
		expect(r.headers['x-frame-options']).toBe('DENY');
		if (path.startsWith('/api/')) expect(r.headers['cache-control']).toBe('no-store');
		else expect(r.headers['cache-control']).toMatch(/no-cache|no-store/);
	});

	it('the page loads only its own script and style, no inline script', async () => {
		const r = await call('GET', '/');
		expect(r.status).toBe(200);
		const html = String(r.body);
		const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)];
		expect(scripts.map((m) => m[1].trim())).toEqual(['type="module" src="/ui/app.js"']);
		expect(scripts.every((m) => m[2].trim() === '')).toBe(true);
		expect(html).not.toMatch(/\sstyle=|\son[a-z]+=/i);
	});

	it("GET /api/v1/rules needs no sign-in and gives the store's own patterns", async () => {
		const r = await call('GET', '/api/v1/rules');
		expect(r.status).toBe(200);
		expect(new RegExp(r.body.secretName.pattern).test('stripe-key_1')).toBe(true);
		expect(new RegExp(r.body.secretName.pattern).test('no spaces')).toBe(false);
		expect(r.body.types).toContain('API_KEY');
	});
});

describe('under TLS', () => {
	beforeEach(() => start({ tls: true }));

	it('the cookie is Secure and __Host- prefixed, and works', async () => {
		const r = await call('POST', '/api/v1/session', { body: { token: t.admin.token } });
		expect(r.status).toBe(201);
		const cookie = setCookie(r);
		expect(cookie).toMatch(/^__Host-n8n-secrets-session=/);
		expect(cookie).toMatch(/;\s*Secure/i);
		expect(cookie).toMatch(/;\s*HttpOnly/i);
		expect(cookie).toMatch(/;\s*SameSite=Strict/i);
		expect(cookie).toMatch(/;\s*Path=\//);
		expect(cookie).not.toMatch(/Domain=/i);
		const list = await call('GET', '/api/v1/secrets', {
			headers: { cookie: cookie.split(';')[0] },
		});
		expect(list.status).toBe(200);
		const write = await call('POST', '/api/v1/secrets', {
			body: CREATE,
			headers: { cookie: cookie.split(';')[0], 'x-csrf-token': r.body.csrfToken, origin: base },
		});
		expect(write.status).toBe(201);
	});
});
