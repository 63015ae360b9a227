/**
 * Per-page checks of the browser suite: screenshots in both colour schemes (`screenshots/` at the
 * project's root, the folder the README names; not committed, as each run's differ) and axe-core's
 * accessibility rules in both schemes.
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

export const SCREENSHOT_DIR = join(__dirname, '..', '..', 'screenshots');

const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

export async function useScheme(page: Page, scheme: Scheme): Promise<void> {
	await page.emulateMediaFeatures([{ name: 'prefers-color-scheme', value: scheme }]);
	// Let the restyle land, and the colour transitions it starts end, before anything is measured or
	// drawn: axe would otherwise judge the contrast of colours half-way between the two schemes.
	await page.evaluate('new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))');
	await page.waitForFunction(
		() =>
			document
				.getAnimations()
				.every((a) => !(a instanceof CSSTransition) || a.playState === 'finished'),
		{ timeout: 5_000 },
	);
}

/**
 * screenshots/<name>-<scheme>.png, as a person sees the page: toasts dismissed, and the window
 * as tall as the page (a full-page capture of a taller page would cut the sidebar and a dialog's
 * backdrop at the first screen); with a dialog open, the window as it is. Written by the SQLite run
 * only: both stores show the same page, and two projects writing one file at once would tear it.
 */
export async function screenshot(page: Page, name: string, scheme: Scheme): Promise<void> {
	if (STORE_KIND !== 'sqlite') return;
	mkdirSync(SCREENSHOT_DIR, { recursive: true });
	await page.$$eval('[data-test="toast"] button', (buttons) =>
		buttons.forEach((b) => (b as HTMLButtonElement).click()),
	);
	await useScheme(page, scheme);
	const viewport = page.viewport()!;
	const dialog = await page.$('[aria-modal="true"]');
	const height = (await page.evaluate('document.documentElement.scrollHeight')) as number;
	if (!dialog && height > viewport.height) await page.setViewport({ ...viewport, height });
	await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}-${scheme}.png`) as `${string}.png` });
	await dialog?.dispose();
	if (page.viewport()!.height !== viewport.height) await page.setViewport(viewport);
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
 * The page as it is now: axe in both schemes (dark mode has its own contrast), then screenshots in
 * both. Returns the serious/critical violations; the scheme is light again afterwards.
 */
export async function checkPage(page: Page, name: string): Promise<Violation[]> {
	const violations: Violation[] = [];
	for (const scheme of SCHEMES) violations.push(...(await axe(page, scheme)));
	for (const scheme of SCHEMES) await screenshot(page, name, scheme);
	await useScheme(page, 'light');
	return violations;
}
