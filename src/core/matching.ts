/** Glob matching for token name patterns and host matching for destination binding. */
import { SecretsError } from './errors';

const globCache = new Map<string, RegExp>();

/**
 * `*` matches any run of characters and `?` one character; everything else is literal. Secret names
 * cannot contain either character, so there is nothing to escape on the name side.
 */
export function globToRegExp(glob: string): RegExp {
	let re = globCache.get(glob);
	if (!re) {
		const body = glob
			.split('')
			.map((ch) => (ch === '*' ? '.*' : ch === '?' ? '.' : ch.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
			.join('');
		re = new RegExp(`^${body}$`);
		globCache.set(glob, re);
	}
	return re;
}

/** True when `patterns` is empty (no constraint) or any pattern matches `name`. */
export function matchesAnyGlob(name: string, patterns: readonly string[]): boolean {
	return patterns.length === 0 || patterns.some((p) => globToRegExp(p).test(name));
}

/** Lower-cases and strips a trailing dot and IPv6 brackets so `API.Example.com.` equals `api.example.com`. */
export function normalizeHost(host: string): string {
	let h = host.trim().toLowerCase();
	if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
	if (h.endsWith('.')) h = h.slice(0, -1);
	return h;
}

/**
 * Destination binding: `api.stripe.com` matches only itself; `*.stripe.com` matches any subdomain at
 * any depth but not `stripe.com` itself, which must be listed on its own. An empty list means unbound.
 */
export function hostAllowed(host: string, allowedHosts: readonly string[]): boolean {
	if (allowedHosts.length === 0) return true;
	const h = normalizeHost(host);
	return allowedHosts.some((pattern) => {
		const p = normalizeHost(pattern);
		if (p.startsWith('*.')) return h.endsWith(p.slice(1)) && h.length > p.length - 1;
		return h === p;
	});
}

/** The host a request goes to, from its URL (absolute, or relative to `base`). */
export function hostOfUrl(url: string, base?: string): string {
	try {
		return new URL(url, base).hostname;
	} catch {
		throw new SecretsError(
			'INVALID_INPUT',
			`The request URL "${url}" is not a valid absolute URL.`,
		);
	}
}
