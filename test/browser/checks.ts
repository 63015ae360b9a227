/**
 * Per-page checks of the browser suite: screenshots in both colour schemes (docs/screenshots, the
 * folder the README names) and axe-core's accessibility rules in both schemes.
 *
 * axe is injected with page.evaluate (DevTools' Runtime.evaluate), which the page's CSP does not
 * govern: the page keeps its real CSP during the check (no setBypassCSP anywhere), and an
 * addScriptTag({content}) would be refused by `script-src 'self'`, as it should be.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import type { Page } from 'puppeteer-core';

import { STORE_KIND } from '../helpers/store';

export type Scheme = 'light' | 'dark';
export const SCHEMES: readonly Scheme[] = ['light', 'dark'];

export const SCREENSHOT_DIR = join(__dirname, '..', '..', 'docs', 'screenshots');

const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

export async function useScheme(page: Page, scheme: Scheme): Promise<void> {
	await page.emulateMediaFeatures([{ name: 'prefers-color-scheme', value: scheme }]);
	// Let the restyle land before anything is measured or drawn.
	await page.evaluate('new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))');
}

/**
 * docs/screenshots/<name>-<scheme>.png. Written by the SQLite run only: both stores show the same
 * page, and two projects writing one file at once would tear it.
 */
export async function screenshot(page: Page, name: string, scheme: Scheme): Promise<void> {
	if (STORE_KIND !== 'sqlite') return;
	mkdirSync(SCREENSHOT_DIR, { recursive: true });
	await useScheme(page, scheme);
	await page.screenshot({
		path: join(SCREENSHOT_DIR, `${name}-${scheme}.png`) as `${string}.png`,
		fullPage: true,
	});
}

/** One axe finding, as the failure message shows it. */
export interface Violation {
	scheme: Scheme;
	id: string;
	impact: string;
	help: string;
	targets: string[];
}

/** axe's serious and critical violations on the page as it is now, in one colour scheme. */
export async function axe(page: Page, scheme: Scheme): Promise<Violation[]> {
	await useScheme(page, scheme);
	if (!(await page.evaluate('typeof window.axe === "object"'))) await page.evaluate(AXE_SOURCE);
	const found = (await page.evaluate(
		`window.axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations.map((v) => ({
			id: v.id, impact: v.impact, help: v.help,
			targets: v.nodes.slice(0, 5).map((n) => n.target.join(' ')),
		})))`,
	)) as Omit<Violation, 'scheme'>[];
	return found
		.filter((v) => v.impact === 'serious' || v.impact === 'critical')
		.map((v) => ({ scheme, ...v }));
}

/**
 * The page as it is now: screenshots in both schemes, and axe in both (dark mode has its own
 * contrast). Returns the serious/critical violations; the scheme is light again afterwards.
 */
export async function checkPage(page: Page, name: string): Promise<Violation[]> {
	const violations: Violation[] = [];
	for (const scheme of SCHEMES) {
		await screenshot(page, name, scheme);
		violations.push(...(await axe(page, scheme)));
	}
	await useScheme(page, 'light');
	return violations;
}
