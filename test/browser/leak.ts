/**
 * The leak scanner of the browser suite: every secret value (and access token) the suite made, in
 * every form an accidental write would take, searched in every place a value could end up: the
 * server's log, the store's files, the browser's profile on disk, the network answers the page got,
 * the URLs it asked for, and the DOM it shows at the end.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Something to search: where it comes from (reported) and its bytes. */
export interface Place {
	where: string;
	data: Buffer;
	/** A network answer's URL: a deliberate reveal is allowed in the answer of the reveal call only. */
	url?: string;
}

/** One finding: which value (by label, never the value itself), in which encoding, where. */
export interface Hit {
	label: string;
	encoding: string;
	where: string;
}

/**
 * Base64 of the value at each of the three byte alignments it could have inside a longer encoded
 * blob: only the characters that depend on the value's bytes alone are kept.
 */
function base64Forms(value: Buffer, url: boolean): string[] {
	const out: string[] = [];
	for (let pad = 0; pad < 3; pad++) {
		const bytes = Buffer.concat([Buffer.alloc(pad), value]);
		const groups = Math.floor(bytes.length / 3);
		const text = bytes.subarray(0, groups * 3).toString(url ? 'base64url' : 'base64');
		const form = text.slice(pad === 0 ? 0 : 4, groups * 4);
		if (form.length >= 12) out.push(form);
	}
	return out;
}

/** The encodings a value is searched in: raw, base64, base64url, URL, JSON, hex and UTF-16. */
export function encodingsOf(value: string): { encoding: string; bytes: Buffer }[] {
	const raw = Buffer.from(value, 'utf8');
	const forms: { encoding: string; text: string | Buffer }[] = [
		{ encoding: 'raw', text: raw },
		...base64Forms(raw, false).map((text) => ({ encoding: 'base64', text })),
		...base64Forms(raw, true).map((text) => ({ encoding: 'base64url', text })),
		{ encoding: 'url', text: encodeURIComponent(value) },
		{ encoding: 'url-form', text: encodeURIComponent(value).replace(/%20/g, '+') },
		{ encoding: 'json', text: JSON.stringify(value).slice(1, -1) },
		{ encoding: 'hex', text: raw.toString('hex') },
		{ encoding: 'HEX', text: raw.toString('hex').toUpperCase() },
		// Chromium keeps DOM storage and some page state as UTF-16.
		{ encoding: 'utf16le', text: Buffer.from(value, 'utf16le') },
	];
	const seen = new Set<string>();
	const out: { encoding: string; bytes: Buffer }[] = [];
	for (const f of forms) {
		const bytes = Buffer.isBuffer(f.text) ? f.text : Buffer.from(f.text, 'utf8');
		const key = bytes.toString('hex');
		if (seen.has(key)) continue;
		seen.add(key);
		out.push({ encoding: f.encoding, bytes });
	}
	return out;
}

/** Every regular file under a folder (symbolic links and sockets are not followed). */
export function filesUnder(dir: string, label: string): Place[] {
	const out: Place[] = [];
	const walk = (d: string): void => {
		let names: string[];
		try {
			names = readdirSync(d);
		} catch {
			return;
		}
		for (const name of names) {
			const full = join(d, name);
			let st;
			try {
				st = statSync(full, { throwIfNoEntry: false });
			} catch {
				continue;
			}
			if (!st) continue;
			if (st.isDirectory()) walk(full);
			else if (st.isFile()) {
				try {
					out.push({ where: `${label}:${full.slice(dir.length + 1)}`, data: readFileSync(full) });
				} catch {
					// A file Chromium removed while we walked: nothing left to leak.
				}
			}
		}
	};
	walk(dir);
	return out;
}

/** The answer of a deliberate reveal: the only place a revealed value may be. */
export const isRevealAnswer = (url: string | undefined): boolean =>
	url !== undefined && /^\/api\/v1\/secrets\/[A-Za-z0-9_-]+\/reveal$/.test(new URL(url).pathname);

/** The answer that creates a token: the only place (besides the form it is typed into) a token may be. */
export const isTokenAnswer = (url: string | undefined): boolean =>
	url !== undefined && new URL(url).pathname === '/api/v1/tokens';

/**
 * Every place where a value of `values` (label -> value) occurs in any encoding, except the places
 * `allowed` says that value may be (a deliberate reveal's answer).
 */
export function scan(
	values: ReadonlyMap<string, string>,
	places: readonly Place[],
	allowed: (value: string, place: Place) => boolean = () => false,
): Hit[] {
	const hits: Hit[] = [];
	for (const [label, value] of values) {
		const forms = encodingsOf(value);
		for (const place of places) {
			if (allowed(value, place)) continue;
			const found = forms.find((f) => place.data.includes(f.bytes));
			if (found) hits.push({ label, encoding: found.encoding, where: place.where });
		}
	}
	return hits;
}
