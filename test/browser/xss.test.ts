/**
 * Every user-controlled string the page shows is text: markup in a description, an audit reason, a
 * workflow or node name (from n8n's context headers), the search box or the URL's hash renders as
 * the characters it holds, and nothing it holds runs (window.__xss stays undefined, no element it
 * describes exists, and the CSP never had to block anything).
 */
import type { Page } from 'puppeteer-core';

import { checkPage } from './checks';
import { sel, signIn } from './driving';
import { type Suite, startSuite } from './harness';

const PAYLOAD =
	'<img src=x onerror="window.__xss=1"><script>window.__xss=2</script><svg onload="window.__xss=3">';
const NAME = 'xss-target';
const VALUE = 'xss-VALUE-4f1d8b2e6c9a0357';
const WORKFLOW_ID = 'wf-xss-1';

let s: Suite;
let page: Page;

beforeAll(async () => {
	s = await startSuite();
	s.remember(`${NAME} value`, VALUE);
	const made = await s.api('POST', '/api/v1/secrets', {
		token: s.tokens.admin,
		body: {
			name: NAME,
			type: 'API_KEY',
			environment: 'production',
			value: VALUE,
			description: `Description ${PAYLOAD}`,
		},
	});
	expect(made.status).toBe(201);
	const rotated = await s.api('POST', `/api/v1/secrets/${NAME}/rotate?env=production`, {
		token: s.tokens.admin,
		body: { reason: `Reason ${PAYLOAD}` },
	});
	expect(rotated.status).toBe(201);
	// A workflow using the secret, as n8n's runtime sends its context (percent-encoded headers).
	const runtime = await s.mint('runtime', 'n8n-runtime');
	const used = await s.api('POST', `/api/v1/secrets/${NAME}/resolve?env=production`, {
		token: runtime,
		body: {},
		headers: {
			'x-n8n-workflow-id': WORKFLOW_ID,
			'x-n8n-workflow-name': encodeURIComponent(`Workflow ${PAYLOAD}`),
			'x-n8n-execution-id': '4711',
			'x-n8n-node': encodeURIComponent(`Node ${PAYLOAD}`),
			'x-n8n-mode': 'manual',
		},
	});
	expect(used.status).toBe(200);
	page = await s.newPage();
	await signIn(page, s.url, s.tokens.admin);
});

afterAll(() => s?.close());

/** Nothing ran and nothing the payload describes became an element; its text is on the page. */
async function expectInert(visibleText: string): Promise<void> {
	const state = await page.evaluate(() => ({
		xss: (window as unknown as { __xss?: unknown }).__xss,
		injected: document.querySelectorAll('img[src="x"], svg[onload], [onerror], [onload]').length,
		scripts: Array.from(document.scripts).map((x) => x.getAttribute('src')),
		text: document.body.innerText,
	}));
	expect(state.xss).toBeUndefined();
	expect(state.injected).toBe(0);
	expect(state.scripts).toEqual(['/ui/app.js']);
	expect(state.text).toContain(visibleText);
	const blocked = s.recordings
		.flatMap((r) => r.consoleErrors)
		.filter((m) => /Content Security Policy|Refused to/i.test(m));
	expect(blocked).toEqual([]);
}

it('a description in the list', async () => {
	await page.waitForSelector(sel('secret-row', `[data-name="${NAME}"]`), { visible: true });
	await expectInert('Description <img src=x');
});

it("a description, an audit reason, a workflow and a node name on the secret's page", async () => {
	await page.goto(`${s.url}/#/secrets/${NAME}`);
	await page.waitForSelector(sel('secret-description'), { visible: true });
	await page.waitForSelector(sel('changelog-row'), { visible: true });
	await page.waitForSelector(sel('usedby-row'), { visible: true });
	await expectInert('Description <img src=x');
	const reason = await page.$$eval(sel('changelog-row', '[data-action="rotate"]'), (rows) =>
		rows.map((r) => r.textContent ?? ''),
	);
	expect(reason.join('')).toContain('Reason <img src=x onerror="window.__xss=1">');
	const usage = await page.$eval(sel('usedby-row'), (r) => r.textContent ?? '');
	expect(usage).toContain('Workflow <img src=x');
	expect(usage).toContain(WORKFLOW_ID);
	expect(usage).toContain('4711');
	const use = await page.$eval(sel('changelog-row', '[data-action="use"]'), (r) => r.textContent);
	expect(use).toContain('Workflow <img src=x');
	expect(use).toContain('Node <img src=x');
	expect(await checkPage(page, 'secret-usage')).toEqual([]);
});

it('the audit page', async () => {
	await page.goto(`${s.url}/#/audit`);
	await page.waitForSelector(sel('audit-row'), { visible: true });
	await expectInert('Reason <img src=x');
	await expectInert('Workflow <img src=x');
});

it('the search box: markup is searched for as text, and echoed as text in the empty state', async () => {
	await page.goto(`${s.url}/#/secrets`);
	await page.waitForSelector(sel('search'), { visible: true });
	await page.type(sel('search'), PAYLOAD);
	await page.waitForFunction(
		(name: string) =>
			Array.from(document.querySelectorAll('[data-test="secret-row"]'))
				.map((r) => r.getAttribute('data-name'))
				.join() === name,
		{},
		NAME,
	);
	await page.type(sel('search'), ' nothing like it');
	await page.waitForSelector(sel('empty'), { visible: true });
	await expectInert('<svg onload="window.__xss=3"> nothing like it');
	await page.click(sel('clear-search'));
	await page.waitForSelector(sel('secret-row'), { visible: true });
});

it("the URL's hash (a route that does not exist)", async () => {
	await page.goto(`${s.url}/#/${encodeURIComponent(PAYLOAD)}`);
	await page.waitForFunction(() => document.querySelector('main') !== null);
	await page.waitForSelector(sel('signout'), { visible: true });
	await new Promise((r) => setTimeout(r, 300));
	const xss = await page.evaluate(() => (window as unknown as { __xss?: unknown }).__xss);
	expect(xss).toBeUndefined();
	expect(await page.$$('img[src="x"]')).toEqual([]);
});

it('leaves no value anywhere', async () => {
	expect(await s.leakCheck()).toEqual([]);
});
