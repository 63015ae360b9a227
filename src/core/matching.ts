/** Glob matching for token name patterns and host matching for destination binding. */
import { isIPv6 } from 'node:net';

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

const DEFAULT_PORTS: Record<string, number> = { http: 80, https: 443 };

/**
 * Where a request goes: scheme, host and port. A destination given as a bare host (an older caller)
 * has neither scheme nor port, and so never matches a binding that names one.
 */
export interface Destination {
	scheme?: string;
	host: string;
	port?: number;
}

/** One entry of `allowedHosts`: `*` (any destination), or `[scheme://]host[:port]` with `*.` allowed. */
interface HostPattern {
	any: boolean;
	scheme?: string;
	host: string;
	port?: number;
}

function bracketed(host: string): string {
	return host.includes(':') ? `[${host}]` : host;
}

/**
 * Parses `https://api.example.com:8443`, `api.example.com`, `[::1]:80` or `*.example.com` into its
 * parts; a scheme without a port means that scheme's default port.
 */
function parseHostSpec(text: string): { scheme?: string; host: string; port?: number } {
	let rest = text.trim();
	let scheme: string | undefined;
	const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(rest);
	if (m) {
		scheme = m[1].toLowerCase();
		rest = rest.slice(m[0].length).replace(/\/$/, '');
	}
	let port: number | undefined;
	const withPort = /^(\[[^\]]*\]|[^:]*):(\d{1,5})$/.exec(rest);
	if (withPort) {
		rest = withPort[1];
		port = Number(withPort[2]);
	}
	if (port === undefined && scheme !== undefined) port = DEFAULT_PORTS[scheme];
	let host = normalizeHost(rest);
	// A zone id (`fe80::1%eth0`) names an interface of one machine, not a destination; and `*` stands
	// only for whole leading labels (`*.example.com`): `*.` must not become the match-all `*`.
	const malformed =
		host === '' || host.includes('%') || (host.includes('*') && !/^\*\.[^*]+$/.test(host));
	// IPv6 in the URL parser's own spelling (`::ffff:7f00:1`), so a binding matches what requests carry.
	if (!malformed && isIPv6(host)) host = new URL(`http://[${host}]/`).hostname.slice(1, -1);
	if (
		malformed ||
		(port !== undefined && (port < 1 || port > 65535)) ||
		(host.includes(':') && !isIPv6(host))
	)
		throw new SecretsError(
			'INVALID_INPUT',
			`"${text.slice(0, 300)}" is not a destination: use scheme://host:port, host:port or a host.`,
		);
	return { scheme, host, port };
}

/** Whether `pattern` is an `allowedHosts` entry this module can match against (for the schema). */
export function isHostPattern(pattern: string): boolean {
	try {
		parsePattern(pattern);
		return true;
	} catch {
		return false;
	}
}

function parsePattern(pattern: string): HostPattern {
	if (pattern.trim() === '*') return { any: true, host: '*' };
	return { any: false, ...parseHostSpec(pattern) };
}

/** The canonical text of an `allowedHosts` entry, as stored: lower case, default port made explicit. */
export function normalizeHostPattern(pattern: string): string {
	const p = parsePattern(pattern);
	if (p.any) return '*';
	const host = bracketed(p.host);
	if (p.scheme) return `${p.scheme}://${host}${p.port === undefined ? '' : `:${p.port}`}`;
	return p.port === undefined ? host : `${host}:${p.port}`;
}

/** Parses a destination: `scheme://host[:port]` (preferred) or a bare host. */
export function parseDestination(text: string): Destination {
	return parseHostSpec(text);
}

/** The canonical text of a destination, as audited: `https://api.example.com:443`, or the host. */
export function formatDestination(d: Destination): string {
	const host = bracketed(d.host);
	if (!d.scheme) return d.port === undefined ? host : `${host}:${d.port}`;
	return `${d.scheme}://${host}${d.port === undefined ? '' : `:${d.port}`}`;
}

function hostMatches(host: string, patternHost: string): boolean {
	if (patternHost.startsWith('*.'))
		return host.endsWith(patternHost.slice(1)) && host.length > patternHost.length - 1;
	return host === patternHost;
}

/**
 * Destination binding: `api.stripe.com` matches only that host (any scheme and port);
 * `https://api.stripe.com` only HTTPS on port 443; `api.stripe.com:8443` only that port; `*.stripe.com`
 * any subdomain at any depth but not `stripe.com` itself, which must be listed on its own; `*` any
 * destination (an explicit choice, unlike an empty list). An empty list means unbound.
 */
export function hostAllowed(
	destination: string | Destination,
	allowedHosts: readonly string[],
): boolean {
	if (allowedHosts.length === 0) return true;
	const d = typeof destination === 'string' ? parseDestination(destination) : destination;
	return allowedHosts.some((text) => {
		const p = parsePattern(text);
		if (p.any) return true;
		if (p.scheme !== undefined && p.scheme !== d.scheme) return false;
		if (p.port !== undefined && p.port !== d.port) return false;
		return hostMatches(d.host, p.host);
	});
}

/** Whether the list allows any destination at all (`*`). */
export function allowsAnyHost(allowedHosts: readonly string[]): boolean {
	return allowedHosts.some((h) => h.trim() === '*');
}

/** The host part of an `allowedHosts` entry (`*.example.com` stays a pattern), for host-only checks. */
export function hostOfPattern(pattern: string): string {
	return bracketed(parsePattern(pattern).host);
}

/** A destination that `pattern` allows, for a credential test that has no real request. */
export function sampleDestination(pattern: string): string {
	const p = parsePattern(pattern);
	if (p.any) return 'https://example.com:443';
	const host = p.host.startsWith('*.') ? `check${p.host.slice(1)}` : p.host;
	const scheme = p.scheme ?? (p.port === 80 ? 'http' : 'https');
	return formatDestination({ scheme, host, port: p.port ?? DEFAULT_PORTS[scheme] });
}

/** Where a request to `url` goes: its scheme, host and port (the scheme's default when not given). */
export function destinationOfUrl(url: string, base?: string): Destination {
	let u: URL;
	try {
		u = new URL(url, base);
	} catch {
		throw new SecretsError(
			'INVALID_INPUT',
			`The request URL "${url}" is not a valid absolute URL.`,
		);
	}
	const scheme = u.protocol.replace(/:$/, '').toLowerCase();
	return {
		scheme,
		host: normalizeHost(u.hostname),
		port: u.port ? Number(u.port) : DEFAULT_PORTS[scheme],
	};
}

/** The host a request goes to, from its URL (absolute, or relative to `base`). */
export function hostOfUrl(url: string, base?: string): string {
	return destinationOfUrl(url, base).host;
}
