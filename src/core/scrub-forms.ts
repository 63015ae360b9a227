/**
 * The forms a secret value is looked for in by the scrubber (see scrub.ts): the text itself, hex,
 * base64 at each byte alignment, UTF-16, and the texts the package writes it as, each with what
 * the scrubber needs to know to widen and replace a match of it.
 */

import { MAX_DECODE_LAYERS, type View, decodeLayer } from './escape-views';

/**
 * Values shorter than this are not registered: a 1 to 3 character value occurs by chance in ordinary
 * text so often that scrubbing it would mangle unrelated output, and it offers little secrecy to hide.
 */
export const MIN_LENGTH = 4;

/**
 * The shortest part of a base64 encoding matched on its own (a value inside a longer blob at byte
 * offset 1 or 2, or followed by more data). 6 characters carry 36 bits: a megabyte of unrelated
 * base64 (an image in a JSON answer) holds one of a value's parts by chance about once in 10,000
 * such answers, where 4-character parts (24 bits) would match in every other one and cut the image.
 * Values of 5 bytes or more get all three alignments; a 4-byte value only its whole encoding.
 */
const MIN_BASE64_PART = 6;

/** What is known about one form: whose it is, and how a match of it is widened and replaced. */
export interface FormInfo {
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

export const asLatin1 = (b: Buffer): string => b.toString('latin1');

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
export function formsOf(value: string): Form[] {
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
