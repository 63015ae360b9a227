/**
 * The Tokens page (admins) and the Audit page (auditors) in a real Chromium: a token created in the
 * page is shown once with the n8n credential fields, works against the API, and once revoked in the
 * page is refused by the API, by the sign-in form and by a session already signed in with it. The
 * audit page filters events and verifies the chain.
 */
import type { Page } from 'puppeteer-core';

import { checkPage } from './checks';
import { sel, signIn, textOf, waitGone } from './driving';
import { type Suite, startSuite } from './harness';

const VALUE = 'tokens-VALUE-0a9b8c7d6e5f4321';

let s: Suite;
let page: Page;
/** The token created in the page. */
let created: string;

beforeAll(async () => {
	s = await startSuite();
	s.remember('listed secret value', VALUE);
	const made = await s.api('POST', '/api/v1/secrets', {
		token: s.tokens.admin,
		body: { name: 'stripe-key', type: 'API_KEY', environment: 'production', value: VALUE },
	});
	expect(made.status).toBe(201);
	page = await s.newPage();
	await signIn(page, s.url, s.tokens.admin);
});

afterAll(() => s?.close());

describe('the Tokens page', () => {
	it('lists the tokens with their role', async () => {
		await page.click(sel('nav-tokens'));
		await page.waitForSelector(sel('token-row', '[data-subject="revealer"]'), { visible: true });
		const subjects = await page.$$eval(sel('token-row'), (rows) =>
			rows.map((r) => r.getAttribute('data-subject')),
		);
		expect(subjects).toEqual(
			expect.arrayContaining(['admin', 'operator', 'viewer', 'user', 'revealer', 'auditor']),
		);
		expect(await checkPage(page, 'tokens')).toEqual([]);
	});

	it('creates a token, shows it once with the n8n credential fields', async () => {
		await page.click(sel('token-create'));
		await page.waitForSelector(sel('token-form-subject'), { visible: true });
		await page.type(sel('token-form-subject'), 'n8n-production');
		await page.select(sel('token-form-role'), 'user');
		expect(await textOf(page, sel('token-form-role-help'))).toContain('secrets:use');
		await page.type(sel('token-form-environments'), 'production');
		await page.$eval(sel('token-form-ttl'), (e) => ((e as HTMLInputElement).value = ''));
		await page.type(sel('token-form-ttl'), '30d');
		expect(await checkPage(page, 'token-create')).toEqual([]);
		await page.click(sel('token-form-submit'));
		created = await textOf(page, sel('token-created-value'));
		s.rememberToken('token created in the page', created);
		expect(created).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
		const fields = await textOf(page, sel('credential-fields'));
		expect(fields).toContain(s.url);
		expect(fields).toContain('production');
		expect(await checkPage(page, 'token-created')).toEqual([]);
	});

	it('"Done" removes the token from the page; the list shows its row', async () => {
		await page.click(sel('token-done'));
		await waitGone(page, sel('token-created-value'));
		expect(await page.content()).not.toContain(created);
		await page.waitForSelector(sel('token-row', '[data-subject="n8n-production"]'), {
			visible: true,
		});
	});

	it('the new token works against the API with its role and limits', async () => {
		const list = await s.api('GET', '/api/v1/secrets', { token: created });
		expect(list.status).toBe(200);
		expect(list.body.items.map((x: { name: string }) => x.name)).toEqual(['stripe-key']);
		const write = await s.api('POST', '/api/v1/secrets', {
			token: created,
			body: { name: 'not-allowed', type: 'API_KEY' },
		});
		expect([write.status, write.body.code]).toEqual([403, 'ACCESS_DENIED']);
	});

	it('revoked in the page: the API, the sign-in form and a live session refuse it', async () => {
		const other = await s.newPage({ isolated: true });
		await signIn(other, s.url, created);
		await other.waitForSelector(sel('secret-row', '[data-name="stripe-key"]'), { visible: true });

		await page.bringToFront();
		await page.click(
			`${sel('token-row', '[data-subject="n8n-production"]')} ${sel('token-revoke')}`,
		);
		await page.waitForSelector(sel('confirm-ok'), { visible: true });
		await page.click(sel('confirm-ok'));
		await page.waitForFunction(
			() =>
				document.querySelector(
					'[data-test="token-row"][data-subject="n8n-production"] [data-test="token-revoke"]',
				) === null,
		);
		expect(await textOf(page, sel('token-row', '[data-subject="n8n-production"]'))).toMatch(
			/revoked/i,
		);

		const api = await s.api('GET', '/api/v1/secrets', { token: created });
		expect([api.status, api.body.code]).toEqual([401, 'TOKEN_REVOKED']);

		// The session signed in with it ends at its next request.
		await other.bringToFront();
		await other.reload({ waitUntil: 'domcontentloaded' });
		await other.waitForSelector(sel('signin-token'), { visible: true });
		expect(await other.$(sel('secret-row'))).toBeNull();

		await other.type(sel('signin-token'), created);
		await other.click(sel('signin-submit'));
		await other.waitForSelector(sel('error'), { visible: true });
		expect(await other.$eval(sel('error'), (e) => e.getAttribute('data-code'))).toBe(
			'TOKEN_REVOKED',
		);
		await other.close();
	});
});

describe('the Audit page', () => {
	beforeAll(async () => {
		await page.click(sel('signout'));
		await signIn(page, s.url, s.tokens.auditor);
	});

	it('lists the events and filters them by action', async () => {
		await page.click(sel('nav-audit'));
		await page.waitForSelector(sel('audit-row'), { visible: true });
		const actions = await page.$$eval(sel('audit-row'), (rows) =>
			rows.map((r) => r.getAttribute('data-action')),
		);
		expect(actions).toEqual(expect.arrayContaining(['create']));
		await page.select(sel('audit-filter-action'), 'create');
		await page.click(sel('audit-apply'));
		await page.waitForFunction(() =>
			Array.from(document.querySelectorAll('[data-test="audit-row"]')).every(
				(r) => r.getAttribute('data-action') === 'create',
			),
		);
		expect(await checkPage(page, 'audit')).toEqual([]);
	});

	it('verifies the chain with one click, saying what it checked', async () => {
		await page.click(sel('audit-verify'));
		await page.waitForSelector(sel('audit-verify-result'), { visible: true });
		expect(await page.$eval(sel('audit-verify-result'), (e) => e.getAttribute('data-ok'))).toBe(
			'true',
		);
		expect(await textOf(page, sel('audit-verify-result'))).toMatch(/events checked/i);
		expect(await checkPage(page, 'audit-verified')).toEqual([]);
	});

	it('is not offered to a viewer', async () => {
		await page.click(sel('signout'));
		await signIn(page, s.url, s.tokens.viewer);
		expect(await page.$(sel('nav-audit'))).toBeNull();
		expect(await page.$(sel('nav-tokens'))).toBeNull();
	});
});

describe('at the end', () => {
	it('no value or token anywhere but the answer that created it', async () => {
		expect(await s.leakCheck()).toEqual([]);
	});
});
