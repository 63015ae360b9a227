/**
 * The leak scanner finds what it claims to: a value written in any of its encodings, at any byte
 * alignment inside a longer blob, is reported with where it was; an allowed place is not.
 */
import { type Place, encodingsOf, isRevealAnswer, scan } from './leak';

const VALUE = 'leak-VALUE-9f8e7d6c5b4a3210';

function blob(text: string | Buffer): Buffer {
	return Buffer.concat([
		Buffer.from('some bytes before '),
		Buffer.from(text),
		Buffer.from(' after'),
	]);
}

describe('the leak scanner', () => {
	const planted: [string, Buffer][] = [
		['raw', blob(VALUE)],
		['json', blob(JSON.stringify({ v: `a"${VALUE}"\n` }))],
		['url', blob(encodeURIComponent(`x ${VALUE}/`))],
		['hex', blob(Buffer.from(VALUE).toString('hex'))],
		['HEX', blob(Buffer.from(VALUE).toString('hex').toUpperCase())],
		['utf16le', blob(Buffer.from(VALUE, 'utf16le'))],
		...[0, 1, 2].flatMap((pad): [string, Buffer][] => [
			[`base64 at ${pad}`, blob(Buffer.from('p'.repeat(pad) + VALUE + 'q').toString('base64'))],
			[
				`base64url at ${pad}`,
				blob(Buffer.from('\xff'.repeat(pad) + VALUE + '\xfe?').toString('base64url')),
			],
		]),
	];

	it.each(planted)('finds it written as %s inside a longer blob', (_label, data) => {
		const hits = scan(new Map([['the value', VALUE]]), [{ where: 'here', data }]);
		expect(hits).toEqual([{ label: 'the value', where: 'here', encoding: expect.any(String) }]);
	});

	it('finds nothing where the value is not, and reports a label, never the value', () => {
		const places: Place[] = [
			{ where: 'a', data: Buffer.from(VALUE.slice(0, -1)) },
			{ where: 'b', data: Buffer.from('unrelated') },
		];
		expect(scan(new Map([['label', VALUE]]), places)).toEqual([]);
		const hit = scan(new Map([['label', VALUE]]), [{ where: 'c', data: Buffer.from(VALUE) }]);
		expect(JSON.stringify(hit)).not.toContain(VALUE);
	});

	it('skips the places allowed for a value (a deliberate reveal answer), and only those', () => {
		const reveal = 'http://127.0.0.1:1/api/v1/secrets/a-b/reveal?env=production';
		expect(isRevealAnswer(reveal)).toBe(true);
		expect(isRevealAnswer('http://127.0.0.1:1/api/v1/secrets/a-b/versions?env=x')).toBe(false);
		const places: Place[] = [
			{ where: 'reveal', url: reveal, data: Buffer.from(`{"value":"${VALUE}"}`) },
			{ where: 'list', url: 'http://127.0.0.1:1/api/v1/secrets', data: Buffer.from(VALUE) },
		];
		const hits = scan(new Map([['v', VALUE]]), places, (_v, p) => isRevealAnswer(p.url));
		expect(hits.map((h) => h.where)).toEqual(['list']);
	});

	it('searches at least raw, base64, base64url, URL, JSON, hex and UTF-16 forms', () => {
		const kinds = new Set(
			encodingsOf('a value >>>??? with "quotes" & spaces/+').map((e) => e.encoding),
		);
		for (const k of ['raw', 'base64', 'base64url', 'url', 'json', 'hex', 'utf16le'])
			expect(kinds).toContain(k);
	});
});
