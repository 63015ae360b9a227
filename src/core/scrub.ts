/**
 * Scrubbing resolved secret values out of whatever a node hands back: output items, echoed request
 * headers, error messages. Servers echo what they received in many shapes, so each value is also
 * looked for in the encodings an HTTP request or a log line commonly puts it in.
 */

import { isSecretsError, SecretsError } from './errors';

export const REDACTED = '[redacted]';

/**
 * Values shorter than this are not registered: a 1 to 3 character value occurs by chance in ordinary
 * text so often that scrubbing it would mangle unrelated output, and it offers little secrecy to hide.
 */
const MIN_LENGTH = 4;

/** The texts under which `value` can show up in a request, a response or a log line. */
function encodedForms(value: string): string[] {
	const base64 = Buffer.from(value, 'utf8').toString('base64');
	const uri = encodeURIComponent(value);
	return [
		value,
		base64,
		base64.replace(/=+$/, ''),
		Buffer.from(value, 'utf8').toString('base64url'),
		uri,
		// Form bodies come from two encoders in common use that disagree on `!'()~*`: the RFC 1738
		// style of `qs` and the WHATWG style of URLSearchParams. Both write a space as `+`.
		uri.replace(/%20/g, '+'),
		new URLSearchParams([['', value]]).toString().slice(1),
		JSON.stringify(value).slice(1, -1),
		Buffer.from(value, 'utf8').toString('hex'),
	];
}

function escapeRegExp(s: string): string {
	return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
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
	/** Every registered form, with the label of the first value that produced it. */
	private readonly forms = new Map<string, string | undefined>();
	/** Built on first use and dropped by `add`, so registering many values compiles one RegExp. */
	private pattern: RegExp | null | undefined;

	/** Number of distinct values registered (forms not counted). */
	get size(): number {
		return this.values.size;
	}

	/**
	 * Registers a value and its encoded forms. `label` (for example the secret name) shows up in the
	 * replacement as `[redacted:LABEL]`. Values shorter than 4 characters are ignored: see `MIN_LENGTH`.
	 */
	add(value: string, label?: string): void {
		if (value.length < MIN_LENGTH || this.values.has(value)) return;
		this.values.add(value);
		// No encoding shortens text, so every form is at least MIN_LENGTH long too.
		for (const form of encodedForms(value)) {
			if (!this.forms.has(form)) this.forms.set(form, label);
		}
		this.pattern = undefined;
	}

	/** Whether `s` contains any registered form of any registered value. */
	has(s: string): boolean {
		const pattern = this.compiled();
		if (!pattern) return false;
		pattern.lastIndex = 0;
		return pattern.test(s);
	}

	/**
	 * Replaces every registered form in `s` with `[redacted]` or `[redacted:LABEL]`. Where matches
	 * overlap (one value's tail is another's head) the whole overlapping stretch is replaced, so no
	 * fragment of either survives.
	 */
	scrubString(s: string): string {
		const pattern = this.compiled();
		if (!pattern) return s;
		let out = '';
		let copiedTo = 0;
		let run: { start: number; end: number; label: string | undefined } | undefined;
		const flush = (): void => {
			if (!run) return;
			out += s.slice(copiedTo, run.start) + (run.label ? `[redacted:${run.label}]` : REDACTED);
			copiedTo = run.end;
		};
		pattern.lastIndex = 0;
		let match: RegExpExecArray | null;
		while ((match = pattern.exec(s)) !== null) {
			const end = match.index + match[0].length;
			if (run && match.index < run.end) {
				run.end = Math.max(run.end, end);
			} else {
				flush();
				run = { start: match.index, end, label: this.forms.get(match[0]) };
			}
			// Try again one character on: alternation takes the longest form at a position, but a form
			// starting inside this match can still reach past its end.
			pattern.lastIndex = match.index + 1;
		}
		flush();
		return out + s.slice(copiedTo);
	}

	/**
	 * A deep copy of JSON-like data with every string scrubbed, object keys included. Numbers whose
	 * digits contain a registered form become scrubbed strings, since a numeric PIN is still a secret.
	 * Binary data (Buffer, Uint8Array) is replaced by its scrubbed UTF-8 text in the same type when that
	 * text contains a form, and otherwise returned as is, uncopied. Dates are kept; other objects are
	 * copied as plain objects of their own enumerable properties, as JSON would. Cycles are preserved.
	 */
	scrubDeep<T>(data: T): T {
		return this.scrubValue(data, new WeakMap()) as T;
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

	private compiled(): RegExp | null {
		if (this.pattern === undefined) {
			const alternatives = [...this.forms.keys()]
				.sort((a, b) => b.length - a.length)
				.map(escapeRegExp);
			this.pattern = alternatives.length ? new RegExp(alternatives.join('|'), 'g') : null;
		}
		return this.pattern;
	}

	private scrubValue(value: unknown, seen: WeakMap<object, unknown>): unknown {
		if (typeof value === 'string') return this.scrubString(value);
		if (typeof value === 'number') {
			const digits = String(value);
			return this.has(digits) ? this.scrubString(digits) : value;
		}
		if (typeof value !== 'object' || value === null || value instanceof Date) return value;
		if (seen.has(value)) return seen.get(value);
		if (value instanceof Uint8Array) {
			const text = Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('utf8');
			if (!this.has(text)) return value;
			const scrubbed = Buffer.from(this.scrubString(text), 'utf8');
			return Buffer.isBuffer(value) ? scrubbed : new Uint8Array(scrubbed);
		}
		if (Array.isArray(value)) {
			const copy: unknown[] = [];
			seen.set(value, copy);
			for (const item of value) copy.push(this.scrubValue(item, seen));
			return copy;
		}
		const copy: Record<string, unknown> = {};
		seen.set(value, copy);
		for (const [key, item] of Object.entries(value)) {
			setOwn(copy, this.scrubString(key), this.scrubValue(item, seen));
		}
		return copy;
	}
}
