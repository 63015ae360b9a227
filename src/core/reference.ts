/**
 * The reference syntax that names a secret inside any text a node sends: `[[secret:NAME]]`,
 * `[[secret:NAME@previous]]` or `[[secret:NAME#3]]`. Double square brackets keep it apart from n8n's
 * `{{ }}` expressions, which n8n evaluates before a node ever sees the text. A reference never names an
 * environment: that comes from the caller's token, so one workflow runs unchanged in every environment.
 */

import { SecretsError } from './errors';
import { VERSION_LABELS, type VersionLabel, type VersionSelector } from './model';

export const SECRET_NAME_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;

/** One reference found in a text; `start`/`end` delimit `raw` in that text (escapes excluded). */
export interface SecretReference {
	name: string;
	selector: VersionSelector;
	raw: string;
	start: number;
	end: number;
}

const OPEN = '[[secret:';
const CLOSE = ']]';
const POSITIVE_INTEGER = /^[1-9][0-9]*$/;
/** Errors quote the offending fragment; a runaway one (no closing brackets) is cut to this length. */
const MAX_QUOTED = 160;

type Segment = { text: string } | { ref: SecretReference };

function quote(fragment: string): string {
	return fragment.length > MAX_QUOTED ? `${fragment.slice(0, MAX_QUOTED)}…` : fragment;
}

function invalid(message: string): SecretsError {
	return new SecretsError('INVALID_INPUT', message);
}

function isLabel(s: string): s is VersionLabel {
	return (VERSION_LABELS as readonly string[]).includes(s);
}

/** Parses the part between `[[secret:` and `]]`; `raw` is only for error messages. */
function parseBody(body: string, raw: string): { name: string; selector: VersionSelector } {
	const cut = body.search(/[@#]/);
	const name = cut === -1 ? body : body.slice(0, cut);
	if (!SECRET_NAME_PATTERN.test(name)) {
		throw invalid(
			`Invalid secret name '${quote(name)}' in reference ${quote(raw)}: a name is 1 to 128 letters, ` +
				`digits, '_' or '-'.`,
		);
	}
	if (cut === -1) return { name, selector: { label: 'current' } };
	const suffix = body.slice(cut + 1);
	if (body[cut] === '@') {
		if (!isLabel(suffix)) {
			throw invalid(
				`Unknown version label '${quote(suffix)}' in reference ${quote(raw)}: use one of ` +
					`${VERSION_LABELS.map((l) => `@${l}`).join(', ')}, or #N for an exact version number.`,
			);
		}
		return { name, selector: { label: suffix } };
	}
	const version = Number(suffix);
	if (!POSITIVE_INTEGER.test(suffix) || !Number.isSafeInteger(version)) {
		throw invalid(
			`Invalid version '${quote(suffix)}' in reference ${quote(raw)}: a version number is a ` +
				`positive integer such as #1, without leading zeros.`,
		);
	}
	return { name, selector: { version } };
}

/**
 * Splits text into literal runs and references. Escapes are resolved here so that every consumer
 * agrees on them: in a run of backslashes right before `[[secret:`, each pair stands for one literal
 * backslash, and an odd one left over makes the opening literal text. Backslashes anywhere else are
 * ordinary characters. A malformed reference throws instead of being sent on as literal text, where it
 * would fail far from its cause, or worse, be accepted by the other side.
 */
function tokenize(text: string): Segment[] {
	const segments: Segment[] = [];
	let literalFrom = 0;
	let start: number;
	while ((start = text.indexOf(OPEN, literalFrom)) !== -1) {
		// Counting backwards, rather than matching /\\*\[\[/, stays linear on long backslash runs.
		let slashStart = start;
		while (slashStart > literalFrom && text[slashStart - 1] === '\\') slashStart--;
		const slashes = start - slashStart;
		const literal = text.slice(literalFrom, slashStart) + '\\'.repeat(Math.floor(slashes / 2));
		if (slashes % 2 === 1) {
			segments.push({ text: literal + OPEN });
			literalFrom = start + OPEN.length;
			continue;
		}
		const close = text.indexOf(CLOSE, start + OPEN.length);
		if (close === -1) {
			throw invalid(
				`Unterminated secret reference ${quote(text.slice(start))}: close it with ']]', or write ` +
					`'\\[[secret:' to send the text literally.`,
			);
		}
		const end = close + CLOSE.length;
		const raw = text.slice(start, end);
		const { name, selector } = parseBody(text.slice(start + OPEN.length, close), raw);
		if (literal) segments.push({ text: literal });
		segments.push({ ref: { name, selector, raw, start, end } });
		literalFrom = end;
	}
	if (literalFrom < text.length) segments.push({ text: text.slice(literalFrom) });
	return segments;
}

function selectorKey(ref: SecretReference): string {
	return 'label' in ref.selector
		? `${ref.name}@${ref.selector.label}`
		: `${ref.name}#${ref.selector.version}`;
}

/**
 * Parses a string that is exactly one reference, such as `[[secret:stripe-key@previous]]`.
 *
 * @throws SecretsError `INVALID_INPUT` when the string is anything else; the message says what is wrong.
 */
export function parseReference(text: string): SecretReference {
	// The input may be any field a user filled in, so it is quoted only once it looks like a reference.
	if (!text.startsWith(OPEN)) {
		throw invalid(
			'Not a secret reference: expected [[secret:NAME]], [[secret:NAME@LABEL]] or [[secret:NAME#N]].',
		);
	}
	const close = text.indexOf(CLOSE, OPEN.length);
	if (close === -1) {
		throw invalid(`Unterminated secret reference ${quote(text)}: close it with ']]'.`);
	}
	if (close + CLOSE.length !== text.length) {
		throw invalid(`Expected exactly one secret reference, got ${quote(text)}.`);
	}
	const { name, selector } = parseBody(text.slice(OPEN.length, close), text);
	return { name, selector, raw: text, start: 0, end: text.length };
}

/**
 * Every unescaped reference in `text`, in order of appearance.
 *
 * @throws SecretsError `INVALID_INPUT` naming the fragment when something opens with `[[secret:` but is
 * not a valid reference.
 */
export function findReferences(text: string): SecretReference[] {
	return tokenize(text).flatMap((s) => ('ref' in s ? [s.ref] : []));
}

/**
 * Whether `text` contains at least one unescaped reference, i.e. whether it needs secrets. Escaped
 * openings still need {@link substituteReferences} to drop their backslash, so do not use this to
 * decide whether to substitute.
 *
 * @throws SecretsError `INVALID_INPUT` for a malformed reference, like {@link findReferences}.
 */
export function hasReferences(text: string): boolean {
	return tokenize(text).some((s) => 'ref' in s);
}

/**
 * Replaces every reference with `resolve(ref)` and unescapes escaped openings.
 *
 * @throws SecretsError `INVALID_INPUT` for a malformed reference, before `resolve` is called at all.
 */
export function substituteReferences(
	text: string,
	resolve: (ref: SecretReference) => string,
): string {
	return tokenize(text)
		.map((s) => ('ref' in s ? resolve(s.ref) : s.text))
		.join('');
}

/**
 * Like {@link substituteReferences}, but `resolve` is asynchronous and is called once per distinct
 * name and selector, so a secret used twice in one text is fetched (and audited) once. `NAME` and
 * `NAME@current` are the same selector.
 */
export async function substituteReferencesAsync(
	text: string,
	resolve: (ref: SecretReference) => Promise<string>,
): Promise<string> {
	const calls = new Map<string, Promise<string>>();
	const parts = tokenize(text).map((s) => {
		if (!('ref' in s)) return s.text;
		const key = selectorKey(s.ref);
		let value = calls.get(key);
		if (!value) {
			value = resolve(s.ref);
			calls.set(key, value);
		}
		return value;
	});
	return (await Promise.all(parts)).join('');
}

/**
 * Writes the canonical reference for a name and selector; `@current` is left out because it is the
 * default. `parseReference(formatReference(name, selector))` gives back the same name and selector.
 *
 * @throws SecretsError `INVALID_INPUT` for a bad name, label or version number.
 */
export function formatReference(name: string, selector?: VersionSelector): string {
	if (!SECRET_NAME_PATTERN.test(name)) {
		throw invalid(
			`Invalid secret name '${quote(name)}': a name is 1 to 128 letters, digits, '_' or '-'.`,
		);
	}
	if (!selector) return `${OPEN}${name}${CLOSE}`;
	if ('label' in selector) {
		if (!isLabel(selector.label)) {
			throw invalid(
				`Unknown version label '${quote(String(selector.label))}': use one of ${VERSION_LABELS.join(', ')}.`,
			);
		}
		const suffix = selector.label === 'current' ? '' : `@${selector.label}`;
		return `${OPEN}${name}${suffix}${CLOSE}`;
	}
	if (!Number.isSafeInteger(selector.version) || selector.version < 1) {
		throw invalid(
			`Invalid version ${String(selector.version)}: a version number is a positive integer.`,
		);
	}
	return `${OPEN}${name}#${selector.version}${CLOSE}`;
}
