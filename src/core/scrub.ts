/**
 * Scrubbing resolved secret values out of whatever a node hands back: output items, echoed request
 * headers, error messages, binary bodies. Servers echo what they received in many shapes, so each
 * value is looked for in two ways:
 *
 * - as a set of derived forms (the text itself, its UTF-8 hex in both cases, its base64 and
 *   base64url at each of the three byte alignments a value can have inside a longer blob, its UTF-16
 *   bytes, its form encoding with `+` for spaces; hex, base64 and UTF-16 also of the texts the
 *   package writes a value as in a URL, a form and a JSON body), matched literally;
 * - in decoded views of the text: percent escapes (`%xx` in any case, UTF-8 sequences included),
 *   JSON and JavaScript escapes (`\uXXXX`, `\/`, `\"`, ...) and HTML character references
 *   (`&#65;`, `&#x41;`, `&amp;`, `&lt;`, `&gt;`, `&quot;`, `&apos;`) are decoded, up to
 *   `MAX_DECODE_LAYERS` times, and every form is matched again; a match is mapped back to the
 *   stretch of the original text it came from. So any mix of literal and escaped characters, as
 *   different encoders write them, is found, and so is base64 inside a JSON string with `\/`.
 *
 * Binary data is scrubbed as bytes (a Latin-1 view, one character per byte), so bytes outside a
 * match are kept exactly. The limits of all this (what a hostile upstream can still do) are
 * written down in docs/NODES.md.
 */

import { isSecretsError, SecretsError } from './errors';

export const REDACTED = '[redacted]';

/**
 * Values shorter than this are not registered: a 1 to 3 character value occurs by chance in ordinary
 * text so often that scrubbing it would mangle unrelated output, and it offers little secrecy to hide.
 */
const MIN_LENGTH = 4;

/**
 * The shortest part of a base64 encoding matched on its own (a value inside a longer blob at byte
 * offset 1 or 2, or followed by more data). 6 characters carry 36 bits: a megabyte of unrelated
 * base64 (an image in a JSON answer) holds one of a value's parts by chance about once in 10,000
 * such answers, where 4-character parts (24 bits) would match in every other one and cut the image.
 * Values of 5 bytes or more get all three alignments; a 4-byte value only its whole encoding.
 */
const MIN_BASE64_PART = 6;

/** Escapes inside escapes (a percent-encoded JSON string) are decoded this many layers deep. */
const MAX_DECODE_LAYERS = 3;

/** What is known about one form: whose it is, and how a match of it is widened and replaced. */
interface FormInfo {
	label: string | undefined;
	/** Base64: trailing `=` padding belongs to the match. */
	base64?: boolean;
	/** Base64 part: the character before (after) the part also carries bits of the value. */
	partialLeft?: boolean;
	partialRight?: boolean;
	/**
	 * UTF-16 text: the marker is written in the same encoding, so the text around stays readable.
	 * `trimmed`: the form leaves out the zero high byte at its edge (see `utf16Form`).
	 */
	utf16?: { bigEndian: boolean; trimmed: boolean };
}

type FormShape = Omit<FormInfo, 'label'>;

/** A form as written in a JavaScript string and as bytes (a Latin-1 string, one char per byte). */
interface Form {
	text?: string;
	bytes?: string;
	shape: FormShape;
}

const asLatin1 = (b: Buffer): string => b.toString('latin1');

/**
 * Base64 (standard and URL alphabet) of `utf8` as a whole blob and as the stable part of a longer
 * blob at each byte offset: the characters whose 6 bits all come from the value.
 */
function base64Forms(utf8: Buffer): Form[] {
	const forms: Form[] = [];
	const push = (form: string, shape: FormShape) => {
		forms.push({ text: form, bytes: form, shape: { base64: true, ...shape } });
		const url = form.replace(/\+/g, '-').replace(/\//g, '_');
		if (url !== form) forms.push({ text: url, bytes: url, shape: { base64: true, ...shape } });
	};
	push(utf8.toString('base64').replace(/=+$/, ''), {});
	const bits = utf8.length * 8;
	for (let offset = 0; offset < 3; offset++) {
		const blob = Buffer.concat([Buffer.alloc(offset), utf8]).toString('base64');
		const from = Math.ceil((offset * 8) / 6);
		const to = Math.floor((offset * 8 + bits) / 6);
		const part = blob.slice(from, to);
		if (part.length < MIN_BASE64_PART) continue;
		push(part, {
			partialLeft: (offset * 8) % 6 !== 0,
			partialRight: (offset * 8 + bits) % 6 !== 0,
		});
	}
	return forms;
}

/** How the package's own requests write a value: URL path or query, form body, JSON body. */
function writtenForms(value: string): string[] {
	const forms = [JSON.stringify(value).slice(1, -1)];
	try {
		forms.push(encodeURIComponent(value), new URLSearchParams([['', value]]).toString().slice(1));
	} catch {
		// A lone surrogate cannot be percent-encoded; such a value never goes into a URL.
	}
	return forms;
}

/** Every form of `value` that is matched literally, in the original text and in its decoded views. */
function formsOf(value: string): Form[] {
	const utf8 = Buffer.from(value, 'utf8');
	const bytes = asLatin1(utf8);
	const forms: Form[] = [{ text: value, bytes, shape: {} }];
	// UTF-8 read as Latin-1 by a server that guessed the charset wrong ("pÃ¤ss").
	// In a byte view that is the text written out again as UTF-8.
	if (bytes !== value)
		forms.push({ text: bytes, bytes: asLatin1(Buffer.from(bytes, 'utf8')), shape: {} });
	// Form bodies write a space as `+`; every other character is found through the decoded view.
	if (value.includes(' '))
		forms.push({ text: value.replace(/ /g, '+'), bytes: bytes.replace(/ /g, '+'), shape: {} });
	// Escapes over any of these are peeled off in the decoded views; encodings that are not escapes
	// (hex, base64, UTF-16) are listed for the value itself and for each text the package writes it
	// as: percent-encoded in a URL, form-encoded in a body, JSON-escaped in a JSON body.
	for (const written of new Set([value, ...writtenForms(value)])) {
		const encoded = Buffer.from(written, 'utf8');
		const hex = encoded.toString('hex');
		forms.push({ text: hex, bytes: hex, shape: {} });
		forms.push({ text: hex.toUpperCase(), bytes: hex.toUpperCase(), shape: {} });
		forms.push(...base64Forms(encoded));
		forms.push(utf16Form(written, false), utf16Form(written, true));
	}
	// A value holding escape syntax itself (`a%41b`, `x\ny`) is decoded along with the text around it
	// in the decoded views, so it is looked for there decoded as well. Unless that leaves too little.
	let text: View | undefined = { text: value };
	let byteView: View | undefined = { text: bytes };
	for (let layer = 0; layer < MAX_DECODE_LAYERS; layer++) {
		text = text && decodeLayer(text.text, false);
		byteView = byteView && decodeLayer(byteView.text, true);
		if (text && text.text.length >= MIN_LENGTH) forms.push({ text: text.text, shape: {} });
		if (byteView && byteView.text.length >= MIN_LENGTH)
			forms.push({ bytes: byteView.text, shape: {} });
	}
	return forms;
}

/**
 * UTF-16 bytes of `value`. The zero high byte of an ASCII-range character at the form's outer edge
 * (the last byte in little-endian, the first in big-endian) is left out, together with the same
 * byte of the marker: otherwise, in ASCII-range text where the LE and BE forms both match one byte
 * apart, the merged match would be one byte too long and shift the rest of the text.
 */
function utf16Form(value: string, bigEndian: boolean): Form {
	const le = Buffer.from(value, 'utf16le');
	const bytes = bigEndian ? le.swap16() : le;
	const edge = bigEndian ? 0 : bytes.length - 1;
	const trimmed = bytes[edge] === 0;
	const form = asLatin1(
		trimmed ? bytes.subarray(bigEndian ? 1 : 0, bigEndian ? undefined : -1) : bytes,
	);
	return { text: form, bytes: form, shape: { utf16: { bigEndian, trimmed } } };
}

function escapeRegExp(s: string): string {
	return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Whether the character code is in the base64 or base64url alphabet. */
function isBase64Char(c: number): boolean {
	return (
		(c >= 65 && c <= 90) ||
		(c >= 97 && c <= 122) ||
		(c >= 48 && c <= 57) ||
		c === 43 ||
		c === 47 ||
		c === 45 ||
		c === 95
	);
}

/** A set of forms matched together: one for JavaScript strings, one for bytes. */
class FormSet {
	readonly forms = new Map<string, FormInfo>();
	private pattern: RegExp | null | undefined;

	add(form: string, info: FormInfo): void {
		if (this.forms.has(form)) return;
		this.forms.set(form, info);
		this.pattern = undefined;
	}

	/** One alternation, longest first, so a longer form wins at the same position. */
	compiled(): RegExp | null {
		if (this.pattern === undefined) {
			const alternatives = [...this.forms.keys()]
				.sort((a, b) => b.length - a.length)
				.map(escapeRegExp);
			this.pattern = alternatives.length ? new RegExp(alternatives.join('|'), 'g') : null;
		}
		return this.pattern;
	}
}

/** A stretch of the original text to replace, with the form whose marker replaces it. */
interface Span {
	start: number;
	end: number;
	info: FormInfo;
}

/** A decoded view of a text: character `i` came from `text[start[i]..end[i])` of the original. */
interface View {
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
function decodeLayer(s: string, bytes: boolean): View | undefined {
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
function viewsOf(s: string, bytes: boolean): View[] {
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

/** Own data property, even for a key like `__proto__`, which plain assignment would not create. */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
	Object.defineProperty(target, key, {
		value,
		enumerable: true,
		writable: true,
		configurable: true,
	});
}

/**
 * Collects the secret values a node resolved and removes them, in every registered form, from what
 * it returns. One instance per execution: register each value as it is resolved, scrub on the way out.
 */
export class Scrubber {
	private readonly values = new Set<string>();
	private readonly text = new FormSet();
	private readonly bytes = new FormSet();

	/** Number of distinct values registered (forms not counted). */
	get size(): number {
		return this.values.size;
	}

	/**
	 * Registers a value and its forms. `label` (for example the secret name) shows up in the
	 * replacement as `[redacted:LABEL]`. Values shorter than 4 characters are ignored: see `MIN_LENGTH`.
	 * Register a text composed from a value as well when it is encoded whole: Basic auth encodes
	 * `user:password` in one base64 blob, and registering that text removes the blob, user included.
	 */
	add(value: string, label?: string): void {
		if (value.length < MIN_LENGTH || this.values.has(value)) return;
		this.values.add(value);
		for (const { text, bytes, shape } of formsOf(value)) {
			if (text !== undefined) this.text.add(text, { label, ...shape });
			if (bytes !== undefined) this.bytes.add(bytes, { label, ...shape });
		}
	}

	/** Whether `s` contains any form of any registered value. */
	has(s: string): boolean {
		return this.spans(s, false).length > 0;
	}

	/**
	 * Replaces every form in `s` with `[redacted]` or `[redacted:LABEL]`. Where matches overlap or
	 * touch (one value's tail is another's head) the whole stretch becomes one marker, so no fragment
	 * of either survives and a body of back-to-back copies does not grow.
	 */
	scrubString(s: string): string {
		return this.replace(s, this.spans(s, false), false);
	}

	/**
	 * Scrubs binary data as bytes: the value's UTF-8, UTF-16LE and UTF-16BE bytes and every text
	 * form, escaped or not. Bytes outside a match are kept exactly; a UTF-16 match is replaced by the
	 * marker in UTF-16. Returns `data` itself when nothing matched, else a copy of the same type.
	 */
	scrubBytes<B extends Uint8Array>(data: B): B {
		const view = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('latin1');
		const spans = this.spans(view, true);
		if (spans.length === 0) return data;
		const scrubbed = Buffer.from(this.replace(view, spans, true), 'latin1');
		return (Buffer.isBuffer(data) ? scrubbed : new Uint8Array(scrubbed)) as B;
	}

	/**
	 * A deep copy of JSON-like data with every string scrubbed, object keys included. Numbers whose
	 * digits contain a registered form become scrubbed strings, since a numeric PIN is still a secret.
	 * Binary data (Buffer, Uint8Array) goes through `scrubBytes`. Dates are kept; other objects are
	 * copied as plain objects of their own enumerable properties, as JSON would. Cycles are preserved.
	 * The walk is iterative: however deep the data, it cannot overflow the stack.
	 */
	scrubDeep<T>(data: T): T {
		const seen = new WeakMap<object, unknown>();
		const pending: Array<[source: object, copy: unknown[] | Record<string, unknown>]> = [];
		const shallow = (value: unknown): unknown => {
			if (typeof value === 'string') return this.scrubString(value);
			if (typeof value === 'number') {
				const digits = String(value);
				return this.has(digits) ? this.scrubString(digits) : value;
			}
			if (typeof value !== 'object' || value === null || value instanceof Date) return value;
			if (seen.has(value)) return seen.get(value);
			if (value instanceof Uint8Array) {
				const out = this.scrubBytes(value);
				seen.set(value, out);
				return out;
			}
			const copy = Array.isArray(value) ? [] : {};
			seen.set(value, copy);
			pending.push([value, copy]);
			return copy;
		};
		const root = shallow(data);
		for (let next = pending.pop(); next; next = pending.pop()) {
			const [source, copy] = next;
			if (Array.isArray(copy)) {
				for (const item of source as unknown[]) copy.push(shallow(item));
			} else {
				for (const [key, item] of Object.entries(source))
					setOwn(copy, this.scrubString(key), shallow(item));
			}
		}
		return root as T;
	}

	/**
	 * A new Error with the message, `stack`, `description` (set by n8n's errors) and the cause's
	 * message scrubbed. A SecretsError stays a SecretsError with its code, so callers can still act
	 * on it.
	 */
	scrubError(err: unknown): Error & { description?: string } {
		const source = err instanceof Error ? err : new Error(String(err));
		const cause =
			source.cause instanceof Error
				? new Error(this.scrubString(source.cause.message))
				: typeof source.cause === 'string'
					? this.scrubString(source.cause)
					: undefined;
		const message = this.scrubString(source.message);
		const copy: Error & { description?: string } = isSecretsError(source)
			? new SecretsError(source.code, message, { cause, details: this.scrubDeep(source.details) })
			: new Error(message, cause === undefined ? undefined : { cause });
		copy.name = source.name;
		if (source.stack !== undefined) copy.stack = this.scrubString(source.stack);
		const description: unknown = (source as { description?: unknown }).description;
		if (typeof description === 'string') copy.description = this.scrubString(description);
		return copy;
	}

	/** The stretches of `s` to replace, sorted and merged, found in `s` and in its decoded views. */
	private spans(s: string, bytes: boolean): Span[] {
		const pattern = (bytes ? this.bytes : this.text).compiled();
		if (!pattern) return [];
		const forms = (bytes ? this.bytes : this.text).forms;
		const found: Span[] = [];
		for (const view of viewsOf(s, bytes)) {
			const { text } = view;
			pattern.lastIndex = 0;
			let match: RegExpExecArray | null;
			while ((match = pattern.exec(text)) !== null) {
				const info = forms.get(match[0])!;
				let a = match.index;
				let b = a + match[0].length;
				if (info.partialLeft && a > 0 && isBase64Char(text.charCodeAt(a - 1))) a--;
				if (info.partialRight && b < text.length && isBase64Char(text.charCodeAt(b))) b++;
				if (info.base64) for (let pad = 0; pad < 2 && text.charCodeAt(b) === 61; pad++) b++;
				const span: Span = view.start
					? { start: view.start[a], end: view.end![b - 1], info }
					: { start: a, end: b, info };
				// Starts never decrease within one view, so merging with the last span is enough.
				const last = found[found.length - 1];
				if (last && span.start >= last.start && span.start <= last.end)
					last.end = Math.max(last.end, span.end);
				else found.push(span);
				// Alternation takes the longest form at a position, but a form starting inside this
				// match can still reach past its end.
				pattern.lastIndex = match.index + 1;
			}
		}
		if (found.length < 2) return found;
		found.sort((x, y) => x.start - y.start || y.end - x.end);
		const merged: Span[] = [found[0]];
		for (const span of found.slice(1)) {
			const last = merged[merged.length - 1];
			if (span.start <= last.end) last.end = Math.max(last.end, span.end);
			else merged.push(span);
		}
		return merged;
	}

	private replace(s: string, spans: Span[], bytes: boolean): string {
		let out = '';
		let copied = 0;
		for (const span of spans) {
			out += s.slice(copied, span.start) + marker(span.info, bytes);
			copied = span.end;
		}
		return out + s.slice(copied);
	}
}

/** The replacement, written as the text around it is: UTF-16 in UTF-16, UTF-8 bytes in bytes. */
function marker(info: FormInfo, bytes: boolean): string {
	const text = info.label ? `[redacted:${info.label}]` : REDACTED;
	if (info.utf16) {
		const { bigEndian, trimmed } = info.utf16;
		const le = Buffer.from(text, 'utf16le');
		const encoded = bigEndian ? le.swap16() : le;
		// The marker is ASCII: its edge byte is zero, like the one the form left out.
		if (!trimmed) return asLatin1(encoded);
		return asLatin1(encoded.subarray(bigEndian ? 1 : 0, bigEndian ? undefined : -1));
	}
	return bytes ? asLatin1(Buffer.from(text, 'utf8')) : text;
}
