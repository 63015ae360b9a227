/**
 * Another page in the same browser, signed in to the Secrets page, tries to act with the person's
 * session: a same-site page (another port of 127.0.0.1, so SameSite=Strict still sends the cookie)
 * and a cross-site one (localhost) send a state-changing request the way a page can without CORS
 * (no-cors, a plain-text body), and try to frame the page. Nothing changes, the server says why in
 * its log, and the frame stays empty.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import type { Page } from 'puppeteer-core';

import { sel, signIn } from './driving';
import { type Suite, startSuite } from './harness';

const NAME = 'csrf-target';
const VALUE = 'csrf-VALUE-71d0c5e9b2a84f36';

let s: Suite;
let victim: Page;
let attacker: Server;
let port: number;

beforeAll(async () => {
	s = await startSuite();
	s.remember(`${NAME} value`, VALUE);
	const made = await s.api('POST', '/api/v1/secrets', {
		token: s.tokens.admin,
		body: { name: NAME, type: 'API_KEY', environment: 'production', value: VALUE },
	});
	expect(made.status).toBe(201);
	attacker = createServer((_req, res) => {
		res.setHeader('content-type', 'text/html');
		res.end(`<!doctype html><title>elsewhere</title><iframe src="${s.url}/"></iframe>`);
	});
	// Both stacks: Chromium may reach "localhost" over ::1.
	await new Promise<void>((r) => attacker.listen(0, r));
	port = (attacker.address() as AddressInfo).port;
	victim = await s.newPage();
	await signIn(victim, s.url, s.tokens.admin);
});

afterAll(async () => {
	attacker?.close();
	await s?.close();
});

/** The log lines of requests to the rotate route: status and code, in order. */
function rotateAnswers(): string[] {
	return s.logs
		.map((l) => JSON.parse(l) as { path?: string; status?: number; code?: string })
		.filter((l) => l.path === '/api/v1/secrets/:name/rotate')
		.map((l) => `${l.status} ${l.code ?? ''}`.trim());
}

async function currentVersion(): Promise<number> {
	const r = await s.api('GET', `/api/v1/secrets/${NAME}`, { token: s.tokens.admin });
	return r.body.environments[0].currentVersion;
}

it.each([
	[
		'same-site (another port of 127.0.0.1): the cookie goes along, CSRF_REQUIRED',
		'127.0.0.1',
		'403 CSRF_REQUIRED',
	],
	// No cookie, so no session: the route refuses the request as it would any anonymous one.
	['cross-site (localhost): SameSite=Strict keeps the cookie home', 'localhost', /^(401|415) /],
])('a page from %s', async (_label, host, answer) => {
	const page = await s.newPage();
	const before = rotateAnswers().length;
	await page.goto(`http://${host}:${port}/`, { waitUntil: 'load' });
	await page.evaluate(async (target: string) => {
		await fetch(target, {
			method: 'POST',
			mode: 'no-cors',
			credentials: 'include',
			body: '{}',
		}).catch(() => undefined);
	}, `${s.url}/api/v1/secrets/${NAME}/rotate?env=production`);
	await new Promise((r) => setTimeout(r, 300));
	const answers = rotateAnswers().slice(before);
	expect(answers).toHaveLength(1);
	if (typeof answer === 'string') expect(answers[0]).toBe(answer);
	else expect(answers[0]).toMatch(answer);
	expect(await currentVersion()).toBe(1);

	// frame-ancestors 'none': the page never renders inside another page.
	const child = page.frames().find((f) => f !== page.mainFrame());
	expect(child).toBeDefined();
	expect(await child!.$(`${sel('signin-token')}, ${sel('signout')}`)).toBeNull();
	const refused = s.recordings
		.flatMap((r) => r.consoleErrors)
		.filter((m) => m.includes("frame-ancestors 'none'"));
	expect(refused.length).toBeGreaterThan(0);
	await page.close();
});

it('the signed-in page itself still rotates (same origin, with its CSRF token)', async () => {
	await victim.bringToFront();
	await victim.goto(`${s.url}/#/secrets/${NAME}`);
	await victim.waitForSelector(sel('action-rotate'), { visible: true });
	await victim.click(sel('action-rotate'));
	await victim.waitForSelector(sel('confirm-ok'), { visible: true });
	await victim.click(sel('confirm-ok'));
	await victim.waitForSelector(sel('toast', '[data-kind="success"]'), { visible: true });
	expect(await currentVersion()).toBe(2);
	expect(rotateAnswers().slice(-1)).toEqual(['201']);
});

it('leaves no value anywhere', async () => {
	expect(await s.leakCheck()).toEqual([]);
});
