import { createHash } from 'node:crypto';

import { SecretsError } from '../../src/core/errors';
import { REDACTED, Scrubber } from '../../src/core/scrub';

// Chosen so that every encoding differs from the raw text and from each other: a space, quotes,
// characters that URL encoders disagree on, and a length that leaves base64 padding with `+` and `/`.
const SECRET = 'p@ss w"rd\\?~!>';

function scrubberWith(...values: string[]): Scrubber {
	const scrubber = new Scrubber();
	for (const value of values) scrubber.add(value);
	return scrubber;
}

/**
 * Values for the encoding table: ASCII with a space, quotes and characters URL encoders disagree on;
 * non-ASCII (two- and three-byte UTF-8); and the characters that are themselves escape syntax.
 */
const VALUES: Array<[string, string]> = [
	['ASCII with space and quotes', SECRET],
	['non-ASCII', 'pässwörd-€'],
	['escape characters', `a/b+c=d%e&f"g'h<i>`],
	['escape syntax itself', `x%41\\u0042&amp;\\n'"<y`],
];

const hex2 = (b: number, upper: boolean) => {
	const h = b.toString(16).padStart(2, '0');
	return upper ? h.toUpperCase() : h;
};
const unit4 = (u: number, upper: boolean) => {
	const h = u.toString(16).padStart(4, '0');
	return upper ? h.toUpperCase() : h;
};
const utf8 = (v: string) => Buffer.from(v, 'utf8');
const utf16Units = (v: string) => Array.from({ length: v.length }, (_, i) => v.charCodeAt(i));

/**
 * Encodings written here independently of the scrubber, as the encoders upstreams use write them.
 * Each must disappear whole: `before X after` becomes `before [redacted] after`.
 */
const ENCODINGS: Array<[string, (v: string) => string]> = [
	['raw', (v) => v],
	['base64, padded', (v) => utf8(v).toString('base64')],
	['base64, unpadded', (v) => utf8(v).toString('base64').replace(/=+$/, '')],
	['base64url', (v) => utf8(v).toString('base64url')],
	[
		'base64url, padded',
		(v) =>
			utf8(v)
				.toString('base64url')
				.padEnd(Math.ceil(utf8(v).length / 3) * 4, '='),
	],
	['hex, lower case', (v) => utf8(v).toString('hex')],
	['hex, upper case', (v) => utf8(v).toString('hex').toUpperCase()],
	['encodeURIComponent', (v) => encodeURIComponent(v)],
	[
		'encodeURIComponent, lower-case escapes',
		(v) => encodeURIComponent(v).replace(/%[0-9A-F]{2}/g, (e) => e.toLowerCase()),
	],
	['WHATWG form (URLSearchParams)', (v) => new URLSearchParams({ k: v }).toString().slice(2)],
	['form, qs style', (v) => encodeURIComponent(v).replace(/%20/g, '+')],
	[
		'RFC 3986 strict',
		(v) => encodeURIComponent(v).replace(/[!'()*]/g, (c) => `%${hex2(c.charCodeAt(0), true)}`),
	],
	['every byte %XX', (v) => [...utf8(v)].map((b) => `%${hex2(b, true)}`).join('')],
	['every byte %xx', (v) => [...utf8(v)].map((b) => `%${hex2(b, false)}`).join('')],
	['percent-encoded twice', (v) => encodeURIComponent(encodeURIComponent(v))],
	['JSON string', (v) => JSON.stringify(v).slice(1, -1)],
	['JSON string, / escaped (PHP)', (v) => JSON.stringify(v).slice(1, -1).replace(/\//g, '\\/')],
	[
		'JSON, \\u for every character, upper case',
		(v) =>
			utf16Units(v)
				.map((u) => `\\u${unit4(u, true)}`)
				.join(''),
	],
	[
		'JSON, \\u for every character, lower case',
		(v) =>
			utf16Units(v)
				.map((u) => `\\u${unit4(u, false)}`)
				.join(''),
	],
	[
		'JSON, ASCII only (non-ASCII as \\u)',
		(v) =>
			JSON.stringify(v)
				.slice(1, -1)
				.replace(/[^\x20-\x7e]/g, (c) => `\\u${unit4(c.charCodeAt(0), false)}`),
	],
	[
		'HTML hex references',
		(v) => [...v].map((c) => `&#x${c.codePointAt(0)!.toString(16)};`).join(''),
	],
	[
		'HTML hex references, upper case, leading zeros',
		(v) =>
			[...v]
				.map((c) => `&#X${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')};`)
				.join(''),
	],
	['HTML decimal references', (v) => [...v].map((c) => `&#${c.codePointAt(0)};`).join('')],
	[
		'HTML escaped (named & < > ", numeric \')',
		(v) =>
			v
				.replace(/&/g, '&amp;')
				.replace(/</g, '&lt;')
				.replace(/>/g, '&gt;')
				.replace(/"/g, '&quot;')
				.replace(/'/g, '&#39;'),
	],
	[
		'HTML escaped, &apos;',
		(v) => v.replace(/&/g, '&amp;').replace(/'/g, '&apos;').replace(/"/g, '&quot;'),
	],
	['percent-encoded, then HTML escaped', (v) => encodeURIComponent(v).replace(/%/g, '&#37;')],
	['base64, / escaped (PHP JSON)', (v) => utf8(v).toString('base64').replace(/\//g, '\\/')],
	['base64, percent-encoded (query string)', (v) => encodeURIComponent(utf8(v).toString('base64'))],
	['UTF-8 read as Latin-1', (v) => utf8(v).toString('latin1')],
];

/** Where a node hands text back: each turns `text` into what the output holds after scrubbing. */
const CONTEXTS: Array<[string, (s: Scrubber, text: string) => string]> = [
	['a text body', (s, text) => s.scrubString(text)],
	['a JSON body', (s, text) => JSON.parse(s.scrubString(JSON.stringify({ note: text }))).note],
	[
		'a JSON body with / escaped',
		(s, text) =>
			JSON.parse(s.scrubString(JSON.stringify({ note: text }).replace(/\//g, '\\/'))).note,
	],
	['a header value', (s, text) => s.scrubDeep({ headers: { 'x-echo': text } }).headers['x-echo']],
	['an error message', (s, text) => s.scrubError(new Error(text)).message],
	['a binary body', (s, text) => s.scrubBytes(Buffer.from(text, 'utf8')).toString('utf8')],
];

describe('scrubbing table: every encoding in every place', () => {
	// A row whose encoding leaves this value as it is (Latin-1 of ASCII) would repeat the raw row.
	const cases = VALUES.flatMap(([valueName, value]) =>
		ENCODINGS.filter(([name, encode]) => name === 'raw' || !encode(value).includes(value)).flatMap(
			([encoding, encode]) =>
				CONTEXTS.map(([context, scrub]) => ({
					valueName,
					value,
					encoding,
					encode,
					context,
					scrub,
				})),
		),
	);

	it('uses encodings that each differ from the raw value for some value, so each row tests something', () => {
		for (const [name, encode] of ENCODINGS.slice(1)) {
			expect([name, VALUES.some(([, value]) => !encode(value).includes(value))]).toEqual([
				name,
				true,
			]);
		}
		expect(cases.length).toBeGreaterThan(VALUES.length * CONTEXTS.length * 25);
	});

	it.each(cases)('$encoding of a value ($valueName) in $context', ({ value, encode, scrub }) => {
		const out = scrub(scrubberWith(value), `before ${encode(value)} after`);
		expect(out).toBe(`before ${REDACTED} after`);
	});
});

/**
 * The characters of a base64 blob that carry only bits of the bytes at `from..to`, found without
 * the scrubber's arithmetic: encode the blob again with every other byte inverted, and keep the
 * characters that did not change.
 */
function stablePart(bytes: Buffer, from: number, to: number): { start: number; end: number } {
	const flipped = Buffer.from(bytes.map((b, i) => (i >= from && i < to ? b : ~b & 0xff)));
	const a = bytes.toString('base64');
	const b = flipped.toString('base64');
	let start = -1;
	let end = -1;
	for (let i = 0; i < a.length; i++) {
		if (a[i] === b[i] && a[i] !== '=') {
			if (start < 0) start = i;
			end = i + 1;
		}
	}
	return { start, end };
}

describe('scrubbing table: a value inside a longer base64 blob', () => {
	// Bytes before and after the value: at offset 0, 1 and 2 of a 3-byte group, at the start, in
	// the middle and at the end of the blob.
	const placements: Array<[string, Buffer, Buffer]> = [
		['offset 0, start of blob', Buffer.alloc(0), Buffer.from('-tail!')],
		['offset 1, middle', Buffer.from([0xfb]), Buffer.from('-tail!')],
		['offset 2, middle', Buffer.from([0xfb, 0xff]), Buffer.from('-tail!')],
		['offset 0, middle', Buffer.from([1, 2, 3]), Buffer.from('-tail!')],
		['offset 1, end of blob', Buffer.from([0xfb]), Buffer.alloc(0)],
		['offset 2, end of blob', Buffer.from('{"'), Buffer.alloc(0)],
		['offset 0, end of blob', Buffer.from('abc'), Buffer.alloc(0)],
	];
	const alphabets: Array<[string, (b64: string) => string]> = [
		['base64', (b64) => b64],
		['base64url', (b64) => b64.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')],
	];
	const cases = VALUES.flatMap(([valueName, value]) =>
		placements.flatMap(([placement, before, after]) =>
			alphabets.flatMap(([alphabet, toAlphabet]) =>
				CONTEXTS.map(([context, scrub]) => ({
					valueName,
					value,
					placement,
					before,
					after,
					alphabet,
					toAlphabet,
					context,
					scrub,
				})),
			),
		),
	);

	it.each(cases)(
		'$alphabet, $placement, value ($valueName) in $context',
		({ value, before, after, toAlphabet, scrub }) => {
			const bytes = Buffer.concat([before, utf8(value), after]);
			const blob = toAlphabet(bytes.toString('base64'));
			const { start, end } = stablePart(bytes, before.length, before.length + utf8(value).length);
			expect(end - start).toBeGreaterThanOrEqual(6);

			const out = scrub(scrubberWith(value), `before ${blob} after`);
			const kept = /^before (.*)\[redacted\](.*) after$/s.exec(out);
			expect(kept).not.toBeNull();
			const [, head, tail] = kept!;
			// What stays is the blob's own start and end, and none of the value's characters.
			expect(blob.startsWith(head) && blob.endsWith(tail)).toBe(true);
			expect(head.length).toBeLessThanOrEqual(start);
			expect(blob.length - tail.length).toBeGreaterThanOrEqual(end);
			// No more than the one character each side that mixes the value's bits with others'.
			expect(head.length).toBeGreaterThanOrEqual(Math.max(0, start - 1));
		},
	);
});

describe('scrubbing table: UTF-16 in binary bodies', () => {
	const encodings: Array<[string, (t: string) => Buffer]> = [
		['UTF-16LE', (t) => Buffer.from(t, 'utf16le')],
		['UTF-16BE', (t) => Buffer.from(t, 'utf16le').swap16()],
	];
	const cases = VALUES.flatMap(([valueName, value]) =>
		encodings.map(([encoding, encode]) => ({ valueName, value, encoding, encode })),
	);

	it.each(cases)(
		'$encoding of a value ($valueName), marker written in $encoding',
		({ value, encode }) => {
			// An odd byte in front: UTF-16 text inside a binary file need not start on an even offset.
			const lead = Buffer.from([0x89]);
			const data = Buffer.concat([lead, encode(`before ${value} after`), Buffer.from([0xff, 0])]);
			const out = scrubberWith(value).scrubBytes(data);
			expect(out).toEqual(
				Buffer.concat([lead, encode(`before ${REDACTED} after`), Buffer.from([0xff, 0])]),
			);
		},
	);
});

describe('Basic auth: the whole header blob, for any user name', () => {
	const password = 'hunter2-longer';
	// 'ops:' is 4 bytes and 'svc-user:' 9: the password starts at offset 1 and 0 of a base64 group.
	it.each(['ops', 'svc-user', 'ab', 'ünïcode'])(
		'removes Basic base64(%s:password) whole when user:password is registered',
		(user) => {
			const scrubber = scrubberWith(password, `${user}:${password}`);
			const header = `Basic ${utf8(`${user}:${password}`).toString('base64')}`;
			expect(scrubber.scrubString(`Authorization: ${header};`)).toBe(
				`Authorization: Basic ${REDACTED};`,
			);
			expect(scrubber.scrubDeep({ authorization: header })).toEqual({
				authorization: `Basic ${REDACTED}`,
			});
		},
	);

	it.each(['ops', 'svc-user', 'ab'])(
		'removes the password part of Basic base64(%s:password) even when only the password is registered',
		(user) => {
			const blob = utf8(`${user}:${password}`).toString('base64');
			const out = scrubberWith(password).scrubString(`Basic ${blob}`);
			const head = /^Basic (.*)\[redacted\]$/.exec(out)![1];
			// At most the user's own characters stay.
			expect(blob.startsWith(head)).toBe(true);
			expect(head.length).toBeLessThanOrEqual(Math.ceil(((user.length + 1) * 8) / 6));
		},
	);
});

describe('scrubbing neighbours', () => {
	it('leaves escapes that are not part of a value as they were', () => {
		const value = 'pässwörd-€';
		const pct = [...utf8(value)].map((b) => `%${hex2(b, true)}`).join('');
		const text = `a&amp;b %41 \\u0041 &#x41; ${pct} &lt;tail&gt; \\/`;
		expect(scrubberWith(value).scrubString(text)).toBe(
			`a&amp;b %41 \\u0041 &#x41; ${REDACTED} &lt;tail&gt; \\/`,
		);
	});

	it('finds a value written half literally, half escaped, as hand-made encoders do', () => {
		const value = 'sk_live/abc+def';
		const scrubber = scrubberWith(value);
		for (const mixed of [
			'sk_live%2Fabc%2bdef',
			'sk\\u005flive\\/abc+def',
			'sk_&#108;ive/abc&#x2B;def',
		]) {
			expect(scrubber.scrubString(`[${mixed}]`)).toBe(`[${REDACTED}]`);
		}
	});

	it('does not touch text full of escapes, hex and base64 that hold no value', () => {
		const scrubber = scrubberWith('pässwörd-€', 'sk_live_abcdef', `a/b+c=d%e&f"g'h<i>`);
		const text =
			'&lt;p class=&quot;x&quot;&gt;caf&#233; %C3%A9 \\u00e9 \\/ &amp;&#x26; 0a1b2c3d4e5f ' +
			'aGVsbG8gd29ybGQ= 68656c6c6f %E2%82 &#xD800; \\ud800 &#99999999; %zz';
		expect(scrubber.scrubString(text)).toBe(text);
		expect(scrubber.scrubBytes(Buffer.from(text))).toEqual(Buffer.from(text));
	});

	it('leaves a megabyte of random base64 intact when no value is in it', () => {
		const scrubber = scrubberWith(
			...Array.from({ length: 10 }, (_, i) => `value-${i}-${'x'.repeat(i)}-${i * 7919}`),
		);
		// Deterministic, so a chance match would fail every run rather than one in a thousand.
		const blocks: Buffer[] = [];
		let seed = Buffer.from('seed');
		for (let i = 0; i < 24_000; i++)
			blocks.push((seed = createHash('sha256').update(seed).digest()));
		const blob = Buffer.concat(blocks).toString('base64');
		expect(blob.length).toBeGreaterThan(1_000_000);
		expect(scrubber.scrubString(blob)).toBe(blob);
	});

	it('matches a value inside base64 at offsets 1 and 2 only when its part is 6 characters or more', () => {
		// A 4-byte value leaves parts of 4 or 5 characters: too likely to occur in unrelated base64.
		const inside = (value: string, offset: number) =>
			Buffer.concat([Buffer.alloc(offset, 0xfb), utf8(value), Buffer.from('tail')]).toString(
				'base64',
			);
		for (const offset of [1, 2]) {
			expect(scrubberWith('abcd').has(inside('abcd', offset))).toBe(false);
			expect(scrubberWith('abcde').has(inside('abcde', offset))).toBe(true);
		}
		expect(scrubberWith('abcd').scrubString(utf8('abcd').toString('base64'))).toBe(REDACTED);
	});

	it('collapses back-to-back copies into one marker, so a body of copies does not grow', () => {
		const scrubber = new Scrubber();
		scrubber.add('abcd', 'a-rather-long-secret-name');
		expect(scrubber.scrubString('xabcdabcdabcdy')).toBe('x[redacted:a-rather-long-secret-name]y');
		const body = 'abcd'.repeat(100_000);
		expect(scrubber.scrubString(body)).toBe('[redacted:a-rather-long-secret-name]');
	});

	it('keeps the label of the secret through decoded views and in binary data', () => {
		const scrubber = new Scrubber();
		scrubber.add('sk_live_abc', 'stripe-key');
		expect(scrubber.scrubString('k=sk%5Flive%5Fabc')).toBe('k=[redacted:stripe-key]');
		expect(scrubber.scrubBytes(Buffer.from('&#115;k_live_abc')).toString()).toBe(
			'[redacted:stripe-key]',
		);
	});

	it('scrubs a megabyte with ten values in well under 100 ms, escaped bodies included', () => {
		const values = Array.from({ length: 10 }, (_, i) =>
			createHash('sha256').update(`v${i}`).digest('base64').slice(0, 24),
		);
		const scrubber = scrubberWith(...values);
		const mb = (unit: (i: number) => string) => {
			let text = '';
			for (let i = 0; text.length < 1_000_000; i++) text += unit(i);
			return text;
		};
		const bodies: Array<[string, string]> = [
			['JSON', mb((i) => `{"id":${i},"name":"item ${i}","tags":["a","b"]},`)],
			['HTML', mb((i) => `<p title="&quot;${i}&quot;">caf&#233; &amp; %41 \\u0041</p>`)],
			['all percent-escaped', mb((i) => encodeURIComponent(`ü${i}/€ `))],
			['base64', mb((i) => createHash('sha256').update(String(i)).digest('base64'))],
		];
		for (const [name, body] of bodies) {
			const withValue = `${body}${encodeURIComponent(values[3])}`;
			const best = (run: () => void) => {
				let fastest = Infinity;
				for (let k = 0; k < 3; k++) {
					const started = performance.now();
					run();
					fastest = Math.min(fastest, performance.now() - started);
				}
				return fastest;
			};
			let out = '';
			const asText = best(() => (out = scrubber.scrubString(withValue)));
			expect(out.endsWith(REDACTED)).toBe(true);
			const bytes = Buffer.from(withValue);
			const asBytes = best(() => scrubber.scrubBytes(bytes));
			expect([name, asText < 100, asBytes < 100]).toEqual([name, true, true]);
		}
	});
});

describe('Scrubber.scrubString', () => {
	it('removes a base64 form whole, padding included', () => {
		const padded = Buffer.from('abcde', 'utf8').toString('base64');
		expect(padded.endsWith('=')).toBe(true);
		expect(scrubberWith('abcde').scrubString(`Basic ${padded}`)).toBe(`Basic ${REDACTED}`);
	});

	it('removes basic auth credentials registered as user:password', () => {
		const header = `Basic ${Buffer.from('alice:s3cret!', 'utf8').toString('base64')}`;
		expect(scrubberWith('alice:s3cret!').scrubString(header)).toBe(`Basic ${REDACTED}`);
	});

	it('removes every occurrence, not just the first', () => {
		expect(scrubberWith('tok-123').scrubString('tok-123,tok-123;tok-123')).toBe(
			`${REDACTED},${REDACTED};${REDACTED}`,
		);
	});

	it('names the secret in the replacement when a label was given', () => {
		const scrubber = new Scrubber();
		scrubber.add('sk_live_abc', 'stripe-key');
		scrubber.add('hunter22');
		expect(scrubber.scrubString('key=sk_live_abc pw=hunter22')).toBe(
			'key=[redacted:stripe-key] pw=[redacted]',
		);
		expect(scrubber.scrubString(encodeURIComponent('sk_live_abc'))).toBe('[redacted:stripe-key]');
	});

	it('replaces a value containing another value as a whole, longest first', () => {
		const scrubber = new Scrubber();
		scrubber.add('abcd', 'short');
		scrubber.add('xxabcdyy', 'long');
		expect(scrubber.scrubString('1 xxabcdyy 2 abcd 3')).toBe(
			'1 [redacted:long] 2 [redacted:short] 3',
		);
	});

	it('replaces overlapping values as one stretch so no fragment of either survives', () => {
		const scrubber = scrubberWith('abcdef', 'defghi');
		expect(scrubber.scrubString('<abcdefghi>')).toBe(`<${REDACTED}>`);
		expect(scrubber.scrubString('<defghi-abcdef>')).toBe(`<${REDACTED}-${REDACTED}>`);
	});

	it('treats regular expression characters in a value literally', () => {
		const scrubber = scrubberWith('a.b*c(d)|e');
		expect(scrubber.scrubString('aXbbbc(d)|e and a.b*c(d)|e')).toBe(`aXbbbc(d)|e and ${REDACTED}`);
	});

	it('returns a string with no secret in it unchanged', () => {
		const text = 'nothing to see: {"user":"alice","n":1}';
		expect(scrubberWith('hunter22', 'sk_live_abc').scrubString(text)).toBe(text);
		expect(scrubberWith('hunter22').has(text)).toBe(false);
	});

	it('returns strings unchanged when nothing is registered', () => {
		const scrubber = new Scrubber();
		expect(scrubber.scrubString('anything at all')).toBe('anything at all');
		expect(scrubber.has('anything at all')).toBe(false);
	});

	it('ignores values shorter than 4 characters, which would mangle unrelated text', () => {
		const scrubber = scrubberWith('abc', '', 'x');
		expect(scrubber.size).toBe(0);
		expect(scrubber.scrubString('abcabc x')).toBe('abcabc x');
	});

	it('counts distinct values, not their forms', () => {
		const scrubber = scrubberWith('first-value', 'second value', 'first-value');
		expect(scrubber.size).toBe(2);
	});

	it('picks up values added after it has already scrubbed', () => {
		const scrubber = scrubberWith('first-value');
		expect(scrubber.scrubString('first-value later-value')).toBe(`${REDACTED} later-value`);
		scrubber.add('later-value');
		expect(scrubber.scrubString('first-value later-value')).toBe(`${REDACTED} ${REDACTED}`);
	});

	it('handles many values at once', () => {
		const values = Array.from({ length: 2000 }, (_, i) => `secret-${i}-${'z'.repeat(i % 7)}`);
		const scrubber = scrubberWith(...values);
		const text = values.filter((_, i) => i % 100 === 0).join(' ');
		const scrubbed = scrubber.scrubString(text);
		expect(scrubbed.split(' ').every((part) => part === REDACTED)).toBe(true);
	});
});

describe('Scrubber.scrubDeep', () => {
	it('scrubs strings in nested objects and arrays, keys included, without touching the input', () => {
		const scrubber = scrubberWith('hunter22');
		const input = {
			headers: { authorization: 'Bearer hunter22', 'x-hunter22': 'yes' },
			list: ['a', ['deep hunter22'], { n: 1, ok: true, nothing: null }],
			json: '{"password":"hunter22"}',
		};
		const before = JSON.stringify(input);
		const out = scrubber.scrubDeep(input);
		expect(out).toEqual({
			headers: { authorization: `Bearer ${REDACTED}`, [`x-${REDACTED}`]: 'yes' },
			list: ['a', [`deep ${REDACTED}`], { n: 1, ok: true, nothing: null }],
			json: `{"password":"${REDACTED}"}`,
		});
		expect(JSON.stringify(input)).toBe(before);
		expect(out).not.toBe(input);
		expect(out.list).not.toBe(input.list);
	});

	it('finds a value JSON-escaped inside a serialized body', () => {
		const scrubber = scrubberWith(SECRET);
		const body = JSON.stringify({ password: SECRET });
		expect(scrubber.scrubDeep({ body })).toEqual({ body: `{"password":"${REDACTED}"}` });
	});

	it('keeps data without secrets equal', () => {
		const data = { a: [1, 'two', false, null], b: { c: 'd' } };
		expect(scrubberWith('hunter22').scrubDeep(data)).toEqual(data);
	});

	it('survives cycles and keeps their shape', () => {
		const scrubber = scrubberWith('hunter22');
		const node: Record<string, unknown> = { name: 'hunter22' };
		node.self = node;
		node.list = [node];
		const out = scrubber.scrubDeep(node) as Record<string, unknown>;
		expect(out.name).toBe(REDACTED);
		expect(out.self).toBe(out);
		expect((out.list as unknown[])[0]).toBe(out);
	});

	it('scrubs a numeric secret found as a number', () => {
		const scrubber = scrubberWith('482913');
		expect(scrubber.scrubDeep({ pin: 482913, other: 7 })).toEqual({ pin: REDACTED, other: 7 });
	});

	it('scrubs binary data whose text contains a value and keeps other binary data as is', () => {
		const scrubber = scrubberWith('hunter22');
		const leaky = Buffer.from('pw=hunter22', 'utf8');
		const clean = Buffer.from([0xff, 0x00, 0x10]);
		const view = new Uint8Array(Buffer.from('x hunter22 y', 'utf8'));
		const out = scrubber.scrubDeep({ leaky, clean, view });
		expect(Buffer.isBuffer(out.leaky)).toBe(true);
		expect(out.leaky.toString('utf8')).toBe(`pw=${REDACTED}`);
		expect(out.clean).toBe(clean);
		expect(out.view).toBeInstanceOf(Uint8Array);
		expect(Buffer.from(out.view).toString('utf8')).toBe(`x ${REDACTED} y`);
	});

	it('keeps every byte around a match in binary data, however far from UTF-8', () => {
		const scrubber = scrubberWith('hunter22');
		const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0xc3, 0x28, 0xff]);
		const data = Buffer.concat([png, Buffer.from('hunter22'), png]);
		expect(scrubber.scrubBytes(data)).toEqual(Buffer.concat([png, Buffer.from(REDACTED), png]));
		const view = new Uint8Array(data);
		const out = scrubber.scrubDeep({ view }).view;
		expect(Buffer.isBuffer(out)).toBe(false);
		expect(Buffer.from(out)).toEqual(Buffer.concat([png, Buffer.from(REDACTED), png]));
		expect(scrubber.scrubBytes(png)).toBe(png);
	});

	it('walks data nested 200,000 levels deep without overflowing the stack', () => {
		const scrubber = scrubberWith('hunter22');
		let deep: unknown = { pw: 'hunter22' };
		for (let i = 0; i < 200_000; i++) deep = i % 2 ? [deep] : { next: deep };
		let out = scrubber.scrubDeep(deep) as unknown;
		for (let i = 200_000 - 1; i >= 0; i--)
			out = i % 2 ? (out as unknown[])[0] : (out as { next: unknown }).next;
		expect(out).toEqual({ pw: REDACTED });
	});

	it('keeps a __proto__ key from parsed JSON as a plain property', () => {
		const scrubber = scrubberWith('hunter22');
		const out = scrubber.scrubDeep(JSON.parse('{"__proto__":{"pw":"hunter22"}}')) as object;
		expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
		expect(Object.getOwnPropertyDescriptor(out, '__proto__')?.value).toEqual({ pw: REDACTED });
	});
});

describe('Scrubber.scrubError', () => {
	it('scrubs the message, description, stack and cause of an error', () => {
		const scrubber = new Scrubber();
		scrubber.add('hunter22', 'db');
		const cause = new Error('connect failed for hunter22');
		const err = Object.assign(new Error('Request with hunter22 failed', { cause }), {
			description: 'sent Authorization: hunter22',
		});
		const out = scrubber.scrubError(err);
		expect(out).not.toBe(err);
		expect(out.message).toBe('Request with [redacted:db] failed');
		expect(out.description).toBe('sent Authorization: [redacted:db]');
		expect((out.cause as Error).message).toBe('connect failed for [redacted:db]');
		expect(out.stack).not.toContain('hunter22');
		expect(err.message).toContain('hunter22');
	});

	it('keeps the name of the original error', () => {
		const err = new TypeError('bad hunter22');
		const out = scrubberWith('hunter22').scrubError(err);
		expect(out.name).toBe('TypeError');
		expect(out.message).toBe(`bad ${REDACTED}`);
	});

	it('keeps a SecretsError a SecretsError with its code', () => {
		const err = new SecretsError('DESTINATION_NOT_ALLOWED', 'host of hunter22 not allowed', {
			details: { host: 'hunter22.example' },
		});
		const out = scrubberWith('hunter22').scrubError(err);
		expect(out).toBeInstanceOf(SecretsError);
		expect((out as SecretsError).code).toBe('DESTINATION_NOT_ALLOWED');
		expect(out.message).toBe(`host of ${REDACTED} not allowed`);
		expect((out as SecretsError).details).toEqual({ host: `${REDACTED}.example` });
	});

	it('turns a thrown non-error into an error with a scrubbed message', () => {
		const out = scrubberWith('hunter22').scrubError('failed: hunter22');
		expect(out).toBeInstanceOf(Error);
		expect(out.message).toBe(`failed: ${REDACTED}`);
	});
});
