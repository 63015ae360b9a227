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
import { viewsOf } from './escape-views';
import { type FormInfo, MIN_LENGTH, asLatin1, formsOf } from './scrub-forms';

export const REDACTED = '[redacted]';

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
