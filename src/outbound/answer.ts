/**
 * The last hop's answer made safe to hand on: content codings undone (within a size bound), every
 * resolved value scrubbed out of the bytes, the headers and the URL, the body read in the asked
 * format, and a 4xx/5xx answer turned into `UPSTREAM_ERROR` with a scrubbed excerpt.
 */
import { SecretsError } from '../core/errors';
import { hostOfUrl } from '../core/matching';
import type { Scrubber } from '../core/scrub';
import { decodeContent, refuseTransferCodings } from './content-decoding';
import type { HopResponse } from './hop';
import { NOT_JSON, TOO_DEEP, parseJson } from './json';
import type { OutboundRequest, OutboundResponse, ResponseFormat } from './spec';

/** How deep an answer is parsed as JSON; a deeper one is kept (and scrubbed) as text. */
const MAX_ANSWER_DEPTH = 256;

function bodyOf(
	format: ResponseFormat,
	raw: Buffer,
	contentType: string,
): { body: unknown; binary?: { data: Buffer; mimeType: string } } {
	const isJson = /[/+]json\b/i.test(contentType);
	if (format === 'binary')
		return {
			body: undefined,
			binary: { data: raw, mimeType: contentType || 'application/octet-stream' },
		};
	const text = raw.toString('utf8');
	if (format === 'text') return { body: text };
	if (format === 'json' || (format === 'autodetect' && isJson)) {
		const parsed = text.length ? parseJson(text, MAX_ANSWER_DEPTH) : {};
		if (parsed !== NOT_JSON && parsed !== TOO_DEEP) return { body: parsed };
		if (format === 'json' && parsed === TOO_DEEP) {
			throw new SecretsError(
				'UPSTREAM_ERROR',
				`The response nests JSON deeper than ${MAX_ANSWER_DEPTH} levels; choose the Text response format.`,
			);
		}
		if (format === 'json') {
			throw new SecretsError(
				'INVALID_INPUT',
				'The response is not valid JSON; choose the Text response format.',
			);
		}
	}
	if (
		format === 'autodetect' &&
		!/^text\/|xml|html|javascript/i.test(contentType) &&
		contentType &&
		!isJson
	) {
		return { body: undefined, binary: { data: raw, mimeType: contentType } };
	}
	return { body: text };
}

/**
 * The answer of the hop sent to `url` (its references resolved), scrubbed with `scrubber`. Throws
 * `UPSTREAM_ERROR` for an answer it cannot decode or bound, and for a 4xx/5xx answer unless the
 * request says `neverError`.
 */
export async function readAnswer(
	spec: OutboundRequest,
	res: HopResponse,
	url: string,
	scrubber: Scrubber,
	maxBytes: number,
): Promise<OutboundResponse> {
	// n8n's HTTP client undoes one content coding itself and the relay asks for none; stacked or
	// unknown ones would reach the scrubber still encoded, with an echoed value in them out of its sight.
	const headers = { ...res.headers };
	const from = hostOfUrl(url);
	refuseTransferCodings(headers['transfer-encoding'], from);
	const encoding = headers['content-encoding'];
	const received = await decodeContent(res.body, encoding, maxBytes, from);
	if (encoding !== undefined) {
		// They described the encoded bytes (or, for HEAD and 204, none); what is handed on is never encoded.
		delete headers['content-encoding'];
		delete headers['content-length'];
	}
	// Scrubbed as bytes first: an echoed value is removed whatever the body turns out to be.
	const raw = scrubber.scrubDeep(received);
	const contentType = String(headers['content-type'] ?? '');
	const { body, binary } = bodyOf(spec.responseFormat, raw, contentType);
	const response: OutboundResponse = {
		statusCode: res.statusCode,
		headers: scrubber.scrubDeep(headers),
		body: scrubber.scrubDeep(body),
		binary,
		url: scrubber.scrubString(url),
	};
	if (res.statusCode >= 400 && !spec.neverError) {
		const excerpt =
			typeof response.body === 'string'
				? response.body.slice(0, 500)
				: JSON.stringify(response.body ?? '').slice(0, 500);
		throw new SecretsError(
			'UPSTREAM_ERROR',
			`The server answered ${res.statusCode} ${scrubber.scrubString(res.statusMessage ?? '')}: ${excerpt}`,
			{ details: { httpCode: res.statusCode } },
		);
	}
	return response;
}
