/**
 * `POST /relay`: the server performs an outbound HTTP request with the references injected here, so
 * the caller (a relay-only token) never holds a value. It runs the outbound engine the Secret HTTP
 * Request runs (src/outbound: per-hop resolution, destination binding on every redirect, scrubbing),
 * sending with undici through the address guard.
 */
import { type LookupAddress, type LookupOptions, lookup as dnsLookup } from 'node:dns';
import { isIP } from 'node:net';

import { Agent, buildConnector, request } from 'undici';

import { SecretsError } from '../core/errors';
import * as schema from '../core/schemas';
import type { HopRequest, HopResponse } from '../outbound/hop';
import { performRequest } from '../outbound/perform';
import { type RelayResponse, relayInput, toRelayResponse } from '../outbound/spec';
import type { Caller, ResolvedValue } from '../service/api';
import { AddressGuard } from './address-guard';

/** The body's schema lives with the request spec; re-exported for the OpenAPI document. */
export { relayInput };

/** What the relay needs from the service: the relay's `use`, and its permission check. */
export interface RelayValues {
	/** `use` for a relayed request: a destination is required, and the secret must be bound to it. */
	relayUse(caller: Caller, input: schema.ResolveInput): Promise<ResolvedValue>;
	/** Refuses a caller that may not relay in `environment`, before anything is sent. */
	authorizeRelay(caller: Caller, environment: string): Promise<void>;
}

export interface RelayOptions {
	/**
	 * Allow every destination, loopback and private networks included (`N8N_SECRETS_RELAY_ALLOW_PRIVATE`:
	 * for development only; the default refuses them, against SSRF into the server's own network).
	 */
	allowPrivateNetworks?: boolean;
	/**
	 * Networks (`10.1.2.0/24`), addresses and host names the relay may reach although they are not
	 * public (`N8N_SECRETS_RELAY_ALLOW`). An invalid entry makes the constructor throw `INVALID_INPUT`.
	 */
	allow?: readonly string[];
	/** Largest upstream response body kept, in bytes, after decompression too. */
	maxResponseBytes?: number;
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string, family: number) => void;

/** Headers the relay decides itself: it asks for an unencoded body, which it can scrub. */
const RELAY_OWNED_HEADERS = new Set(['accept-encoding', 'te']);

const dnsLookupAll = (host: string) =>
	new Promise<LookupAddress[]>((resolve, reject) =>
		dnsLookup(host, { all: true }, (err, addresses) => (err ? reject(err) : resolve(addresses))),
	);

export class Relay {
	private readonly agent: Agent;
	private readonly maxBytes: number;
	private readonly guard: AddressGuard;

	constructor(
		private readonly values: RelayValues,
		options: RelayOptions = {},
	) {
		this.maxBytes = options.maxResponseBytes ?? 10 * 1024 * 1024;
		this.guard = new AddressGuard({
			allowAll: options.allowPrivateNetworks,
			allow: options.allow,
		});
		const connector = buildConnector({ lookup: this.lookup.bind(this) });
		this.agent = new Agent({
			// Every connection of every hop is opened here, so this is where addresses are judged: names
			// by what DNS answers (in `lookup`, before connecting); literals up front, as node:net never
			// looks them up (the URL parser has already turned decimal, octal and hex IPv4 into dotted
			// decimal); and then the address the socket actually reached, whatever led there.
			connect: (opts, callback) => {
				if (isIP(opts.hostname)) {
					const refused = this.guard.refusal(opts.hostname, opts.hostname);
					if (refused) return callback(refused, null);
				}
				connector(opts, (err, socket) => {
					if (err || !socket) return callback(err ?? new Error('no socket'), null);
					const refused = this.guard.refusal(opts.hostname, socket.remoteAddress ?? '');
					if (refused) {
						socket.destroy();
						return callback(refused, null);
					}
					callback(null, socket);
				});
			},
		});
	}

	/**
	 * DNS for the connector, keeping only the addresses the guard allows: a name pointing into the
	 * LAN is refused, and a name with public and private addresses reaches only the public ones.
	 */
	private lookup(hostname: string, opts: LookupOptions, callback: LookupCallback): void {
		dnsLookup(hostname, { ...opts, all: true }, (err, addresses: LookupAddress[]) => {
			if (err) return callback(err, '', 0);
			const allowed = addresses.filter((a) => !this.guard.refusal(hostname, a.address));
			if (allowed.length === 0) {
				const refused = addresses.length
					? this.guard.refusal(hostname, addresses[0].address)
					: new SecretsError('UPSTREAM_ERROR', `${hostname} has no address.`);
				return callback(refused as unknown as NodeJS.ErrnoException, '', 0);
			}
			if (opts.all)
				return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, allowed);
			return callback(null, allowed[0].address, allowed[0].family);
		});
	}

	/**
	 * Refuses a hop's destination before any reference is resolved for it, so a refused request
	 * leaves no `use` in the audit trail and resolves nothing. The connector checks again when it
	 * connects (DNS may answer differently by then): this is the early answer, that the guarantee.
	 */
	private async vet(url: string): Promise<void> {
		// Already parsed once by the engine (literalHost), which refuses a URL that does not parse.
		const u = new URL(url);
		if (u.protocol !== 'http:' && u.protocol !== 'https:')
			throw new SecretsError('INVALID_INPUT', 'The relay sends http: and https: requests only.');
		const host = u.hostname.replace(/^\[|\]$/g, '');
		if (isIP(host)) {
			const refused = this.guard.refusal(host, host);
			if (refused) throw refused;
			return;
		}
		let addresses: LookupAddress[];
		try {
			addresses = await dnsLookupAll(host);
		} catch {
			return; // the connector reports a name that does not resolve
		}
		if (addresses.length > 0 && addresses.every((a) => this.guard.refusal(host, a.address)))
			throw this.guard.refusal(host, addresses[0].address)!;
	}

	async perform(caller: Caller, input: unknown): Promise<RelayResponse> {
		const { environment, ...spec } = schema.parseInput(relayInput, input);
		await this.values.authorizeRelay(caller, environment);
		const source = { use: (c: Caller, i: schema.ResolveInput) => this.values.relayUse(c, i) };
		const response = await performRequest(
			spec,
			{ source, caller, environment },
			{ send: (hop) => this.send(hop), vet: (url) => this.vet(url), maxBytes: this.maxBytes },
		);
		return toRelayResponse(response);
	}

	/** One hop with undici: the body as received, its content codings undone by the engine. */
	private async send(hop: HopRequest): Promise<HopResponse> {
		const url = new URL(hop.url);
		for (const [k, v] of Object.entries(hop.query)) url.searchParams.append(k, v);
		if (url.protocol !== 'http:' && url.protocol !== 'https:') {
			throw new SecretsError('INVALID_INPUT', 'The relay sends http: and https: requests only.');
		}
		const headers: Record<string, string> = {};
		for (const [k, v] of Object.entries(hop.headers))
			if (!RELAY_OWNED_HEADERS.has(k.toLowerCase())) headers[k.toLowerCase()] = v;
		headers['accept-encoding'] = 'identity';
		if (hop.basicAuth) {
			const { username, password } = hop.basicAuth;
			headers.authorization = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
		}
		try {
			const res = await request(url, {
				method: hop.method,
				headers,
				body: hop.body,
				dispatcher: this.agent,
				headersTimeout: hop.timeoutMs,
				bodyTimeout: hop.timeoutMs,
			});
			const chunks: Buffer[] = [];
			let size = 0;
			for await (const chunk of res.body) {
				size += (chunk as Buffer).length;
				if (size > this.maxBytes) {
					res.body.destroy();
					throw new SecretsError(
						'UPSTREAM_ERROR',
						`The response from ${url.host} is larger than the relay keeps (${this.maxBytes} bytes).`,
					);
				}
				chunks.push(chunk as Buffer);
			}
			return {
				statusCode: res.statusCode,
				headers: { ...res.headers },
				body: Buffer.concat(chunks),
			};
		} catch (err) {
			if (err instanceof SecretsError) throw err;
			const cause = (err as { cause?: unknown }).cause;
			if (cause instanceof SecretsError) throw cause;
			const code = (err as { code?: string }).code ?? (err as Error).name;
			throw new SecretsError('UPSTREAM_ERROR', `The request to ${url.host} failed (${code}).`);
		}
	}

	close(): Promise<void> {
		return this.agent.close();
	}
}
