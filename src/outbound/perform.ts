/**
 * The outbound request engine: references anywhere in URL, query, headers and body, resolved with
 * `use` for the destination the request actually goes to. Redirects are followed here, one hop at a
 * time, and every hop resolves its references again for its own destination: a secret bound to
 * api.stripe.com is refused (and the refusal audited) when a redirect points elsewhere, and an
 * unbound secret is never carried to a new host without a fresh, audited resolution. The sender is
 * the caller's (n8n's request helper in the node, undici behind the address guard in the relay).
 */
import { SecretsError } from '../core/errors';
import { destinationOfUrl, formatDestination } from '../core/matching';
import { Scrubber } from '../core/scrub';
import type { Caller, ValueSource } from '../service/api';
import { readAnswer } from './answer';
import { type HopResponse, type Send, buildHop } from './hop';
import { RequestSecrets, literalHost, withoutReferences } from './resolution';
import type { OutboundRequest, OutboundResponse } from './spec';

/** Where values come from: `use` (the node) or the relay's `relayUse`, for one caller and environment. */
export interface Values {
	source: ValueSource;
	caller: Caller;
	environment: string;
}

export interface Transport {
	/** Sends one hop; redirects are never followed by the sender. */
	send: Send;
	/**
	 * Refuses a hop's URL (references replaced by a placeholder) before any reference is resolved for
	 * it: the relay's network guard.
	 */
	vet?: (url: string) => Promise<void>;
	/** The largest answer kept once its content codings are undone (default 10 MiB). */
	maxBytes?: number;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_DECODED_BYTES = 10 * 1024 * 1024;

/**
 * Performs the request. Everything it returns, and every error it throws, has had the resolved values
 * (and their encodings) scrubbed out. Pass a `scrubber` in to scrub what the caller adds: it holds
 * every value resolved, even when the request fails.
 */
export async function performRequest(
	spec: OutboundRequest,
	values: Values,
	transport: Transport,
	scrubber: Scrubber = new Scrubber(),
): Promise<OutboundResponse> {
	let url = spec.url;
	let method = spec.method;
	let withBody = method !== 'GET' && method !== 'HEAD';
	for (let hop = 0; ; hop++) {
		literalHost(url);
		if (transport.vet) await transport.vet(withoutReferences(url));
		// Bound by scheme, host and port: `https://api.x.com` is not `http://api.x.com:8080`.
		const destination = formatDestination(destinationOfUrl(url));
		const { source, caller, environment } = values;
		const secrets = new RequestSecrets(source, caller, environment, destination, scrubber);
		const request = await buildHop(spec, secrets, url, method, withBody);
		let res: HopResponse;
		try {
			res = await transport.send(request);
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
			url = new URL(location, request.url).toString();
			if (
				res.statusCode === 303 ||
				((res.statusCode === 301 || res.statusCode === 302) && method === 'POST')
			) {
				method = 'GET';
				withBody = false;
			}
			continue;
		}
		return readAnswer(spec, res, request.url, scrubber, transport.maxBytes ?? MAX_DECODED_BYTES);
	}
}
