/**
 * Hash routes: `#/secrets`, `#/secrets/<name>`, `#/tokens`, `#/audit`. A route holds names only,
 * never anything secret.
 */

export type Route =
	| { view: 'secrets' }
	| { view: 'secret'; name: string }
	| { view: 'tokens' }
	| { view: 'audit' }
	| { view: 'missing'; path: string };

const NAME = /^[A-Za-z0-9_-]{1,128}$/;

export function parseRoute(hash = location.hash): Route {
	const path = hash.replace(/^#/, '') || '/secrets';
	const parts = path.split('/').filter(Boolean);
	if (parts.length === 1 && parts[0] === 'secrets') return { view: 'secrets' };
	if (parts.length === 2 && parts[0] === 'secrets') {
		const name = safeDecode(parts[1]);
		if (name !== null && NAME.test(name)) return { view: 'secret', name };
	}
	if (parts.length === 1 && parts[0] === 'tokens') return { view: 'tokens' };
	if (parts.length === 1 && parts[0] === 'audit') return { view: 'audit' };
	return { view: 'missing', path };
}

function safeDecode(s: string): string | null {
	try {
		return decodeURIComponent(s);
	} catch {
		return null;
	}
}

export const hrefOf = {
	secrets: () => '#/secrets',
	secret: (name: string) => `#/secrets/${encodeURIComponent(name)}`,
	tokens: () => '#/tokens',
	audit: () => '#/audit',
};

export function navigate(href: string): void {
	if (location.hash === href) window.dispatchEvent(new HashChangeEvent('hashchange'));
	else location.hash = href;
}

/**
 * What the next view should do on arrival (open the edit dialog, jump to the change log), handed
 * over in memory because it is not worth a URL.
 */
let intent: string | null = null;
export function setIntent(value: string | null): void {
	intent = value;
}
export function takeIntent(): string | null {
	const value = intent;
	intent = null;
	return value;
}
