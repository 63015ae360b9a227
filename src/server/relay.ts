/**
 * `POST /relay`: the server performs an outbound HTTP request with the references injected here, so
 * the caller (a relay-only token) never holds a value. It is the Secret HTTP Request's own code path
 * (per-hop resolution, destination binding on every redirect, scrubbing), sending with undici.
 */
import { lookup as dnsLookup } from 'node:dns';
import { isIP } from 'node:net';

import type { IHttpRequestOptions, IN8nHttpFullResponse } from 'n8n-workflow';
import { Agent, request } from 'undici';
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
	/** Allow loopback, private and link-local destinations (off by default: no SSRF into the LAN). */
	allowPrivateNetworks?: boolean;
	/** Largest upstream response body kept, in bytes. */
	maxResponseBytes?: number;
}

function privateAddress(ip: string): boolean {
	const v4 = ip.startsWith('::ffff:') ? ip.slice(7) : ip;
	if (isIP(v4) === 4) {
		const [a, b] = v4.split('.').map(Number);
		return (
			a === 10 ||
			a === 127 ||
			a === 0 ||
			(a === 169 && b === 254) ||
			(a === 172 && b >= 16 && b <= 31) ||
			(a === 192 && b === 168) ||
			(a === 100 && b >= 64 && b <= 127)
		);
	}
	const x = ip.toLowerCase();
	return x === '::1' || x === '::' || /^f[cd]/.test(x) || /^fe[89ab]/.test(x);
}

function refused(host: string): SecretsError {
	return new SecretsError(
		'DESTINATION_NOT_ALLOWED',
		`The relay does not send requests to ${host}: it is a loopback, private or link-local address. ` +
			'An operator can allow it with N8N_SECRETS_RELAY_ALLOW_PRIVATE=true.',
	);
}

export class Relay {
	private readonly agent: Agent;
	private readonly maxBytes: number;

	constructor(
		private readonly service: SecretsService,
		private readonly options: RelayOptions = {},
	) {
		this.maxBytes = options.maxResponseBytes ?? 10 * 1024 * 1024;
		this.agent = new Agent({
			connect: {
				// Names are checked after resolution, so a DNS name pointing into the LAN is refused too.
				lookup: (hostname, opts, callback) =>
					dnsLookup(hostname, { ...opts, all: true }, (err, addresses) => {
						if (err) return callback(err, '', 0);
						const list = addresses as { address: string; family: number }[];
						if (!this.options.allowPrivateNetworks && list.some((a) => privateAddress(a.address)))
							return callback(refused(hostname) as unknown as NodeJS.ErrnoException, '', 0);
						if ((opts as { all?: boolean }).all)
							return (callback as unknown as (e: null, a: typeof list) => void)(null, list);
						return callback(null, list[0].address, list[0].family);
					}),
			},
		});
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
		);
		return wire(response);
	}

	private async send(options: IHttpRequestOptions): Promise<IN8nHttpFullResponse> {
		const url = new URL(options.url);
		for (const [k, v] of Object.entries(options.qs ?? {})) url.searchParams.append(k, String(v));
		const host = url.hostname.replace(/^\[|\]$/g, '');
		if (!this.options.allowPrivateNetworks && isIP(host) && privateAddress(host))
			throw refused(host);
		const headers: Record<string, string> = {};
		for (const [k, v] of Object.entries(options.headers ?? {}))
			if (v !== undefined && v !== null) headers[k.toLowerCase()] = String(v);
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
			return {
				statusCode: res.statusCode,
				headers: res.headers as Record<string, string>,
				body: Buffer.concat(chunks),
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
