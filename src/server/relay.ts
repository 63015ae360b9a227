/**
 * `POST /relay`: the server performs an outbound HTTP request with the references injected here, so
 * the caller (a relay-only token) never holds a value. It is the Secret HTTP Request's own code path
 * (per-hop resolution, destination binding on every redirect, scrubbing), sending with undici.
 */
import { type LookupAddress, type LookupOptions, lookup as dnsLookup } from 'node:dns';
import { isIP } from 'node:net';

import type { IHttpRequestOptions, IN8nHttpFullResponse } from 'n8n-workflow';
import { Agent, buildConnector, request } from 'undici';
import { z } from 'zod';

import { SecretsError } from '../core/errors';
import * as schema from '../core/schemas';
import { Scrubber } from '../core/scrub';
import {
	type SecretRequestSpec,
	type SecretResponse,
	performSecretRequest,
} from '../n8n/secret-request';
import type { Caller, SecretsService } from '../service/secrets-service';
import { AddressGuard } from './address-guard';
import { decodeContent } from '../core/content-decoding';

const pair = z.object({ name: z.string().max(1000), value: z.string().max(100_000) }).strict();

export const relayInput = z
	.object({
		environment: schema.environmentName,
		method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD']),
		url: z.string().min(1).max(8192),
		query: z.array(pair).max(200).default([]),
		headers: z.array(pair).max(200).default([]),
		bodyType: z.enum(['none', 'json', 'form', 'raw']).default('none'),
		body: z.string().optional(),
		form: z.array(pair).max(500).optional(),
		rawContentType: z.string().max(200).optional(),
		auth: z
			.object({
				placement: z.enum(['none', 'bearer', 'header', 'query', 'basic']),
				secret: schema.secretName.optional(),
				name: z.string().max(200).optional(),
				user: z.string().max(1000).optional(),
			})
			.strict()
			.default({ placement: 'none' }),
		/** The Secret Reference Auth credential's fields (references, never values). */
		referenceAuth: z
			.object({
				placement: z.enum(['bearer', 'header', 'query', 'basic']),
				reference: z.string().max(1000).optional(),
				headerName: z.string().max(200).optional(),
				queryName: z.string().max(200).optional(),
				userReference: z.string().max(1000).optional(),
				passReference: z.string().max(1000).optional(),
			})
			.strict()
			.optional(),
		timeoutMs: z.number().int().min(1).max(300_000).default(30_000),
		followRedirects: z.boolean().default(true),
		maxRedirects: z.number().int().min(0).max(20).default(5),
		responseFormat: z.enum(['autodetect', 'json', 'text', 'binary']).default('autodetect'),
		neverError: z.boolean().default(false),
	})
	.strict();
export type RelayInput = z.input<typeof relayInput>;

/** What the relay answers: the upstream response, scrubbed; a binary body as base64. */
export interface RelayResponse {
	statusCode: number;
	headers: Record<string, unknown>;
	body: unknown;
	binary?: { data: string; mimeType: string };
	url: string;
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
		private readonly service: SecretsService,
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
		// Already parsed once by performSecretRequest, which refuses a URL that does not parse.
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
		const i = schema.parseInput(relayInput, input);
		await this.service.authorizeRelay(caller, i.environment);
		const spec: SecretRequestSpec = {
			method: i.method,
			url: i.url,
			query: i.query,
			headers: i.headers,
			bodyType: i.method === 'GET' || i.method === 'HEAD' ? 'none' : i.bodyType,
			body: i.body,
			form: i.form,
			rawContentType: i.rawContentType,
			auth: i.auth,
			referenceAuth: i.referenceAuth,
			timeoutMs: i.timeoutMs,
			followRedirects: i.followRedirects,
			maxRedirects: i.maxRedirects,
			responseFormat: i.responseFormat,
			fullResponse: true,
			neverError: i.neverError,
		};
		const source = { use: this.service.relayUse.bind(this.service) };
		const { response } = await performSecretRequest(
			spec,
			source,
			caller,
			i.environment,
			(options) => this.send(options),
			new Scrubber(),
			(url) => this.vet(url),
		);
		return wire(response);
	}

	private async send(options: IHttpRequestOptions): Promise<IN8nHttpFullResponse> {
		const url = new URL(options.url);
		for (const [k, v] of Object.entries(options.qs ?? {})) url.searchParams.append(k, String(v));
		if (url.protocol !== 'http:' && url.protocol !== 'https:') {
			throw new SecretsError('INVALID_INPUT', 'The relay sends http: and https: requests only.');
		}
		const headers: Record<string, string> = {};
		for (const [k, v] of Object.entries(options.headers ?? {}))
			if (v !== undefined && v !== null && !RELAY_OWNED_HEADERS.has(k.toLowerCase()))
				headers[k.toLowerCase()] = String(v);
		headers['accept-encoding'] = 'identity';
		if (options.auth) {
			const { username = '', password = '' } = options.auth;
			headers.authorization = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
		}
		const timeout = options.timeout ?? 30_000;
		try {
			const res = await request(url, {
				method: options.method ?? 'GET',
				headers,
				body: typeof options.body === 'string' ? options.body : undefined,
				dispatcher: this.agent,
				headersTimeout: timeout,
				bodyTimeout: timeout,
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
			const resHeaders = { ...res.headers };
			const encoding = resHeaders['content-encoding'];
			const body = await decodeContent(Buffer.concat(chunks), encoding, this.maxBytes, url.host);
			if (encoding !== undefined) {
				// They described the encoded bytes; the body handed on is the decoded one.
				delete resHeaders['content-encoding'];
				delete resHeaders['content-length'];
			}
			return {
				statusCode: res.statusCode,
				headers: resHeaders as Record<string, string>,
				body,
			} as IN8nHttpFullResponse;
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

function wire(r: SecretResponse): RelayResponse {
	return {
		statusCode: r.statusCode,
		headers: r.headers as Record<string, unknown>,
		body: r.body,
		binary: r.binary
			? { data: r.binary.data.toString('base64'), mimeType: r.binary.mimeType }
			: undefined,
		url: r.url,
	};
}
