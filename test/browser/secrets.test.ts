/**
 * The Secrets page's main flows in a real Chromium against a real serve: store a secret typed and
 * generated, search, filter, sort; rotate, roll back, stage and promote with the change log showing
 * each step; reveal refused for a user and shown then removed for a revealer; delete, restore and
 * purge. Screenshots and axe on each page; the leak check at the end.
 */
import type { Page } from 'puppeteer-core';

import { checkPage } from './checks';
import { offered, sel, signIn, textOf, waitGone } from './driving';
import { type Suite, startSuite } from './harness';

const TYPED = 'typed-VALUE-5b0e2c9d7a1f4386';
const STAGED = 'staged-VALUE-c3a9e17f02d84b65';
const SEEDED: Record<string, string> = {
	'billing-db': 'seeded-VALUE-billing-8e41f0a2',
	'slack-webhook': 'seeded-VALUE-slack-2c7d95b1',
	'expiring-cert-key': 'seeded-VALUE-expiring-61af3e08',
};

let s: Suite;
let page: Page;

beforeAll(async () => {
	s = await startSuite();
	s.remember('typed first value', TYPED);
	s.remember('staged value', STAGED);
	const seed = async (body: Record<string, unknown>) => {
		s.remember(`${body.name} seeded value`, String(body.value));
		const r = await s.api('POST', '/api/v1/secrets', { token: s.tokens.admin, body });
		expect(r.status).toBe(201);
	};
	await seed({
		name: 'billing-db',
		type: 'PASSWORD',
		environment: 'staging',
		value: SEEDED['billing-db'],
		description: 'Postgres for the Billing service',
		tags: ['db', 'team:finance'],
	});
	await seed({
		name: 'slack-webhook',
		type: 'WEBHOOK_SECRET',
		environment: 'production',
		value: SEEDED['slack-webhook'],
		description: 'Alerts channel',
		tags: ['chatops'],
	});
	await seed({
		name: 'expiring-cert-key',
		type: 'API_KEY',
		environment: 'production',
		value: SEEDED['expiring-cert-key'],
		description: 'Partner API, renewed yearly',
		expiresAt: new Date(Date.now() + 5 * 86_400_000).toISOString(),
	});
	page = await s.newPage();
});

afterAll(() => s?.close());

/** The names of the list's rows, in order, once they settle on `expected`. */
async function waitRows(expected: string[]): Promise<void> {
	await page
		.waitForFunction(
			(want: string) =>
				JSON.stringify(
					Array.from(document.querySelectorAll('[data-test="secret-row"]')).map((r) =>
						r.getAttribute('data-name'),
					),
				) === want,
			{ timeout: 10_000 },
			JSON.stringify(expected),
		)
		.catch(async () => {
			const got = await page.$$eval(sel('secret-row'), (rows) =>
				rows.map((r) => r.getAttribute('data-name')),
			);
			throw new Error(
				`the list shows ${JSON.stringify(got)}, expected ${JSON.stringify(expected)}`,
			);
		});
}

async function openSecret(name: string): Promise<void> {
	await page.goto(`${s.url}/#/secrets/${name}`);
	await page.waitForSelector(sel('secret-name'), { visible: true });
	await page.waitForSelector(sel('versions-table'), { visible: true });
}

/** Clicks an action, confirms in the dialog (with a reason when given) and waits for its toast. */
async function confirmAction(action: string, reason?: string): Promise<string> {
	await page.click(sel(action));
	await page.waitForSelector(sel('confirm-dialog'), { visible: true });
	if (reason) await page.type(`${sel('confirm-dialog')} textarea`, reason);
	await page.click(sel('confirm-ok'));
	await waitGone(page, sel('confirm-dialog'));
	return textOf(page, sel('toast', ':last-child'));
}

async function labels(env: string): Promise<Record<string, string[]>> {
	return page.$$eval(`${sel('env-section', `[data-env="${env}"]`)} ${sel('version-row')}`, (rows) =>
		Object.fromEntries(
			rows.map((r) => [
				r.getAttribute('data-version'),
				Array.from(r.querySelectorAll('[data-label]')).map(
					(b) => b.getAttribute('data-label') ?? '',
				),
			]),
		),
	);
}

describe('storing secrets', () => {
	it('signs in as an admin and lists the seeded secrets by name', async () => {
		await signIn(page, s.url, s.tokens.admin);
		await waitRows(['billing-db', 'expiring-cert-key', 'slack-webhook']);
	});

	it('Store New Secret: the name is checked as it is typed, the value is masked', async () => {
		await page.click(sel('new-secret'));
		await page.waitForSelector(sel('secret-form-name'), { visible: true });
		await page.type(sel('secret-form-name'), 'stripe live');
		await page.waitForSelector(`${sel('secret-form-name')}[aria-invalid="true"]`);
		await page.$eval(sel('secret-form-name'), (e) => ((e as HTMLInputElement).value = ''));
		await page.type(sel('secret-form-name'), 'stripe-live-key');
		await page.waitForSelector(`${sel('secret-form-name')}:not([aria-invalid="true"])`);
		await page.select(sel('secret-form-type'), 'API_KEY');
		await page.type(sel('secret-form-description'), 'Stripe live key for payments');
		await page.type(sel('secret-form-tags'), 'team:payments, stripe');
		await page.type(sel('secret-form-hosts'), 'api.stripe.com');
		await page.type(sel('secret-form-value'), TYPED);
		expect(await page.$eval(sel('secret-form-value'), (e) => e.getAttribute('type'))).toBe(
			'password',
		);
		expect(
			await page.$eval(sel('secret-form-value'), (e) => e.getAttribute('autocomplete')),
		).toMatch(/off|new-password/);
		expect(await checkPage(page, 'new-secret')).toEqual([]);
	});

	it('saves it, opens its page, and the value is nowhere in the page', async () => {
		await page.click(sel('secret-form-save'));
		await page.waitForSelector(sel('secret-name'), { visible: true });
		expect(await textOf(page, sel('secret-name'))).toBe('stripe-live-key');
		expect(page.url()).toMatch(/#\/secrets\/stripe-live-key$/);
		expect(await textOf(page, sel('toast'))).toMatch(/not be shown again/i);
		expect(await page.$(sel('secret-form-value'))).toBeNull();
		expect(await page.content()).not.toContain(TYPED);
		await page.waitForSelector(sel('version-row', '[data-version="1"]'));
		expect(await labels('production')).toEqual({ '1': ['current'] });
	});

	it('generates a value in the store: the browser never sees it', async () => {
		await page.goto(`${s.url}/#/secrets`);
		await page.waitForSelector(sel('new-secret'), { visible: true });
		await page.click(sel('new-secret'));
		await page.waitForSelector(sel('secret-form-name'), { visible: true });
		await page.type(sel('secret-form-name'), 'github-token');
		await page.type(sel('secret-form-description'), 'CI bot token');
		await page.click(sel('secret-form-generate'));
		await page.waitForSelector(sel('secret-form-length'), { visible: true });
		await page.click(sel('secret-form-save'));
		await page.waitForSelector(sel('secret-name'), { visible: true });
		expect(await textOf(page, sel('secret-name'))).toBe('github-token');
		await s.harvest(['github-token']);
		const generated = s.values.get('github-token production v1');
		expect(generated).toMatch(/^[A-Za-z0-9]{32}$/);
		expect(await page.content()).not.toContain(generated);
	});
});

describe('finding secrets', () => {
	beforeAll(async () => {
		await page.goto(`${s.url}/#/secrets`);
		await waitRows([
			'billing-db',
			'expiring-cert-key',
			'github-token',
			'slack-webhook',
			'stripe-live-key',
		]);
	});

	it.each([
		['a description substring', 'billing serv', ['billing-db']],
		['a tag substring', 'payments', ['stripe-live-key']],
		['the middle of a name', 'live', ['stripe-live-key']],
		['any case', 'ALERTS', ['slack-webhook']],
		['nothing', 'no-such-thing', []],
	])('searches as you type: %s', async (_label, text, expected) => {
		await page.$eval(sel('search'), (e) => ((e as HTMLInputElement).value = ''));
		await page.type(sel('search'), text);
		await waitRows(expected);
		if (expected.length === 0) expect(await textOf(page, sel('empty'))).toContain(text);
	});

	it('clears the search', async () => {
		await page.$eval(sel('search'), (e) => ((e as HTMLInputElement).value = ''));
		await page.type(sel('search'), 'x');
		await page.keyboard.press('Backspace');
		await waitRows([
			'billing-db',
			'expiring-cert-key',
			'github-token',
			'slack-webhook',
			'stripe-live-key',
		]);
		expect(await checkPage(page, 'secrets')).toEqual([]);
	});

	it.each([
		['filter-type', 'PASSWORD', ['billing-db']],
		['filter-type', '', null],
		['filter-env', 'staging', ['billing-db']],
		['filter-env', '', null],
		['filter-status', 'expiring', ['expiring-cert-key']],
		['filter-status', '', null],
		[
			'sort',
			'-name',
			['stripe-live-key', 'slack-webhook', 'github-token', 'expiring-cert-key', 'billing-db'],
		],
		[
			'sort',
			'-createdAt',
			['github-token', 'stripe-live-key', 'expiring-cert-key', 'slack-webhook', 'billing-db'],
		],
		['sort', 'name', null],
	])('%s = "%s"', async (hook, value, expected) => {
		await page.waitForSelector(`${sel(hook)} option[value="${value}"]`);
		await page.select(sel(hook), value);
		await waitRows(
			expected ?? [
				'billing-db',
				'expiring-cert-key',
				'github-token',
				'slack-webhook',
				'stripe-live-key',
			],
		);
	});
});

describe("a secret's value line", () => {
	beforeAll(() => openSecret('stripe-live-key'));

	it('rotates: the store makes v2 current, v1 previous', async () => {
		expect(await confirmAction('action-rotate', 'quarterly rotation')).toMatch(/v2/);
		await page.waitForSelector(sel('version-row', '[data-version="2"]'));
		expect(await labels('production')).toEqual({ '2': ['current'], '1': ['previous'] });
	});

	it('rolls back to v1', async () => {
		expect(await confirmAction('action-rollback', 'the new key broke checkout')).toMatch(/v1/);
		await page.waitForFunction(
			() => document.querySelector('[data-version="1"] [data-label="current"]') !== null,
		);
	});

	it('stages a typed value as pending, then promotes it', async () => {
		await page.click(sel('action-stage'));
		await page.waitForSelector(sel('value-dialog'), { visible: true });
		await page.type(sel('secret-form-value'), STAGED);
		await page.click(sel('value-form-save'));
		await waitGone(page, sel('value-dialog'));
		await page.waitForSelector(sel('version-row', '[data-version="3"] [data-label="pending"]'));
		await page.waitForSelector(sel('action-promote'), { visible: true });
		expect(await confirmAction('action-promote')).toMatch(/v3/);
		await page.waitForSelector(sel('version-row', '[data-version="3"] [data-label="current"]'));
		expect(await page.content()).not.toContain(STAGED);
	});

	it('the change log shows each step, newest first, with its reason and never a value', async () => {
		await page.reload({ waitUntil: 'domcontentloaded' });
		await page.waitForSelector(sel('changelog-row'));
		const rows = await page.$$eval(sel('changelog-row'), (rs) =>
			rs.map((r) => [r.getAttribute('data-action'), (r.textContent ?? '').replace(/\s+/g, ' ')]),
		);
		expect(rows.map((r) => r[0])).toEqual(['promote', 'stage', 'rollback', 'rotate', 'create']);
		expect(rows[2][1]).toContain('the new key broke checkout');
		expect(rows[3][1]).toContain('quarterly rotation');
		expect(JSON.stringify(rows)).not.toContain(TYPED);
		expect(await checkPage(page, 'secret')).toEqual([]);
	});
});

describe('reveal', () => {
	it('is not offered to a user, and the API refuses the session naming the permission', async () => {
		await signIn(page, s.url, s.tokens.user);
		await openSecret('stripe-live-key');
		expect(await offered(page, sel('reveal'))).toBe(false);
		expect(await page.$eval(sel('env-section'), (e) => e.textContent)).toContain('secrets:reveal');
		const refused = await page.evaluate(async () => {
			const session = await (await fetch('/api/v1/session')).json();
			const r = await fetch('/api/v1/secrets/stripe-live-key/reveal?env=production', {
				method: 'POST',
				headers: { 'content-type': 'application/json', 'x-csrf-token': session.csrfToken },
				body: '{}',
			});
			return { status: r.status, body: await r.json() };
		});
		expect(refused.status).toBe(403);
		expect(refused.body.code).toBe('ACCESS_DENIED');
		expect(refused.body.message).toContain('secrets:reveal');
		await page.click(sel('signout'));
	});

	it('shows a revealer the value after a confirmation, then removes it from the DOM', async () => {
		await signIn(page, s.url, s.tokens.revealer);
		await openSecret('stripe-live-key');
		await page.click(sel('reveal'));
		await page.waitForSelector(sel('reveal-confirm'), { visible: true });
		await page.click(sel('reveal-confirm'));
		const shown = await textOf(page, sel('revealed-value'));
		expect(shown).toBe(STAGED);
		s.revealed.add(STAGED);
		expect(await checkPage(page, 'reveal')).toEqual([]);
		// It hides by itself after a few seconds: the text is gone from the DOM, not only hidden.
		await waitGone(page, sel('revealed-value'), 15_000);
		expect(await page.content()).not.toContain(STAGED);
		expect(await page.evaluate(() => document.body.innerText)).not.toContain(STAGED);
		await page.click(sel('signout'));
	});
});

describe('delete, restore and purge', () => {
	beforeAll(async () => {
		// Deleted and purged secrets can no longer be read for the leak check's list.
		await s.harvest();
		await signIn(page, s.url, s.tokens.admin);
	});

	it('deletes softly, showing the recovery window, and restores', async () => {
		await openSecret('slack-webhook');
		await page.click(sel('delete'));
		await page.waitForSelector(sel('confirm-dialog'), { visible: true });
		expect(await textOf(page, sel('confirm-dialog'))).toMatch(/30 days/);
		await page.click(sel('confirm-ok'));
		await page.waitForSelector(sel('deleted-banner'), { visible: true });
		expect(await textOf(page, sel('deleted-banner'))).toMatch(/restorable until/i);
		expect(await checkPage(page, 'secret-deleted')).toEqual([]);
		await page.click(sel('restore'));
		await waitGone(page, sel('deleted-banner'));
		await page.waitForSelector(sel('delete'), { visible: true });
	});

	it('lists deleted secrets under the "deleted" status only', async () => {
		await confirmAction('delete');
		await page.waitForSelector(sel('deleted-banner'), { visible: true });
		await page.goto(`${s.url}/#/secrets`);
		await waitRows(['billing-db', 'expiring-cert-key', 'github-token', 'stripe-live-key']);
		await page.select(sel('filter-status'), 'deleted');
		await waitRows(['slack-webhook']);
		await page.select(sel('filter-status'), '');
	});

	it('purges only once the name is typed', async () => {
		await openSecret('slack-webhook');
		await page.click(sel('purge'));
		await page.waitForSelector(sel('purge-confirm-name'), { visible: true });
		expect(await offered(page, sel('confirm-ok'))).toBe(false);
		await page.type(sel('purge-confirm-name'), 'slack-webhoo');
		expect(await offered(page, sel('confirm-ok'))).toBe(false);
		await page.type(sel('purge-confirm-name'), 'k');
		expect(await offered(page, sel('confirm-ok'))).toBe(true);
		await page.click(sel('confirm-ok'));
		await page.waitForFunction(() => location.hash === '#/secrets');
		const gone = await s.api('GET', '/api/v1/secrets/slack-webhook', { token: s.tokens.admin });
		expect(gone.status).toBe(404);
	});
});

describe('at the end', () => {
	it('no value anywhere but the reveal answer: logs, store files, profile, answers, URLs, DOM', async () => {
		expect(await s.leakCheck()).toEqual([]);
	});
});
