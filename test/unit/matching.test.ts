import {
	allowsAnyHost,
	destinationOfUrl,
	formatDestination,
	globToRegExp,
	hostAllowed,
	hostOfPattern,
	hostOfUrl,
	isHostPattern,
	matchesAnyGlob,
	normalizeHost,
	normalizeHostPattern,
	parseDestination,
	sampleDestination,
} from '../../src/core/matching';

const INVALID_INPUT = expect.objectContaining({ code: 'INVALID_INPUT' });

/** Whether a request to `url` may carry a secret bound to `allowed`. */
const allowedUrl = (url: string, allowed: string[]): boolean =>
	hostAllowed(destinationOfUrl(url), allowed);

/** Every (url, allowed) pair as the table expects it; one failure shows which pair. */
function expectAllowed(pattern: string, yes: string[], no: string[]): void {
	for (const url of yes)
		expect({ pattern, url, ok: allowedUrl(url, [pattern]) }).toEqual({ pattern, url, ok: true });
	for (const url of no)
		expect({ pattern, url, ok: allowedUrl(url, [pattern]) }).toEqual({ pattern, url, ok: false });
}

describe('name globs', () => {
	it('* is any run, ? one character, everything else literal and anchored', () => {
		expect(globToRegExp('stripe-*').test('stripe-live')).toBe(true);
		expect(globToRegExp('stripe-*').test('stripe-')).toBe(true);
		expect(globToRegExp('stripe-*').test('my-stripe-live')).toBe(false);
		expect(globToRegExp('db_?').test('db_1')).toBe(true);
		expect(globToRegExp('db_?').test('db_')).toBe(false);
		expect(globToRegExp('db_?').test('db_12')).toBe(false);
	});

	it('takes regular-expression characters literally (consumer globs may hold them)', () => {
		expect(matchesAnyGlob('svc[1].x', ['svc[1].*'])).toBe(true);
		expect(matchesAnyGlob('svc1-x', ['svc[1].*'])).toBe(false);
		expect(matchesAnyGlob('a+b', ['a+b'])).toBe(true);
		expect(matchesAnyGlob('aab', ['a+b'])).toBe(false);
		expect(matchesAnyGlob('x$', ['x$'])).toBe(true);
		expect(matchesAnyGlob('a|b', ['a|b'])).toBe(true);
		expect(matchesAnyGlob('a', ['a|b'])).toBe(false);
	});

	it('an empty list allows every name; otherwise any pattern may match', () => {
		expect(matchesAnyGlob('anything', [])).toBe(true);
		expect(matchesAnyGlob('b-1', ['a-*', 'b-*'])).toBe(true);
		expect(matchesAnyGlob('c-1', ['a-*', 'b-*'])).toBe(false);
	});

	it('is case-sensitive, as secret names are', () => {
		expect(matchesAnyGlob('Stripe-live', ['stripe-*'])).toBe(false);
	});
});

describe('normalizeHost', () => {
	it.each([
		['API.Example.COM', 'api.example.com'],
		['api.example.com.', 'api.example.com'],
		['  api.example.com  ', 'api.example.com'],
		['[::1]', '::1'],
		['[FE80::1]', 'fe80::1'],
		['example.com..', 'example.com.'],
	])('%j is %j', (host, normal) => {
		expect(normalizeHost(host)).toBe(normal);
	});
});

describe('hostAllowed: host names', () => {
	it('an empty list is unbound; * is any destination', () => {
		expect(allowedUrl('https://anything.example/', [])).toBe(true);
		expect(allowedUrl('http://10.0.0.1:8080/', ['*'])).toBe(true);
		expect(allowedUrl('http://10.0.0.1:8080/', ['api.example.com', ' * '])).toBe(true);
		expect(allowsAnyHost(['api.example.com', '*'])).toBe(true);
		expect(allowsAnyHost(['api.example.com', '*.example.com'])).toBe(false);
		expect(allowsAnyHost([])).toBe(false);
	});

	it('a bare host matches that host on any scheme and port, in any case, with or without a trailing dot', () => {
		expectAllowed(
			'api.example.com',
			[
				'https://api.example.com/v1',
				'http://api.example.com:8080/',
				'https://API.Example.COM/',
				'https://api.example.com./',
				'wss://api.example.com/socket',
			],
			[
				'https://example.com/',
				'https://www.api.example.com/',
				'https://api.example.com.evil.net/',
				'https://api-example.com/',
				'https://apixexample.com/',
				'https://api.example.com../',
			],
		);
		expectAllowed('API.EXAMPLE.COM.', ['https://api.example.com/'], ['https://example.com/']);
	});

	it('does not read the userinfo, fragment or a backslash as the host', () => {
		const stripe = ['api.stripe.com'];
		for (const url of [
			'https://api.stripe.com@evil.example/',
			'https://api.stripe.com:443@evil.example/',
			'https://evil.example#@api.stripe.com',
			'https://evil.example\\@api.stripe.com/',
			'https://evil.example/?@api.stripe.com',
			'https://evil.example/api.stripe.com',
		])
			expect({ url, ok: allowedUrl(url, stripe) }).toEqual({ url, ok: false });
		expect(hostOfUrl('https://user:pw@api.stripe.com/')).toBe('api.stripe.com');
	});

	it('with a scheme, matches only that scheme on its default port or the port given', () => {
		expectAllowed(
			'https://api.example.com',
			['https://api.example.com/', 'https://api.example.com:443/x'],
			['http://api.example.com/', 'http://api.example.com:443/', 'https://api.example.com:8443/'],
		);
		expectAllowed(
			'HTTP://api.example.com',
			['http://api.example.com/', 'http://api.example.com:80/'],
			['https://api.example.com/', 'http://api.example.com:8080/'],
		);
		expectAllowed(
			'https://api.example.com:8443',
			['https://api.example.com:8443/'],
			['https://api.example.com/', 'http://api.example.com:8443/'],
		);
		// An older caller's bare-host destination has no scheme, so it never meets a scheme binding.
		expect(hostAllowed('api.example.com', ['https://api.example.com'])).toBe(false);
		expect(hostAllowed('https://api.example.com', ['api.example.com'])).toBe(true);
	});

	it('with a port and no scheme, matches that port on any scheme', () => {
		expectAllowed(
			'api.example.com:8443',
			['https://api.example.com:8443/', 'http://api.example.com:8443/'],
			['https://api.example.com/', 'https://api.example.com:8444/'],
		);
		expectAllowed('api.example.com:443', ['https://api.example.com/'], ['http://api.example.com/']);
	});

	it('*. matches subdomains at any depth, never the domain itself or a look-alike', () => {
		expectAllowed(
			'*.example.com',
			[
				'https://a.example.com/',
				'https://a.b.c.example.com/',
				'https://A.EXAMPLE.COM./',
				'http://x.example.com:9000/',
			],
			[
				'https://example.com/',
				'https://badexample.com/',
				'https://a.example.com.evil.net/',
				'https://example.com.a.example.org/',
				'https://a.example.co/',
			],
		);
		expectAllowed('https://*.example.com', ['https://a.example.com/'], ['http://a.example.com/']);
		expectAllowed('*.Example.Com.', ['https://a.example.com/'], ['https://example.com/']);
	});
});

describe('hostAllowed: IP addresses', () => {
	it('IPv4 literals match exactly, in the form the URL parser gives', () => {
		expectAllowed(
			'127.0.0.1',
			[
				'http://127.0.0.1/',
				'http://127.0.0.1:8080/',
				// The URL parser reads these as 127.0.0.1 before any binding is checked.
				'http://2130706433/',
				'http://0x7f.1/',
				'http://0177.0.0.1/',
			],
			['http://127.0.0.2/', 'http://[::ffff:127.0.0.1]/', 'http://127.0.0.1.nip.io/'],
		);
		expectAllowed('10.0.0.1:8080', ['http://10.0.0.1:8080/'], ['http://10.0.0.1/']);
	});

	it('IPv6 literals match in any spelling, bracketed or not, with a port only when bracketed', () => {
		for (const pattern of ['[::1]', '::1', '[0:0:0:0:0:0:0:1]', '0000::0001'])
			expectAllowed(
				pattern,
				['http://[::1]/', 'https://[0::1]:8443/'],
				['http://[::2]/', 'http://127.0.0.1/'],
			);
		expectAllowed('[::1]:8080', ['http://[::1]:8080/'], ['http://[::1]/']);
		expectAllowed('http://[2001:DB8::1]', ['http://[2001:db8::1]/'], ['https://[2001:db8::1]/']);
		// Without brackets every colon belongs to the address: "::1:80" is the address ::1:80.
		expect(normalizeHostPattern('::1:80')).toBe('[::1:80]');
	});

	it('stores IPv6 in the URL parser spelling, so the stored pattern still matches', () => {
		expect(normalizeHostPattern('[0:0:0:0:0:0:0:1]:8080')).toBe('[::1]:8080');
		expect(normalizeHostPattern('https://[2001:DB8:0::1]')).toBe('https://[2001:db8::1]:443');
		expect(normalizeHostPattern('[::ffff:10.0.0.1]')).toBe('[::ffff:a00:1]');
		expect(hostAllowed(destinationOfUrl('http://[::ffff:10.0.0.1]/'), ['[::ffff:a00:1]'])).toBe(
			true,
		);
	});
});

describe('hostAllowed: internationalized names', () => {
	it('a punycode binding matches the Unicode name, which the URL parser turns into punycode', () => {
		expect(destinationOfUrl('https://BÜCHER.example/').host).toBe('xn--bcher-kva.example');
		expectAllowed(
			'xn--bcher-kva.example',
			['https://bücher.example/', 'https://BÜCHER.example/', 'https://xn--bcher-kva.example/'],
			['https://bucher.example/', 'https://shop.bücher.example/'],
		);
		expectAllowed(
			'*.xn--bcher-kva.example',
			['https://shop.bücher.example/'],
			['https://bücher.example/'],
		);
	});

	it('reads full-width and ideographic dots in a URL as dots', () => {
		expect(hostOfUrl('https://api\u3002example\uff0ecom/')).toBe('api.example.com');
		expect(allowedUrl('https://api\u3002example\u3002com/', ['api.example.com'])).toBe(true);
	});
});

describe('patterns and destinations', () => {
	it.each(['x.com:0', 'x.com:65536', 'https://x.com:99999', '[::1]:0', 'a:b:c', '[1:2:3]'])(
		'refuses %j with INVALID_INPUT',
		(text) => {
			expect(isHostPattern(text)).toBe(false);
			expect(() => parseDestination(text)).toThrow(INVALID_INPUT);
		},
	);

	it('accepts the port range edges', () => {
		expect(normalizeHostPattern('x.com:1')).toBe('x.com:1');
		expect(normalizeHostPattern('x.com:65535')).toBe('x.com:65535');
	});

	it('formats destinations as audited, and parses them back', () => {
		for (const text of [
			'https://api.example.com:443',
			'http://[::1]:8080',
			'api.example.com',
			'api.example.com:8443',
			'[::1]',
		]) {
			expect(formatDestination(parseDestination(text))).toBe(text);
		}
		expect(formatDestination(destinationOfUrl('HTTPS://API.Example.com/x?y'))).toBe(
			'https://api.example.com:443',
		);
	});

	it('destinationOfUrl takes the default port of the scheme, resolves against a base and refuses junk', () => {
		expect(destinationOfUrl('https://a.example/')).toEqual({
			scheme: 'https',
			host: 'a.example',
			port: 443,
		});
		expect(destinationOfUrl('http://a.example:80/')).toEqual({
			scheme: 'http',
			host: 'a.example',
			port: 80,
		});
		expect(destinationOfUrl('/v1/x', 'https://a.example:8443/base/')).toEqual({
			scheme: 'https',
			host: 'a.example',
			port: 8443,
		});
		for (const url of ['/v1/x', 'not a url', ''])
			expect(() => destinationOfUrl(url)).toThrow(INVALID_INPUT);
	});

	it('hostOfPattern keeps the host part, brackets and wildcard included', () => {
		expect(hostOfPattern('https://api.example.com:8443')).toBe('api.example.com');
		expect(hostOfPattern('*.Example.com')).toBe('*.example.com');
		expect(hostOfPattern('[::1]:8080')).toBe('[::1]');
		expect(hostOfPattern('*')).toBe('*');
	});

	const PATTERNS = [
		'api.example.com',
		'https://api.example.com',
		'http://api.example.com',
		'api.example.com:80',
		'api.example.com:8443',
		'*.example.com',
		'https://*.example.com:8443',
		'[::1]',
		'[::1]:8080',
		'10.0.0.1',
		'*',
	];

	it.each(PATTERNS)('sampleDestination(%j) is a destination the pattern allows', (pattern) => {
		expect(hostAllowed(sampleDestination(pattern), [pattern])).toBe(true);
	});

	it('normalizing a pattern never changes what it allows', () => {
		const destinations = [
			'https://api.example.com:443',
			'http://api.example.com:80',
			'https://api.example.com:8443',
			'https://a.example.com:8443',
			'https://example.com:443',
			'http://[::1]:8080',
			'http://10.0.0.1:80',
			'https://evil.example:443',
		];
		for (const pattern of PATTERNS) {
			const stored = normalizeHostPattern(pattern);
			for (const d of destinations)
				expect({ pattern, d, ok: hostAllowed(d, [stored]) }).toEqual({
					pattern,
					d,
					ok: hostAllowed(d, [pattern]),
				});
		}
	});

	// "*." once normalized to "*" (allowing every destination); a "*" anywhere but a whole leading
	// label is now refused as a pattern, so it cannot be stored at all.
	it('refuses "*." and other partial wildcards instead of widening them to "*"', () => {
		for (const pattern of ['*.', 'api.*.com', '*api.example.com', 'https://*', '*.*.com']) {
			expect(isHostPattern(pattern)).toBe(false);
			expect(() => normalizeHostPattern(pattern)).toThrow(INVALID_INPUT);
		}
		expect(normalizeHostPattern('*')).toBe('*');
		expect(normalizeHostPattern('*.Example.com')).toBe('*.example.com');
	});

	// A zone id ("fe80::1%eth0", which node:net's isIPv6 accepts) names an interface, not a
	// destination; it once made the URL parser throw a bare TypeError (an INTERNAL 500).
	it('refuses an IPv6 zone id with INVALID_INPUT', () => {
		expect(() => parseDestination('fe80::1%eth0')).toThrow(INVALID_INPUT);
	});
});
