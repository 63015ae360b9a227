import {
	formatDestination,
	hostAllowed,
	isHostPattern,
	normalizeHostPattern,
	parseDestination,
} from '../../src/core/matching';

describe('destinations and allowed-host patterns', () => {
	it.each([
		['https://api.x.com', 'https://api.x.com:443'],
		['HTTPS://API.X.COM./', 'https://api.x.com:443'],
		['api.x.com:8443', 'api.x.com:8443'],
		['[::FFFF:127.0.0.1]', '[::ffff:7f00:1]'],
		['http://[0:0::1]', 'http://[::1]:80'],
		['*.x.com', '*.x.com'],
		['*', '*'],
	])('stores %s as %s', (pattern, stored) => {
		expect(normalizeHostPattern(pattern)).toBe(stored);
	});

	it.each(['x.com:99999', 'x.com:0', '[1:2:3]', 'a:b:c', 'http://127.0.0.1:038661'])(
		'refuses %s with INVALID_INPUT, not a pattern that can never match',
		(text) => {
			expect(isHostPattern(text)).toBe(false);
			expect(() => parseDestination(text)).toThrow(
				expect.objectContaining({ code: 'INVALID_INPUT' }),
			);
		},
	);

	it("matches an IPv6 binding in any spelling against the URL parser's spelling", () => {
		expect(hostAllowed('http://[::ffff:7f00:1]:80', ['[::FFFF:127.0.0.1]'])).toBe(true);
		expect(formatDestination(parseDestination('http://[0:0:0:0:0:0:0:1]:8080'))).toBe(
			'http://[::1]:8080',
		);
	});
});
