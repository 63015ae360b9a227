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

describe('Scrubber.scrubString', () => {
	const utf8 = Buffer.from(SECRET, 'utf8');
	const forms: Array<[string, string]> = [
		['raw', SECRET],
		['base64 with padding', utf8.toString('base64')],
		['base64 without padding', utf8.toString('base64').replace(/=+$/, '')],
		['base64url', utf8.toString('base64url')],
		['encodeURIComponent', encodeURIComponent(SECRET)],
		['form-urlencoded, qs style', encodeURIComponent(SECRET).replace(/%20/g, '+')],
		[
			'form-urlencoded, URLSearchParams style',
			new URLSearchParams({ v: SECRET }).toString().slice(2),
		],
		['JSON-escaped', JSON.stringify(SECRET).slice(1, -1)],
		['hex', utf8.toString('hex')],
	];

	it('uses a value whose forms are all distinct, so each case below tests something', () => {
		expect(new Set(forms.map(([, form]) => form)).size).toBe(forms.length);
		expect(utf8.toString('base64')).toMatch(/[+/].*=$/);
	});

	it.each(forms)('removes the %s form', (_name, form) => {
		const scrubber = scrubberWith(SECRET);
		expect(scrubber.has(`before ${form} after`)).toBe(true);
		expect(scrubber.scrubString(`before ${form} after`)).toBe(`before ${REDACTED} after`);
	});

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
