/**
 * The Secret HTTP Request: references anywhere in URL, query, headers and body, resolved with `use`
 * for the host the request actually goes to. Redirects are followed here, one hop at a time, and
 * every hop resolves its references again for its own host: a secret bound to api.stripe.com is
 * refused (and the refusal audited) when a redirect points elsewhere, and an unbound secret is never
 * carried to a new host without a fresh, audited resolution.
 */
import type {
	ICredentialDataDecryptedObject,
	IDataObject,
	IHttpRequestMethods,
	IHttpRequestOptions,
	IN8nHttpFullResponse,
} from 'n8n-workflow';

import { decodeContent, refuseTransferCodings } from '../core/content-decoding';
import { SecretsError } from '../core/errors';
import { destinationOfUrl, formatDestination, hostOfUrl } from '../core/matching';
import { hasReferences } from '../core/reference';
import { Scrubber } from '../core/scrub';
import type { RemoteSecrets } from '../client/remote-secrets';
import type { RelayInput } from '../server/relay';
import type { ValueSource } from '../service/api';
import type { Caller } from '../service/secrets-service';
import { applySecretReferenceAuth } from './reference-auth';
import { RequestSecrets } from './references';

export type BodyType = 'none' | 'json' | 'form' | 'raw';
export type ResponseFormat = 'autodetect' | 'json' | 'text' | 'binary';
export type AuthPlacement = 'none' | 'bearer' | 'header' | 'query' | 'basic';

export interface SecretRequestSpec {
	method: IHttpRequestMethods;
	url: string;
	query: { name: string; value: string }[];
	headers: { name: string; value: string }[];
	bodyType: BodyType;
	/** JSON text for `json`, the raw text for `raw`. */
	body?: string;
	form?: { name: string; value: string }[];
	rawContentType?: string;
	auth: { placement: AuthPlacement; secret?: string; name?: string; user?: string };
	/** With the Secret Reference Auth credential: its fields decide how the request authenticates. */
	referenceAuth?: ICredentialDataDecryptedObject;
	timeoutMs: number;
	followRedirects: boolean;
	maxRedirects: number;
	responseFormat: ResponseFormat;
	fullResponse: boolean;
	neverError: boolean;
}

export interface SecretResponse {
	statusCode: number;
	headers: IDataObject;
	body: unknown;
	/** Set when the body is binary: the caller stores it with n8n's binary helpers. */
	binary?: { data: Buffer; mimeType: string };
	url: string;
}

export type Send = (options: IHttpRequestOptions) => Promise<IN8nHttpFullResponse>;

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
/** The largest decoded answer kept, as the relay's default. */
const MAX_DECODED_BYTES = 10 * 1024 * 1024;

/** The URL with every reference replaced by a placeholder: what decides where the request goes. */
function withoutReferences(url: string): string {
	return url.replace(/\[\[secret:[^\]]*\]\]/g, 'REFERENCE');
}

/** The URL's host must be literal: a reference may stand in the path or query, not decide the host. */
function literalHost(url: string): string {
	const host = hostOfUrl(withoutReferences(url));
	if (/reference/i.test(host) && hasReferences(url)) {
		throw new SecretsError(
			'INVALID_INPUT',
			'A secret reference cannot stand in the host of the URL: the host decides where secrets may go.',
		);
	}
	return host;
}

function authReference(spec: SecretRequestSpec): string {
	return `[[secret:${spec.auth.secret}]]`;
}

/** Builds one hop's request with every reference resolved for `host`. */
async function buildHop(
	spec: SecretRequestSpec,
	secrets: RequestSecrets,
	url: string,
	method: IHttpRequestMethods,
	withBody: boolean,
): Promise<IHttpRequestOptions> {
	const headers: IDataObject = {};
	for (const h of spec.headers)
		headers[await secrets.resolve(h.name)] = await secrets.resolve(h.value);
	const qs: IDataObject = {};
	for (const q of spec.query) qs[await secrets.resolve(q.name)] = await secrets.resolve(q.value);
	const options: IHttpRequestOptions = {
		method,
		url: await secrets.resolve(url, encodeURIComponent),
		headers,
		qs,
		timeout: spec.timeoutMs,
		disableFollowRedirect: true,
		returnFullResponse: true,
		ignoreHttpStatusErrors: true,
		encoding: 'arraybuffer',
		json: false,
	};
	const { placement } = spec.auth;
	if (placement !== 'none') {
		if (!spec.auth.secret)
			throw new SecretsError('INVALID_INPUT', 'Pick the secret to authenticate with.');
		const value = await secrets.resolve(authReference(spec));
		if (placement === 'bearer') headers.Authorization = `Bearer ${value}`;
		else if (placement === 'header') headers[spec.auth.name || 'X-API-Key'] = value;
		else if (placement === 'query') qs[spec.auth.name || 'api_key'] = value;
		else {
			const username = await secrets.resolve(spec.auth.user ?? '');
			options.auth = secrets.basicAuth(username, value, spec.auth.secret);
		}
	}
	if (withBody && spec.bodyType !== 'none') {
		await addBody(spec, secrets, options, headers);
	}
	const built = spec.referenceAuth
		? await applySecretReferenceAuth(spec.referenceAuth, options, secrets)
		: options;
	checkHeaders(built.headers ?? {});
	return built;
}

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** What HTTP allows in a field value: tab, visible ASCII, and bytes 0x80-0xFF (read as Latin-1). */
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/**
 * Headers are checked once their references are resolved, before anything is sent: a name or value
 * HTTP does not allow is the caller's error (400), never the HTTP client's failure. The message names
 * the header by its position, as its name or value may hold a secret.
 */
function checkHeaders(headers: IDataObject): void {
	let n = 0;
	for (const [name, value] of Object.entries(headers)) {
		n++;
		if (value === undefined || value === null) continue;
		if (!HEADER_NAME.test(name))
			throw new SecretsError(
				'INVALID_INPUT',
				`Header ${n} has a name HTTP does not allow: use letters, digits and !#$%&'*+-.^_\`|~ only.`,
			);
		if (!HEADER_VALUE.test(String(value)))
			throw new SecretsError(
				'INVALID_INPUT',
				`Header ${n} has a value with characters HTTP does not allow in a header (line breaks, control ` +
					'characters or characters beyond Latin-1). Percent-encode or base64 the text.',
			);
	}
}

async function addBody(
	spec: SecretRequestSpec,
	secrets: RequestSecrets,
	options: IHttpRequestOptions,
	headers: IDataObject,
): Promise<void> {
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
		options.body = JSON.stringify(await secrets.resolveDeep(parsed));
		headers['content-type'] ??= 'application/json';
	} else if (spec.bodyType === 'form') {
		const form = new URLSearchParams();
		for (const f of spec.form ?? [])
			form.append(await secrets.resolve(f.name), await secrets.resolve(f.value));
		options.body = form.toString();
		headers['content-type'] ??= 'application/x-www-form-urlencoded';
	} else {
		options.body = await secrets.resolve(spec.body ?? '');
		headers['content-type'] ??= spec.rawContentType || 'text/plain';
	}
}

const NOT_JSON = Symbol('not JSON');
const TOO_DEEP = Symbol('nested too deep');

/**
 * How deep a JSON request body may nest. Resolving references and scrubbing walk the parsed value
 * recursively, so a body nested thousands deep would exhaust the stack; real request bodies stay
 * within a handful of levels.
 */
const MAX_BODY_DEPTH = 64;

/** How deep an answer is parsed as JSON; a deeper one is kept (and scrubbed) as text. */
const MAX_ANSWER_DEPTH = 256;

/**
 * Whether JSON text nests arrays and objects deeper than `max`. One pass, no recursion, strings
 * skipped; exact for valid JSON, and invalid JSON fails to parse anyway.
 */
function nestedDeeperThan(text: string, max: number): boolean {
	let depth = 0;
	let inString = false;
	for (let i = 0; i < text.length; i++) {
		const c = text.charCodeAt(i);
		if (inString) {
			if (c === 0x5c) i++;
			else if (c === 0x22) inString = false;
		} else if (c === 0x22) inString = true;
		else if (c === 0x5b || c === 0x7b) {
			if (++depth > max) return true;
		} else if (c === 0x5d || c === 0x7d) depth--;
	}
	return false;
}

/** The parsed value, `NOT_JSON`, or `TOO_DEEP` when it nests deeper than `maxDepth` (not parsed). */
function parseJson(text: string, maxDepth: number): unknown {
	if (nestedDeeperThan(text, maxDepth)) return TOO_DEEP;
	try {
		return JSON.parse(text);
	} catch {
		return NOT_JSON;
	}
}

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
 * Performs the request. Everything it returns, and every error it throws, has had the resolved values
 * (and their encodings) scrubbed out; `scrubber` is returned so the caller can scrub what it adds.
 */
export async function performSecretRequest(
	spec: SecretRequestSpec,
	backend: ValueSource,
	caller: Caller,
	environment: string,
	send: Send,
	/** Pass one in to scrub errors too: it holds every value resolved, even when the request fails. */
	scrubber: Scrubber = new Scrubber(),
	/**
	 * Refuses a hop's URL (references replaced by a placeholder) before any reference is resolved for
	 * it: the relay's network guard.
	 */
	vet?: (url: string) => Promise<void>,
): Promise<{ response: SecretResponse; scrubber: Scrubber }> {
	let url = spec.url;
	let method = spec.method;
	let withBody = true;
	for (let hop = 0; ; hop++) {
		literalHost(url);
		if (vet) await vet(withoutReferences(url));
		// Bound by scheme, host and port: `https://api.x.com` is not `http://api.x.com:8080`.
		const destination = formatDestination(destinationOfUrl(url));
		const secrets = new RequestSecrets(backend, caller, environment, destination, scrubber);
		const options = await buildHop(spec, secrets, url, method, withBody);
		let res: IN8nHttpFullResponse;
		try {
			res = await send(options);
		} catch (err) {
			throw scrubber.scrubError(err);
		}
		const location = typeof res.headers.location === 'string' ? res.headers.location : undefined;
		if (spec.followRedirects && REDIRECTS.has(res.statusCode) && location) {
			if (hop >= spec.maxRedirects) {
				throw new SecretsError(
					'INVALID_INPUT',
					`Stopped after ${spec.maxRedirects} redirects; raise "Max Redirects" if that is expected.`,
				);
			}
			url = new URL(location, options.url).toString();
			if (
				res.statusCode === 303 ||
				((res.statusCode === 301 || res.statusCode === 302) && method === 'POST')
			) {
				method = 'GET';
				withBody = false;
			}
			continue;
		}
		// n8n's HTTP client undoes one content coding itself; stacked or unknown ones would reach the
		// scrubber still encoded, with an echoed value in them out of its sight.
		const undecoded = Buffer.isBuffer(res.body) ? res.body : Buffer.from(String(res.body ?? ''));
		const from = hostOfUrl(options.url);
		refuseTransferCodings(res.headers['transfer-encoding'], from);
		const received = await decodeContent(
			undecoded,
			res.headers['content-encoding'],
			MAX_DECODED_BYTES,
			from,
		);
		if (received !== undecoded) {
			delete res.headers['content-encoding'];
			delete res.headers['content-length'];
		}
		// Scrubbed as bytes first: an echoed value is removed whatever the body turns out to be.
		const raw = scrubber.scrubDeep(received);
		const contentType = String(res.headers['content-type'] ?? '');
		const { body, binary } = bodyOf(spec.responseFormat, raw, contentType);
		const response: SecretResponse = {
			statusCode: res.statusCode,
			headers: scrubber.scrubDeep(res.headers),
			body: scrubber.scrubDeep(body),
			binary,
			url: scrubber.scrubString(options.url),
		};
		if (res.statusCode >= 400 && !spec.neverError) {
			const excerpt =
				typeof response.body === 'string'
					? response.body.slice(0, 500)
					: JSON.stringify(response.body ?? '').slice(0, 500);
			throw new SecretsError(
				'UPSTREAM_ERROR',
				`The server answered ${res.statusCode} ${scrubber.scrubString(res.statusMessage ?? '')}: ${excerpt}`,
				{
					details: { httpCode: res.statusCode },
				},
			);
		}
		return { response, scrubber };
	}
}

/** The Secret Reference Auth fields the relay needs: references and placement, never the token. */
const REFERENCE_AUTH_FIELDS = [
	'placement',
	'reference',
	'headerName',
	'queryName',
	'userReference',
	'passReference',
] as const;

/**
 * Remote mode: the server performs the request (`POST /relay`) with the same per-hop rules, so no
 * value ever reaches this n8n process; the answer arrives already scrubbed.
 */
export async function relaySecretRequest(
	spec: SecretRequestSpec,
	remote: RemoteSecrets,
	caller: Caller,
	environment: string,
): Promise<{ response: SecretResponse }> {
	let referenceAuth: Record<string, string> | undefined;
	if (spec.referenceAuth) {
		referenceAuth = {};
		for (const f of REFERENCE_AUTH_FIELDS) {
			const v = spec.referenceAuth[f];
			if (typeof v === 'string' && v !== '') referenceAuth[f] = v;
		}
		referenceAuth.placement ??= 'bearer';
	}
	const r = await remote.relay(caller, {
		environment,
		method: spec.method as RelayInput['method'],
		url: spec.url,
		query: spec.query,
		headers: spec.headers,
		bodyType: spec.bodyType,
		body: spec.body,
		form: spec.form,
		rawContentType: spec.rawContentType,
		auth: {
			placement: spec.auth.placement,
			...(spec.auth.secret ? { secret: spec.auth.secret } : {}),
			...(spec.auth.name ? { name: spec.auth.name } : {}),
			...(spec.auth.user !== undefined ? { user: spec.auth.user } : {}),
		},
		referenceAuth: referenceAuth as RelayInput['referenceAuth'],
		timeoutMs: spec.timeoutMs,
		followRedirects: spec.followRedirects,
		maxRedirects: spec.maxRedirects,
		responseFormat: spec.responseFormat,
		neverError: spec.neverError,
	});
	return {
		response: {
			statusCode: r.statusCode,
			headers: r.headers as IDataObject,
			body: r.body,
			binary: r.binary
				? { data: Buffer.from(r.binary.data, 'base64'), mimeType: r.binary.mimeType }
				: undefined,
			url: r.url,
		},
	};
}
