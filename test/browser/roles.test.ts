/**
 * Signing in to the Secrets page in a real Chromium, per role: what each role is offered on the
 * list and on a secret's page, a wrong token's message, sign-out ending the session on the server,
 * and an idle session sending the page back to sign-in by itself.
 */
import type { Page } from 'puppeteer-core';

import { checkPage } from './checks';
import { offered, sel, signIn, textOf, waitGone } from './driving';
import { type RoleName, type Suite, startSuite } from './harness';

const SECRET = 'roles-demo';
const VALUE = 'roles-VALUE-7d2f41c9e8a3b6';

/** What each role must be offered (true) or not (false); anything not listed is not asserted. */
const OFFERS: Record<RoleName, Record<string, boolean>> = {
	viewer: {
		newSecret: false,
		tokens: false,
		audit: false,
		rotate: false,
		reveal: false,
		delete: false,
	},
	user: {
		newSecret: false,
		tokens: false,
		audit: false,
		rotate: false,
		reveal: false,
		delete: false,
	},
	operator: {
		newSecret: true,
		tokens: false,
		audit: false,
		rotate: true,
		reveal: false,
		delete: false,
	},
	revealer: {
		newSecret: false,
		tokens: false,
		audit: false,
		rotate: false,
		reveal: true,
		delete: false,
	},
	auditor: {
		newSecret: false,
		tokens: false,
		audit: true,
		rotate: false,
		reveal: false,
		delete: false,
	},
	admin: { newSecret: true, tokens: true, audit: true, rotate: true, reveal: true, delete: true },
};

let s: Suite;
let page: Page;

beforeAll(async () => {
	s = await startSuite();
	s.remember(`${SECRET} value`, VALUE);
	const made = await s.api('POST', '/api/v1/secrets', {
		token: s.tokens.admin,
		body: {
			name: SECRET,
			type: 'API_KEY',
			environment: 'production',
			value: VALUE,
			description: 'Seeded for the role checks',
		},
	});
	expect(made.status).toBe(201);
	page = await s.newPage();
});

afterAll(() => s?.close());

async function signOut(p: Page): Promise<void> {
	await p.click(sel('signout'));
	await p.waitForSelector(sel('signin-token'), { visible: true });
}

describe('signing in', () => {
	it('shows the sign-in page first, and passes axe in both colour schemes', async () => {
		await page.goto(`${s.url}/`, { waitUntil: 'domcontentloaded' });
		await page.waitForSelector(sel('signin-token'), { visible: true });
		expect(await page.$eval(sel('signin-token'), (e) => e.getAttribute('type'))).toBe('password');
		expect(await checkPage(page, 'signin')).toEqual([]);
	});

	it('refuses a wrong token with the API code and message, and keeps nothing in the field', async () => {
		await page.type(sel('signin-token'), 'not-a-real-token', { delay: 0 });
		await page.click(sel('signin-submit'));
		await page.waitForSelector(sel('error'), { visible: true });
		expect(await page.$eval(sel('error'), (e) => e.getAttribute('data-code'))).toBe(
			'TOKEN_INVALID',
		);
		expect(await page.$eval(sel('signin-token'), (e) => (e as HTMLInputElement).value)).toBe('');
		expect(await checkPage(page, 'signin-error')).toEqual([]);
	});

	it.each(Object.keys(OFFERS) as RoleName[])('as %s: offers what the role allows', async (role) => {
		await signIn(page, s.url, s.tokens[role]);
		expect(await textOf(page, sel('whoami-role'))).toBe(role);
		const want = OFFERS[role];
		const got: Record<string, boolean> = {};
		await page.waitForSelector(sel('secret-row', `[data-name="${SECRET}"]`), { visible: true });
		got.newSecret = await offered(page, sel('new-secret'));
		got.tokens = await offered(page, sel('nav-tokens'));
		got.audit = await offered(page, sel('nav-audit'));
		await page.goto(`${s.url}/#/secrets/${SECRET}`);
		await page.waitForSelector(sel('env-section', '[data-env="production"]'), { visible: true });
		got.rotate = await offered(page, sel('action-rotate'));
		got.reveal = await offered(page, sel('reveal'));
		got.delete = await offered(page, sel('delete'));
		expect(got).toEqual(want);
		// Whatever the role, the page holds no value it was not asked to reveal.
		expect(await page.content()).not.toContain(VALUE);
		await signOut(page);
	});
});

describe('signing out', () => {
	it('ends the session on the server: the cookie the browser had no longer works', async () => {
		await signIn(page, s.url, s.tokens.operator);
		const cookies = await page.browserContext().cookies();
		const session = cookies.find((c) => c.name === 'n8n-secrets-session');
		expect(session).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/' });
		await signOut(page);
		const replay = await s.api('GET', '/api/v1/secrets', {
			headers: { cookie: `n8n-secrets-session=${session!.value}` },
		});
		expect([replay.status, replay.body.code]).toEqual([401, 'SESSION_EXPIRED']);
		const after = await page.browserContext().cookies();
		expect(after.find((c) => c.name === 'n8n-secrets-session')).toBeUndefined();
	});

	it('a reload after sign-out shows sign-in, not the list', async () => {
		await page.reload({ waitUntil: 'domcontentloaded' });
		await page.waitForSelector(sel('signin-token'), { visible: true });
		expect(await page.$(sel('secret-row'))).toBeNull();
	});

	it('a reload while signed in keeps the session (the CSRF token is asked for again)', async () => {
		await signIn(page, s.url, s.tokens.operator);
		await page.reload({ waitUntil: 'domcontentloaded' });
		await page.waitForSelector(sel('signout'), { visible: true });
		// A write after the reload works: the page learned the CSRF token from GET /session.
		await page.goto(`${s.url}/#/secrets/${SECRET}`);
		await page.waitForSelector(sel('action-rotate'), { visible: true });
		await page.click(sel('action-rotate'));
		await page.waitForSelector(sel('confirm-ok'), { visible: true });
		await page.click(sel('confirm-ok'));
		await page.waitForSelector(sel('toast', '[data-kind="success"]'), { visible: true });
		await signOut(page);
	});
});

describe('an idle session', () => {
	let idle: Suite;
	afterAll(() => idle?.close());

	it('sends the page back to sign-in by itself, saying the session ended', async () => {
		idle = await startSuite({ env: { N8N_SECRETS_SESSION_IDLE_SECONDS: '2' } });
		const p = await idle.newPage();
		await signIn(p, idle.url, idle.tokens.viewer);
		await p.waitForSelector(sel('signin-token'), { visible: true, timeout: 15_000 });
		expect(await textOf(p, sel('signin-notice'))).toMatch(/session ended/i);
		await waitGone(p, sel('signout'));
		expect(await idle.leakCheck()).toEqual([]);
	});
});

describe('at the end', () => {
	it('no value or token anywhere: logs, store files, profile, answers, URLs, DOM', async () => {
		expect(await s.leakCheck()).toEqual([]);
	});
});
