/**
 * Undoing an upstream answer's `Content-Encoding` before it is scrubbed (the relay's and the node's). The scrubber looks for
 * resolved values in the bytes it is given; in a gzip body an echoed value is not there to find, and
 * the caller would decompress it after the relay. The relay asks for `identity`, but a server may
 * compress anyway, so whatever arrives encoded is decoded here, within the same size bound as the
 * body itself (a small compressed body can expand a thousandfold).
 */
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';

import { SecretsError } from '../core/errors';

type Decoder = (data: Buffer, options: { maxOutputLength: number }) => Promise<Buffer>;

const gunzip = promisify(zlib.gunzip) as Decoder;
const inflate = promisify(zlib.inflate) as Decoder;
const inflateRaw = promisify(zlib.inflateRaw) as Decoder;

/**
 * `deflate` is meant to be zlib-wrapped (RFC 9110), but some servers send a raw deflate stream: a
 * zlib stream starts with a header byte whose low four bits say "deflate" (8), as browsers check.
 */
const deflate: Decoder = (data, options) =>
	(data.length > 0 && (data[0] & 0x0f) === 0x08 ? inflate : inflateRaw)(data, options);

const DECODERS: Record<string, Decoder> = {
	gzip: gunzip,
	'x-gzip': gunzip,
	deflate,
	br: promisify(zlib.brotliDecompress) as Decoder,
	...(typeof zlib.zstdDecompress === 'function'
		? { zstd: promisify(zlib.zstdDecompress) as Decoder }
		: {}),
};

/**
 * More layers than any server applies: each one costs a pass over up to the size bound, so a header
 * listing `gzip` hundreds of times must not buy hundreds of passes.
 */
const MAX_LAYERS = 4;

/** The codings listed in a `Content-Encoding` header (or several), in the order they were applied. */
function codings(header: unknown): string[] {
	const values = Array.isArray(header) ? header : header === undefined ? [] : [header];
	return values
		.flatMap((v) => String(v).split(','))
		.map((c) => c.trim().toLowerCase())
		.filter((c) => c !== '' && c !== 'identity');
}

/**
 * HTTP clients undo `chunked` only; a body sent with another transfer coding (`gzip, chunked`: rare,
 * and a way for a hostile upstream to hide an echoed value from the scrubber) is refused.
 */
export function refuseTransferCodings(transferEncoding: unknown, host: string): void {
	if (codings(transferEncoding).some((c) => c !== 'chunked'))
		throw new SecretsError(
			'UPSTREAM_ERROR',
			`The response from ${host} uses a transfer coding other than chunked; its body is not passed on.`,
		);
}

/**
 * The body with every content coding in `contentEncoding` undone, last applied first. Throws
 * `UPSTREAM_ERROR` for a coding it does not know (the raw bytes are never passed on), for a corrupt
 * body, and for a body that decodes to more than `maxBytes` bytes; memory stays within that bound.
 */
export async function decodeContent(
	body: Buffer,
	contentEncoding: unknown,
	maxBytes: number,
	host: string,
): Promise<Buffer> {
	const layers = codings(contentEncoding);
	// An empty body (HEAD, 204, 304) carries no encoded bytes, whatever the header says.
	if (layers.length === 0 || body.length === 0) return body;
	if (layers.length > MAX_LAYERS) {
		throw new SecretsError(
			'UPSTREAM_ERROR',
			`The response from ${host} is encoded ${layers.length} times over; at most ${MAX_LAYERS} layers are decoded.`,
		);
	}
	let data = body;
	for (const coding of layers.reverse()) {
		const decode = Object.prototype.hasOwnProperty.call(DECODERS, coding)
			? DECODERS[coding]
			: undefined;
		if (!decode) {
			// Named only when it looks like a coding: the header is the upstream's text, not ours.
			const shown = /^[a-z0-9._-]{1,20}$/.test(coding) ? ` (${coding})` : '';
			throw new SecretsError(
				'UPSTREAM_ERROR',
				`The response from ${host} is in a content encoding that cannot be decoded${shown}; ` +
					`known: ${Object.keys(DECODERS).join(', ')}. Its answer is not passed on undecoded: it could carry a secret the scrubbing cannot see.`,
			);
		}
		try {
			data = await decode(data, { maxOutputLength: maxBytes });
		} catch (err) {
			if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
				throw new SecretsError(
					'UPSTREAM_ERROR',
					`The response from ${host} decompresses to more than ${maxBytes} bytes, the most kept.`,
				);
			}
			throw new SecretsError(
				'UPSTREAM_ERROR',
				`The response from ${host} is not valid ${coding} data as its Content-Encoding says.`,
			);
		}
	}
	return data;
}
