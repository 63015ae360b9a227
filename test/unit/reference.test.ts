import { SecretsError } from '../../src/core/errors';
import type { VersionSelector } from '../../src/core/model';
import {
	findReferences,
	formatReference,
	hasReferences,
	parseReference,
	SECRET_NAME_PATTERN,
	substituteReferences,
	substituteReferencesAsync,
	type SecretReference,
} from '../../src/core/reference';

/** Runs `fn`, expects a SecretsError and returns it so the test can look at code and message. */
function thrown(fn: () => unknown): SecretsError {
	try {
		fn();
	} catch (err) {
		expect(err).toBeInstanceOf(SecretsError);
		return err as SecretsError;
	}
	throw new Error('expected a SecretsError, nothing was thrown');
}

const show = (ref: SecretReference): string =>
	'label' in ref.selector
		? `<${ref.name}@${ref.selector.label}>`
		: `<${ref.name}#${ref.selector.version}>`;

describe('parseReference', () => {
	it('reads a bare name as the current version', () => {
		expect(parseReference('[[secret:stripe-key]]')).toEqual({
			name: 'stripe-key',
			selector: { label: 'current' },
			raw: '[[secret:stripe-key]]',
			start: 0,
			end: 21,
		});
	});

	it.each(['current', 'previous', 'pending'] as const)('reads the pinned label @%s', (label) => {
		const ref = parseReference(`[[secret:DB_PASSWORD@${label}]]`);
		expect(ref.name).toBe('DB_PASSWORD');
		expect(ref.selector).toEqual({ label });
	});

	it('reads #N as an exact version number', () => {
		expect(parseReference('[[secret:api_key#3]]').selector).toEqual({ version: 3 });
		expect(parseReference('[[secret:api_key#120]]').selector).toEqual({ version: 120 });
	});

	it('accepts a name of exactly 128 characters and keeps its case', () => {
		const name = `Ab${'x'.repeat(126)}`;
		expect(parseReference(`[[secret:${name}]]`).name).toBe(name);
	});

	it('rejects an unknown label and lists the labels that exist', () => {
		const err = thrown(() => parseReference('[[secret:stripe-key@latest]]'));
		expect(err.code).toBe('INVALID_INPUT');
		expect(err.message).toContain("'latest'");
		expect(err.message).toContain('@current');
		expect(err.message).toContain('@previous');
		expect(err.message).toContain('@pending');
	});

	it('rejects labels in the wrong case, since labels are exact words', () => {
		expect(thrown(() => parseReference('[[secret:key@Current]]')).code).toBe('INVALID_INPUT');
	});

	it.each(['#0', '#-1', '#01', '#1.5', '#', '#abc', '#99999999999999999999'])(
		'rejects the version %s',
		(suffix) => {
			const err = thrown(() => parseReference(`[[secret:key${suffix}]]`));
			expect(err.code).toBe('INVALID_INPUT');
			expect(err.message).toContain('positive integer');
		},
	);

	it.each(['', 'has space', 'dot.ted', 'slash/name', 'ümlaut', 'x'.repeat(129)])(
		'rejects the name %j',
		(name) => {
			const err = thrown(() => parseReference(`[[secret:${name}]]`));
			expect(err.code).toBe('INVALID_INPUT');
			expect(err.message).toContain('name');
		},
	);

	it('rejects an empty label after @', () => {
		expect(thrown(() => parseReference('[[secret:key@]]')).code).toBe('INVALID_INPUT');
	});

	it('rejects text that is not a reference without echoing it, since it may be anything', () => {
		const err = thrown(() => parseReference('hunter2-plain-value'));
		expect(err.code).toBe('INVALID_INPUT');
		expect(err.message).not.toContain('hunter2');
	});

	it('rejects an unterminated reference and text around a reference', () => {
		expect(thrown(() => parseReference('[[secret:key')).code).toBe('INVALID_INPUT');
		expect(thrown(() => parseReference('[[secret:key]] and more')).code).toBe('INVALID_INPUT');
		expect(thrown(() => parseReference(' [[secret:key]]')).code).toBe('INVALID_INPUT');
	});
});

describe('findReferences', () => {
	it('finds several references in one string with their offsets, in order', () => {
		const text = 'https://x.test/?a=[[secret:a]]&b=[[secret:b@previous]]&c=[[secret:c#2]]';
		const refs = findReferences(text);
		expect(refs.map(show)).toEqual(['<a@current>', '<b@previous>', '<c#2>']);
		for (const ref of refs) expect(text.slice(ref.start, ref.end)).toBe(ref.raw);
		expect(refs[1].raw).toBe('[[secret:b@previous]]');
	});

	it('finds references that touch each other', () => {
		expect(findReferences('[[secret:a]][[secret:b]]').map(show)).toEqual([
			'<a@current>',
			'<b@current>',
		]);
	});

	it('leaves n8n expressions and other bracketed text alone', () => {
		const text = '{{ $json.token }} [[foo]] [secret:x] [[Secret:x]] {{ "[[" + "secret" }}';
		expect(findReferences(text)).toEqual([]);
		expect(hasReferences(text)).toBe(false);
	});

	it('finds a reference sitting next to an n8n expression', () => {
		const refs = findReferences('Bearer {{ $json.prefix }}[[secret:token]]');
		expect(refs.map(show)).toEqual(['<token@current>']);
	});

	it('does not count an escaped reference', () => {
		expect(findReferences('\\[[secret:x]] and [[secret:y]]').map(show)).toEqual(['<y@current>']);
		expect(hasReferences('\\[[secret:x]]')).toBe(false);
	});

	it('does not validate an escaped reference, since it is literal text', () => {
		expect(findReferences('\\[[secret:not a name@latest')).toEqual([]);
	});

	it.each([
		['a bad label', 'Authorization: [[secret:key@latest]]', '[[secret:key@latest]]'],
		['version zero', '{"v":"[[secret:key#0]]"}', '[[secret:key#0]]'],
		['bad name characters', 'x=[[secret:my key]]', '[[secret:my key]]'],
		['an unterminated reference', 'x=[[secret:key', '[[secret:key'],
	])('rejects %s, naming the fragment', (_case, text, fragment) => {
		const err = thrown(() => findReferences(text));
		expect(err.code).toBe('INVALID_INPUT');
		expect(err.message).toContain(fragment);
	});

	it('rejects a malformed reference even when a valid one comes first', () => {
		expect(thrown(() => findReferences('[[secret:ok]] [[secret:bad#0]]')).code).toBe(
			'INVALID_INPUT',
		);
	});

	it('cuts a runaway unterminated fragment short in the message', () => {
		const err = thrown(() => findReferences(`[[secret:${'a'.repeat(5000)}`));
		expect(err.message.length).toBeLessThan(400);
	});

	it('says whether a text has references', () => {
		expect(hasReferences('plain text')).toBe(false);
		expect(hasReferences('key=[[secret:k#1]]')).toBe(true);
	});
});

describe('substituteReferences', () => {
	const resolve = (ref: SecretReference): string => `(${show(ref)})`;

	it('replaces every reference in place', () => {
		expect(substituteReferences('a=[[secret:a]]&b=[[secret:b#4]]!', resolve)).toBe(
			'a=(<a@current>)&b=(<b#4>)!',
		);
	});

	it('returns text without references unchanged', () => {
		const text = '{{ $json.x }} [[foo]] C:\\dir\\file';
		expect(substituteReferences(text, resolve)).toBe(text);
	});

	it('keeps an escaped reference as literal text without the backslash', () => {
		expect(substituteReferences('\\[[secret:x]]', resolve)).toBe('[[secret:x]]');
		expect(substituteReferences('lit \\[[secret:x]] real [[secret:y]]', resolve)).toBe(
			'lit [[secret:x]] real (<y@current>)',
		);
	});

	it('reads a doubled backslash before a reference as one literal backslash', () => {
		expect(substituteReferences('C:\\\\[[secret:dir]]', resolve)).toBe('C:\\(<dir@current>)');
		expect(substituteReferences('\\\\\\[[secret:x]]', resolve)).toBe('\\[[secret:x]]');
	});

	it('pairs up a long run of backslashes before a reference', () => {
		const run = '\\'.repeat(100_001);
		expect(substituteReferences(`${run}[[secret:x]]`, resolve)).toBe(
			`${'\\'.repeat(50_000)}[[secret:x]]`,
		);
	});

	it('leaves backslashes that are not before a reference as they are', () => {
		expect(substituteReferences('a\\b \\[[foo]] \\\\ [[secret:k]]', resolve)).toBe(
			'a\\b \\[[foo]] \\\\ (<k@current>)',
		);
	});

	it('calls resolve for each occurrence with the reference it replaces', () => {
		const seen: string[] = [];
		substituteReferences('[[secret:a]] [[secret:a]]', (ref) => {
			seen.push(`${ref.raw}@${ref.start}`);
			return '';
		});
		expect(seen).toEqual(['[[secret:a]]@0', '[[secret:a]]@13']);
	});

	it('does not call resolve at all when any reference is malformed', () => {
		const calls: string[] = [];
		const err = thrown(() =>
			substituteReferences('[[secret:good]] [[secret:bad@newest]]', (ref) => {
				calls.push(ref.name);
				return 'value';
			}),
		);
		expect(err.code).toBe('INVALID_INPUT');
		expect(calls).toEqual([]);
	});
});

describe('substituteReferencesAsync', () => {
	it('resolves each distinct name and selector once', async () => {
		const calls: string[] = [];
		const out = await substituteReferencesAsync(
			'[[secret:a]] [[secret:a@current]] [[secret:a@previous]] [[secret:b#2]] [[secret:b#2]]',
			async (ref) => {
				calls.push(show(ref));
				return show(ref).toUpperCase();
			},
		);
		expect(calls).toEqual(['<a@current>', '<a@previous>', '<b#2>']);
		expect(out).toBe('<A@CURRENT> <A@CURRENT> <A@PREVIOUS> <B#2> <B#2>');
	});

	it('unescapes escaped references like the synchronous form', async () => {
		const resolve = jest.fn(async () => 'v');
		await expect(substituteReferencesAsync('\\[[secret:x]] [[secret:y]]', resolve)).resolves.toBe(
			'[[secret:x]] v',
		);
		expect(resolve).toHaveBeenCalledTimes(1);
	});

	it('passes a resolver failure through', async () => {
		const failure = new SecretsError('SECRET_NOT_FOUND', 'No secret named missing.');
		await expect(
			substituteReferencesAsync('[[secret:missing]]', () => Promise.reject(failure)),
		).rejects.toBe(failure);
	});

	it('rejects a malformed reference before resolving anything', async () => {
		const resolve = jest.fn(async () => 'v');
		await expect(
			substituteReferencesAsync('[[secret:ok]] [[secret:x#0]]', resolve),
		).rejects.toMatchObject({ code: 'INVALID_INPUT' });
		expect(resolve).not.toHaveBeenCalled();
	});
});

describe('formatReference', () => {
	it('writes the canonical form, leaving out the default @current', () => {
		expect(formatReference('key')).toBe('[[secret:key]]');
		expect(formatReference('key', { label: 'current' })).toBe('[[secret:key]]');
		expect(formatReference('key', { label: 'previous' })).toBe('[[secret:key@previous]]');
		expect(formatReference('key', { label: 'pending' })).toBe('[[secret:key@pending]]');
		expect(formatReference('key', { version: 7 })).toBe('[[secret:key#7]]');
	});

	it.each<[string, VersionSelector]>([
		['Stripe_Key-1', { label: 'current' }],
		['Stripe_Key-1', { label: 'previous' }],
		['Stripe_Key-1', { label: 'pending' }],
		['Stripe_Key-1', { version: 1 }],
		['v2', { version: 42 }],
	])('round-trips %s with %j through parseReference', (name, selector) => {
		const ref = parseReference(formatReference(name, selector));
		expect(ref.name).toBe(name);
		expect(ref.selector).toEqual(selector);
	});

	it('round-trips every valid raw reference to itself after canonicalizing @current', () => {
		for (const raw of ['[[secret:a@previous]]', '[[secret:a#9]]', '[[secret:a]]']) {
			const ref = parseReference(raw);
			expect(formatReference(ref.name, ref.selector)).toBe(raw);
		}
		expect(formatReference('a', parseReference('[[secret:a@current]]').selector)).toBe(
			'[[secret:a]]',
		);
	});

	it('rejects what it could not parse back', () => {
		expect(thrown(() => formatReference('bad name')).code).toBe('INVALID_INPUT');
		expect(thrown(() => formatReference('key', { version: 0 })).code).toBe('INVALID_INPUT');
		expect(thrown(() => formatReference('key', { version: 1.5 })).code).toBe('INVALID_INPUT');
		const label = { label: 'latest' } as unknown as VersionSelector;
		expect(thrown(() => formatReference('key', label)).code).toBe('INVALID_INPUT');
	});
});

describe('SECRET_NAME_PATTERN', () => {
	it('matches the names references accept', () => {
		expect(SECRET_NAME_PATTERN.test('A-z_09')).toBe(true);
		expect(SECRET_NAME_PATTERN.test('a.b')).toBe(false);
		expect(SECRET_NAME_PATTERN.test('')).toBe(false);
	});
});

describe('edge cases', () => {
	it.each([
		'[[secret:key@previous#2]]',
		'[[secret:key#2@previous]]',
		'[[secret:key@@previous]]',
		'[[secret:key##2]]',
		'[[secret:key@ previous]]',
		'[[secret: key]]',
		'[[secret:key ]]',
		'[[secret:key\n]]',
		'[[secret:a]b]]',
		'[[secret:key#+2]]',
		'[[secret:key#2e1]]',
		'[[secret:key#0x10]]',
		'[[secret:key#\u0663]]', // ARABIC-INDIC DIGIT THREE: a digit, but not one a version is written with
	])('rejects %j with INVALID_INPUT', (text) => {
		expect(thrown(() => parseReference(text)).code).toBe('INVALID_INPUT');
		expect(thrown(() => findReferences(`x ${text} y`)).code).toBe('INVALID_INPUT');
	});

	it('accepts the largest safe version number and rejects the next one', () => {
		expect(parseReference('[[secret:key#9007199254740991]]').selector).toEqual({
			version: Number.MAX_SAFE_INTEGER,
		});
		expect(thrown(() => parseReference('[[secret:key#9007199254740992]]')).code).toBe(
			'INVALID_INPUT',
		);
	});

	it('parseReference refuses a nested reference, a stray bracket after it and an escaped one', () => {
		for (const text of ['[[secret:[[secret:x]]]]', '[[secret:a]]]', '\\[[secret:a]]'])
			expect({ text, code: thrown(() => parseReference(text)).code }).toEqual({
				text,
				code: 'INVALID_INPUT',
			});
	});

	it('keeps brackets around a reference as text', () => {
		const refs = findReferences('[[[secret:x]]]');
		expect(refs.map((r) => [r.raw, r.start, r.end])).toEqual([['[[secret:x]]', 1, 13]]);
		expect(substituteReferences('[[[secret:x]]]', () => 'v')).toBe('[v]');
	});

	it('gives offsets into the original text, escapes and backslash pairs included', () => {
		for (const text of [
			'\\[[secret:x]] [[secret:y]]',
			'C:\\\\[[secret:dir]]',
			'\\\\\\\\[[secret:x]] and \\[[secret:z]] then [[secret:w#2]]',
		]) {
			const refs = findReferences(text);
			expect(refs.length).toBeGreaterThan(0);
			for (const ref of refs) expect(text.slice(ref.start, ref.end)).toBe(ref.raw);
		}
	});

	it('quotes only the reference when its body is malformed, not the text before it', () => {
		const err = thrown(() => findReferences('password=hunter2 then [[secret:k#0]]'));
		expect(err.message).toContain('[[secret:k#0]]');
		expect(err.message).not.toContain('hunter2');
	});

	it('leaves a trailing backslash and an escaped opening at the end as text', () => {
		expect(substituteReferences('[[secret:x]]\\', () => 'v')).toBe('v\\');
		expect(substituteReferences('[[secret:a]] \\[[secret:', () => 'v')).toBe('v [[secret:');
		expect(substituteReferences('', () => 'v')).toBe('');
		expect(findReferences('')).toEqual([]);
	});

	it('does not close a reference with brackets split by a line break', () => {
		expect(thrown(() => findReferences('[[secret:a]\n]')).code).toBe('INVALID_INPUT');
	});
});
