/**
 * Decoded views of a text for the scrubber: percent escapes (UTF-8 sequences included), JSON and
 * JavaScript escapes and HTML character references are decoded, layer by layer, and every character
 * of a view remembers the stretch of the original text it came from, so a match found in a view is
 * replaced in the original.
 */

/** Escapes inside escapes (a percent-encoded JSON string) are decoded this many layers deep. */
export const MAX_DECODE_LAYERS = 3;

/** A decoded view of a text: character `i` came from `text[start[i]..end[i])` of the original. */
export interface View {
	text: string;
	start?: Int32Array;
	end?: Int32Array;
}

/** JSON's (and JavaScript's) one-character escapes: `\/`, `\"`, `\n`, ... */
const SHORT_ESCAPES = new Map<string, number>([
	['/', 0x2f],
	['"', 0x22],
	['\\', 0x5c],
	["'", 0x27],
	['b', 0x08],
	['f', 0x0c],
	['n', 0x0a],
	['r', 0x0d],
	['t', 0x09],
]);

/** Whether `s` may hold an escape at all: most texts do not, and skip the decoding walk. */
const MAY_ESCAPE = /%[0-9A-Fa-f]{2}|\\[u/"\\'bfnrt]|&#|&(?:amp|lt|gt|quot|apos);/i;

/** The HTML named references decoded: those for the characters HTML escaping itself produces. */
const NAMED_REFERENCES: Array<[name: string, code: number]> = [
	['amp;', 0x26],
	['lt;', 0x3c],
	['gt;', 0x3e],
	['quot;', 0x22],
	['apos;', 0x27],
	['AMP;', 0x26],
	['LT;', 0x3c],
	['GT;', 0x3e],
	['QUOT;', 0x22],
];

function hexDigit(c: number): number {
	if (c >= 48 && c <= 57) return c - 48;
	const lower = c | 0x20;
	return lower >= 97 && lower <= 102 ? lower - 87 : -1;
}

/** The number written with `count` hex digits at `at`, or -1. */
function hexAt(s: string, at: number, count: number): number {
	let v = 0;
	for (let k = 0; k < count; k++) {
		const d = hexDigit(s.charCodeAt(at + k));
		if (d < 0) return -1;
		v = v * 16 + d;
	}
	return v;
}

/** A character reference `&#65;` or `&#x41;` at `at`: its code point and length, or undefined. */
function numericReference(s: string, at: number): { cp: number; length: number } | undefined {
	const isHex = (s.charCodeAt(at + 2) | 0x20) === 0x78;
	let i = at + (isHex ? 3 : 2);
	const first = i;
	let cp = 0;
	for (; i < s.length && i - first < 8; i++) {
		const c = s.charCodeAt(i);
		const d = isHex ? hexDigit(c) : c >= 48 && c <= 57 ? c - 48 : -1;
		if (d < 0) break;
		cp = cp * (isHex ? 16 : 10) + d;
	}
	if (i === first || s.charCodeAt(i) !== 0x3b) return undefined;
	if (cp === 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return undefined;
	return { cp, length: i + 1 - at };
}

/**
 * A UTF-8 character written as `%xx` escapes at `at` (lead byte `lead` already read): its code
 * point and length, or undefined for a lone, overlong or otherwise ill-formed sequence.
 */
function percentSequence(
	s: string,
	at: number,
	lead: number,
): { cp: number; length: number } | undefined {
	const count = lead >= 0xf5 ? 0 : lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc2 ? 2 : 0;
	if (count === 0) return undefined;
	let cp = lead & (0xff >> (count + 1));
	for (let k = 1; k < count; k++) {
		const p = at + 3 * k;
		const b = s.charCodeAt(p) === 0x25 ? hexAt(s, p + 1, 2) : -1;
		if (b < 0 || (b & 0xc0) !== 0x80) return undefined;
		cp = (cp << 6) | (b & 0x3f);
	}
	const overlong = (count === 3 && cp < 0x800) || (count === 4 && cp < 0x10000);
	if (overlong || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return undefined;
	return { cp, length: 3 * count };
}

/**
 * `s` with one layer of escapes decoded, or undefined when it has none: `%xx` (a UTF-8 sequence
 * becomes its character in a string view, each byte a byte in a byte view), `\uXXXX` and the JSON
 * short escapes, and HTML character references. An escape that stands for no character (a lone
 * UTF-8 byte in a string view, a lone surrogate in a byte view) stays as the literal text it is.
 * Linear in `s`; no escape decodes to more characters than it is written with.
 */
export function decodeLayer(s: string, bytes: boolean): View | undefined {
	if (!MAY_ESCAPE.test(s)) return undefined;
	const length = s.length;
	const units = new Uint16Array(length);
	const start = new Int32Array(length);
	const end = new Int32Array(length);
	let n = 0;
	let decodedAny = false;
	const put = (unit: number, from: number, to: number) => {
		units[n] = unit;
		start[n] = from;
		end[n] = to;
		n++;
	};
	// A code point as the view writes it: UTF-8 bytes in a byte view, UTF-16 in a string view.
	const putCodePoint = (cp: number, from: number, to: number) => {
		if (bytes && cp >= 0x80) {
			const count = cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
			const lead = count === 2 ? 0xc0 : count === 3 ? 0xe0 : 0xf0;
			put(lead | (cp >> (6 * (count - 1))), from, to);
			for (let k = count - 2; k >= 0; k--) put(0x80 | ((cp >> (6 * k)) & 0x3f), from, to);
		} else if (cp >= 0x10000) {
			put(0xd800 + ((cp - 0x10000) >> 10), from, to);
			put(0xdc00 + ((cp - 0x10000) & 0x3ff), from, to);
		} else put(cp, from, to);
	};
	// How many characters the escape at `i` takes once decoded into the view, or 0 for none.
	const escapeAt = (i: number, c: number): number => {
		if (c === 0x25) {
			const lead = hexAt(s, i + 1, 2);
			if (lead < 0) return 0;
			if (bytes || lead < 0x80) {
				put(lead, i, i + 3);
				return 3;
			}
			const seq = percentSequence(s, i, lead);
			if (!seq) return 0;
			putCodePoint(seq.cp, i, i + seq.length);
			return seq.length;
		}
		if (c === 0x5c) {
			const next = s[i + 1];
			if (next !== 'u') {
				const code = SHORT_ESCAPES.get(next);
				if (code === undefined) return 0;
				put(code, i, i + 2);
				return 2;
			}
			const unit = hexAt(s, i + 2, 4);
			if (unit < 0) return 0;
			if (!bytes || unit < 0xd800 || unit > 0xdfff) {
				if (bytes) putCodePoint(unit, i, i + 6);
				else put(unit, i, i + 6);
				return 6;
			}
			const low = s.charCodeAt(i + 6) === 0x5c && s[i + 7] === 'u' ? hexAt(s, i + 8, 4) : -1;
			if (unit > 0xdbff || low < 0xdc00 || low > 0xdfff) return 0;
			putCodePoint(0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00), i, i + 12);
			return 12;
		}
		if (s.charCodeAt(i + 1) === 0x23) {
			const ref = numericReference(s, i);
			if (!ref) return 0;
			putCodePoint(ref.cp, i, i + ref.length);
			return ref.length;
		}
		for (const [name, code] of NAMED_REFERENCES) {
			if (s.startsWith(name, i + 1)) {
				put(code, i, i + 1 + name.length);
				return 1 + name.length;
			}
		}
		return 0;
	};
	for (let i = 0; i < length; ) {
		const c = s.charCodeAt(i);
		const taken = c === 0x25 || c === 0x5c || c === 0x26 ? escapeAt(i, c) : 0;
		if (taken > 0) {
			decodedAny = true;
			i += taken;
		} else {
			put(c, i, i + 1);
			i++;
		}
	}
	if (!decodedAny) return undefined;
	let text = '';
	for (let k = 0; k < n; k += 8192)
		text += String.fromCharCode(...units.subarray(k, Math.min(n, k + 8192)));
	return { text, start: start.subarray(0, n), end: end.subarray(0, n) };
}

/** The text itself and its decoded layers, each mapped back to the original. */
export function viewsOf(s: string, bytes: boolean): View[] {
	const views: View[] = [{ text: s }];
	let last: View = views[0];
	for (let layer = 0; layer < MAX_DECODE_LAYERS; layer++) {
		const next = decodeLayer(last.text, bytes);
		if (!next) break;
		if (last.start && last.end) {
			for (let i = 0; i < next.text.length; i++) {
				next.start![i] = last.start[next.start![i]];
				next.end![i] = last.end[next.end![i] - 1];
			}
		}
		views.push(next);
		last = next;
	}
	return views;
}
