import { ALPHABETS, type Alphabet, generateValue } from '../../src/crypto/generate';

const NAMES = Object.keys(ALPHABETS) as Alphabet[];

describe('ALPHABETS', () => {
	it('has the documented sizes and no repeated character (a repeat would bias the draw)', () => {
		expect(Object.fromEntries(NAMES.map((n) => [n, ALPHABETS[n].length]))).toEqual({
			alphanumeric: 62,
			hex: 16,
			base64url: 64,
			'ascii-printable': 90,
		});
		for (const n of NAMES) expect(new Set(ALPHABETS[n]).size).toBe(ALPHABETS[n].length);
	});

	it('keeps quoting and escaping characters and whitespace out of ascii-printable', () => {
		for (const ch of ['"', "'", '`', '\\', ' ', '\t', '\n'])
			expect(ALPHABETS['ascii-printable']).not.toContain(ch);
		for (const ch of ALPHABETS['ascii-printable']) {
			const code = ch.charCodeAt(0);
			expect(code > 32 && code < 127).toBe(true);
		}
	});
});

describe('generateValue', () => {
	it.each(NAMES)('gives exactly the length asked for, from the %s alphabet only', (name) => {
		for (const length of [0, 1, 32, 257]) {
			const value = generateValue(length, name);
			expect(value).toHaveLength(length);
			for (const ch of value) expect(ALPHABETS[name]).toContain(ch);
		}
	});

	it('gives different values each time', () => {
		const values = new Set(Array.from({ length: 20 }, () => generateValue(32, 'alphanumeric')));
		expect(values.size).toBe(20);
	});

	// With n draws per character, a count outside [0.7n, 1.3n] is more than 13 standard deviations
	// away (n = 2000, p = 1/k): a failure here is a bias, never bad luck.
	it.each(NAMES)('uses every character of %s about equally often', (name) => {
		const chars = ALPHABETS[name];
		const perChar = 2000;
		const counts = new Map<string, number>();
		for (const ch of generateValue(chars.length * perChar, name))
			counts.set(ch, (counts.get(ch) ?? 0) + 1);
		expect([...counts.keys()].sort()).toEqual([...chars].sort());
		for (const ch of chars) {
			const n = counts.get(ch)!;
			expect({ ch, ok: n > perChar * 0.7 && n < perChar * 1.3 }).toEqual({ ch, ok: true });
		}
	});
});
