/** Driving the Secrets page: its data-test hooks, sign-in, and waiting for what it shows. */
import type { Page } from 'puppeteer-core';

/** `[data-test="x"]`, optionally with more selector after it. */
export const sel = (hook: string, more = ''): string => `[data-test="${hook}"]${more}`;

/**
 * Signs in on the page with an access token, as a person pastes it (signing out first whoever is
 * signed in), and waits for the signed-in layout.
 */
export async function signIn(page: Page, url: string, token: string): Promise<void> {
	await page.goto(`${url}/`, { waitUntil: 'domcontentloaded' });
	const first = await page.waitForSelector(`${sel('signin-token')}, ${sel('signout')}`, {
		visible: true,
	});
	if (await first!.evaluate((e) => e.getAttribute('data-test') === 'signout')) {
		await first!.click();
		await page.waitForSelector(sel('signin-token'), { visible: true });
	}
	await first!.dispose();
	await page.type(sel('signin-token'), token, { delay: 0 });
	await page.click(sel('signin-submit'));
	await page.waitForSelector(sel('signout'), { visible: true });
}

/** Whether the page offers an action: present, visible and enabled (hidden or disabled is not offered). */
export async function offered(page: Page, selector: string): Promise<boolean> {
	const handle = await page.$(selector);
	if (!handle) return false;
	const state = await handle.evaluate((e) => ({
		visible: (e as unknown as { checkVisibility(): boolean }).checkVisibility(),
		disabled:
			(e as unknown as { disabled?: boolean }).disabled === true ||
			e.getAttribute('aria-disabled') === 'true',
	}));
	await handle.dispose();
	return state.visible && !state.disabled;
}

/** Waits until no element matches (an element removed, not only hidden). */
export async function waitGone(page: Page, selector: string, timeout = 10_000): Promise<void> {
	await page.waitForFunction((s: string) => !document.querySelector(s), { timeout }, selector);
}

/** The text of one element, once it is there. */
export async function textOf(page: Page, selector: string): Promise<string> {
	const handle = await page.waitForSelector(selector, { visible: true });
	const text = await handle!.evaluate((e) => (e.textContent ?? '').trim());
	await handle!.dispose();
	return text;
}
