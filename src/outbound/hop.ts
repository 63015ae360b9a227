/**
 * One hop of an outbound request: the request with every reference resolved for the hop's
 * destination, in a shape of its own that each sender translates (n8n's request helper in the node,
 * undici behind the address guard in the relay).
 */
import { SecretsError } from '../core/errors';
import { NOT_JSON, TOO_DEEP, parseJson } from './json';
import { resolveReferenceAuth } from './reference-auth';
import type { RequestSecrets } from './resolution';
import type { Method, OutboundRequest } from './spec';

/** What a sender sends: one request, redirects not followed, references already resolved. */
export interface HopRequest {
	method: Method;
	url: string;
	headers: Record<string, string>;
	/** Appended to the URL's query. */
	query: Record<string, string>;
	body?: string;
	basicAuth?: { username: string; password: string };
	timeoutMs: number;
}

/** What a sender answers: the body as received (content codings not undone yet). */
export interface HopResponse {
	statusCode: number;
	statusMessage?: string;
	headers: Record<string, unknown>;
	body: Buffer;
}

export type Send = (hop: HopRequest) => Promise<HopResponse>;

/**
 * How deep a JSON request body may nest. Resolving references and scrubbing walk the parsed value
 * recursively; real request bodies stay within a handful of levels.
 */
const MAX_BODY_DEPTH = 64;

/** Builds one hop's request with every reference resolved for `secrets`' destination. */
export async function buildHop(
	spec: OutboundRequest,
	secrets: RequestSecrets,
	url: string,
	method: Method,
	withBody: boolean,
): Promise<HopRequest> {
	const headers: Record<string, string> = {};
	for (const h of spec.headers)
		headers[await secrets.resolve(h.name)] = await secrets.resolve(h.value);
	const query: Record<string, string> = {};
	for (const q of spec.query) query[await secrets.resolve(q.name)] = await secrets.resolve(q.value);
	const hop: HopRequest = {
		method,
		url: await secrets.resolve(url, encodeURIComponent),
		headers,
		query,
		timeoutMs: spec.timeoutMs,
	};
	const { placement } = spec.auth;
	if (placement !== 'none') {
		if (!spec.auth.secret)
			throw new SecretsError('INVALID_INPUT', 'Pick the secret to authenticate with.');
		const value = await secrets.resolve(`[[secret:${spec.auth.secret}]]`);
		if (placement === 'bearer') headers.Authorization = `Bearer ${value}`;
		else if (placement === 'header') headers[spec.auth.name || 'X-API-Key'] = value;
		else if (placement === 'query') query[spec.auth.name || 'api_key'] = value;
		else {
			const username = await secrets.resolve(spec.auth.user ?? '');
			hop.basicAuth = secrets.basicAuth(username, value, spec.auth.secret);
		}
	}
	if (withBody && spec.bodyType !== 'none') hop.body = await bodyOf(spec, secrets, headers);
	if (spec.referenceAuth) {
		const part = await resolveReferenceAuth(spec.referenceAuth, secrets);
		if ('header' in part) headers[part.header] = part.value;
		else if ('query' in part) query[part.query] = part.value;
		else hop.basicAuth = part.basic;
	}
	checkHeaders(headers);
	return hop;
}

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** What HTTP allows in a field value: tab, visible ASCII, and bytes 0x80-0xFF (read as Latin-1). */
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/**
 * Headers are checked once their references are resolved, before anything is sent: a name or value
 * HTTP does not allow is the caller's error (400), never the HTTP client's failure. The message names
 * the header by its position, as its name or value may hold a secret.
 */
function checkHeaders(headers: Record<string, string>): void {
	let n = 0;
	for (const [name, value] of Object.entries(headers)) {
		n++;
		if (!HEADER_NAME.test(name))
			throw new SecretsError(
				'INVALID_INPUT',
				`Header ${n} has a name HTTP does not allow: use letters, digits and !#$%&'*+-.^_\`|~ only.`,
			);
		if (!HEADER_VALUE.test(value))
			throw new SecretsError(
				'INVALID_INPUT',
				`Header ${n} has a value with characters HTTP does not allow in a header (line breaks, control ` +
					'characters or characters beyond Latin-1). Percent-encode or base64 the text.',
			);
	}
}

/** The body with its references resolved; sets a content type unless a header already names one. */
async function bodyOf(
	spec: OutboundRequest,
	secrets: RequestSecrets,
	headers: Record<string, string>,
): Promise<string> {
	if (spec.bodyType === 'json') {
		const parsed = parseJson(spec.body || '{}', MAX_BODY_DEPTH);
		if (parsed === NOT_JSON)
			throw new SecretsError('INVALID_INPUT', 'The JSON body is not valid JSON.');
		if (parsed === TOO_DEEP) {
			throw new SecretsError(
				'INVALID_INPUT',
				`The JSON body nests arrays and objects deeper than ${MAX_BODY_DEPTH} levels; flatten it.`,
			);
		}
		headers['content-type'] ??= 'application/json';
		return JSON.stringify(await secrets.resolveDeep(parsed));
	}
	if (spec.bodyType === 'form') {
		const form = new URLSearchParams();
		for (const f of spec.form ?? [])
			form.append(await secrets.resolve(f.name), await secrets.resolve(f.value));
		headers['content-type'] ??= 'application/x-www-form-urlencoded';
		return form.toString();
	}
	headers['content-type'] ??= spec.rawContentType || 'text/plain';
	return secrets.resolve(spec.body ?? '');
}
