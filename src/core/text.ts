/**
 * What text a store keeps as given: the checks for characters no text field accepts (unpaired
 * surrogates, control characters) and the replacements for text that is recorded whatever it holds.
 */
/**
 * Unpaired UTF-16 surrogates: no UTF-8 encodes them, so a store would keep U+FFFD instead (a value
 * changed without a word) and PostgreSQL refuses some of them in text.
 */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
/** Control characters (Unicode Cc). NUL is refused by PostgreSQL in text; the rest can rewrite a terminal. */
export const CONTROL = /[\u0000-\u001F\u007F-\u009F]/;
export const CONTROL_BUT_TAB_NEWLINE = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F]/;

const FORBIDDEN_ALL = new RegExp(`${CONTROL.source}|${LONE_SURROGATE.source}`, 'g');
const UNSTORABLE_ALL = new RegExp(`\u0000|${LONE_SURROGATE.source}`, 'g');
/** NUL or any surrogate: text without one is storable as it is (the common case, tested first). */
const MAYBE_UNSTORABLE = /[\u0000\uD800-\uDFFF]/;

/** Whether `s` is text every store keeps as given: no unpaired surrogate. */
export function isWellFormedText(s: string): boolean {
	return !LONE_SURROGATE.test(s);
}

/**
 * Whether `s` holds a character no text field accepts: an unpaired surrogate, or a control character
 * (tab and newline allowed with `multiline`).
 */
export function hasForbiddenCharacter(s: string, options: { multiline?: boolean } = {}): boolean {
	return (options.multiline ? CONTROL_BUT_TAB_NEWLINE : CONTROL).test(s) || LONE_SURROGATE.test(s);
}

/** The same characters replaced by U+FFFD: for text that is recorded, not validated (n8n context). */
export function replaceForbiddenCharacters(s: string): string {
	return s.replace(FORBIDDEN_ALL, '\uFFFD');
}

/**
 * `s` as every store keeps it: NUL (PostgreSQL refuses it in text) and unpaired surrogates (no UTF-8
 * encodes them) become U+FFFD. For text that is recorded whatever it holds (the audit trail), so what
 * is hashed is what is stored.
 */
export function toStorableText(s: string): string {
	// On every audited resolution: the regular expressions are built once, and most text has neither.
	return MAYBE_UNSTORABLE.test(s) ? s.replace(UNSTORABLE_ALL, '\uFFFD') : s;
}
