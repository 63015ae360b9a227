/**
 * The Secret HTTP Request's two ways to send, both through the outbound engine (src/outbound):
 * embedded, the engine runs here with n8n's request helper as its sender (so the instance's proxy
 * settings apply); remote, the server runs it (`POST /relay`), so no value ever reaches this n8n
 * process and the answer arrives already scrubbed.
 */
import type { IHttpRequestMethods, IHttpRequestOptions, IN8nHttpFullResponse } from 'n8n-workflow';

import type { Scrubber } from '../core/scrub';
import type { RemoteSecrets } from '../client/remote-secrets';
import type { HopRequest, HopResponse } from '../outbound/hop';
import { performRequest } from '../outbound/perform';
import { type OutboundRequest, type OutboundResponse, fromRelayResponse } from '../outbound/spec';
import type { Caller, ValueSource } from '../service/api';

export type HttpRequest = (options: IHttpRequestOptions) => Promise<IN8nHttpFullResponse>;

/**
 * One hop through n8n's request helper: redirects left to the engine, the body as bytes, every
 * status answered (the engine decides what an error is).
 */
async function sendWith(httpRequest: HttpRequest, hop: HopRequest): Promise<HopResponse> {
	const options: IHttpRequestOptions = {
		// n8n's type leaves out OPTIONS, which the node offers and the helper sends.
		method: hop.method as IHttpRequestMethods,
		url: hop.url,
		headers: hop.headers,
		qs: hop.query,
		timeout: hop.timeoutMs,
		disableFollowRedirect: true,
		returnFullResponse: true,
		ignoreHttpStatusErrors: true,
		encoding: 'arraybuffer',
		json: false,
	};
	if (hop.body !== undefined) options.body = hop.body;
	if (hop.basicAuth) options.auth = hop.basicAuth;
	const res = await httpRequest(options);
	return {
		statusCode: res.statusCode,
		statusMessage: res.statusMessage,
		headers: res.headers,
		body: Buffer.isBuffer(res.body) ? res.body : Buffer.from(String(res.body ?? '')),
	};
}

/** Embedded mode: the engine resolves with `use` in this process and sends with n8n's helper. */
export function performSecretRequest(
	request: OutboundRequest,
	source: ValueSource,
	caller: Caller,
	environment: string,
	httpRequest: HttpRequest,
	/** Holds every value resolved, so the caller scrubs its errors with it too. */
	scrubber: Scrubber,
): Promise<OutboundResponse> {
	const send = (hop: HopRequest) => sendWith(httpRequest, hop);
	return performRequest(request, { source, caller, environment }, { send }, scrubber);
}

/** Remote mode: the server performs the request with the same per-hop rules. */
export async function relaySecretRequest(
	request: OutboundRequest,
	remote: RemoteSecrets,
	caller: Caller,
	environment: string,
): Promise<OutboundResponse> {
	return fromRelayResponse(await remote.relay(caller, { environment, ...request }));
}
