/**
 * The service's interface over HTTP: what nodes and the CLI use in remote mode, against
 * `n8n-secrets serve`. A keep-alive undici pool per server, timeouts, retries for idempotent reads
 * only (a write is never sent twice), and the API's error codes turned back into SecretsErrors, so
 * callers handle both modes alike.
 */
import { Pool, type Dispatcher } from 'undici';

import { SecretsError, isErrorCode } from '../core/errors';
import { CONTEXT_HEADERS } from '../core/model';
import type { RelayInput, RelayResponse } from '../outbound/spec';
import { RELAY_ROUTE, ROUTES, type Route } from '../server/routes';
import type { Caller } from '../service/api';
import { OperationsApi } from '../service/facade';
import type { OperationName } from '../service/operations';

/** Each operation's route: the client sends what the server's generated route expects. */
const ROUTE_OF = new Map<string, Route>(ROUTES.map((r) => [r.operation, r]));

export interface RemoteOptions {
	/** Per request: connecting, then waiting for the answer. */
	timeoutMs?: number;
	/** Extra attempts for reads that failed to connect or met 502/503/504. */
	retries?: number;
	connections?: number;
	/** PEM of the CA that signed the server's certificate (a private CA or a self-signed one). */
	ca?: string | Buffer;
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

const RETRY_STATUS = new Set([502, 503, 504]);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function unreachable(origin: string, err: unknown): SecretsError {
	const e = err as { code?: string; cause?: { code?: string }; name?: string };
	const code = e.code ?? e.cause?.code ?? e.name ?? 'error';
	return new SecretsError(
		'SERVER_UNAVAILABLE',
		`Cannot reach the secrets server at ${origin} (${code}). Check the URL and that \`n8n-secrets serve\` is running.`,
	);
}

export function parseServerUrl(url: string): URL {
	let u: URL;
	try {
		u = new URL(url);
	} catch {
		throw new SecretsError(
			'INVALID_INPUT',
			`"${url}" is not a URL: give the server's address, such as https://secrets.internal:8200.`,
		);
	}
	if (u.protocol !== 'http:' && u.protocol !== 'https:')
		throw new SecretsError('INVALID_INPUT', 'The server URL must start with http:// or https://.');
	if (u.username || u.password)
		throw new SecretsError(
			'INVALID_INPUT',
			'Put the access token in the token field, not in the server URL.',
		);
	return u;
}

export class RemoteSecrets extends OperationsApi {
	protected readonly useOperation = 'resolve';
	private readonly pool: Pool;
	private readonly base: string;
	readonly origin: string;
	private readonly retries: number;

	constructor(url: string, options: RemoteOptions = {}) {
		super();
		const u = parseServerUrl(url);
		this.origin = u.origin;
		this.base = `${u.pathname.replace(/\/+$/, '')}/api/v1`;
		this.retries = options.retries ?? 2;
		const timeout = options.timeoutMs ?? 15_000;
		this.pool = new Pool(u.origin, {
			connections: options.connections ?? 16,
			keepAliveTimeout: 30_000,
			headersTimeout: timeout,
			bodyTimeout: timeout,
			connect: { timeout, ...(options.ca ? { ca: options.ca } : {}) },
		});
	}

	private headers(caller: Caller, body: boolean): Record<string, string> {
		const h: Record<string, string> = {
			authorization: `Bearer ${caller?.token ?? ''}`,
			accept: 'application/json',
		};
		if (body) h['content-type'] = 'application/json';
		for (const [field, header] of CONTEXT_HEADERS) {
			const v = caller?.context?.[field];
			if (v) h[header] = encodeURIComponent(v);
		}
		return h;
	}

	private async call<T>(
		caller: Caller,
		method: Method,
		path: string,
		options: { query?: Record<string, unknown>; body?: unknown } = {},
	): Promise<T> {
		const qs = new URLSearchParams();
		for (const [k, v] of Object.entries(options.query ?? {}))
			if (v !== undefined && v !== null) qs.append(k, String(v));
		const search = qs.toString();
		const request: Dispatcher.RequestOptions = {
			method,
			path: `${this.base}${path}${search ? `?${search}` : ''}`,
			headers: this.headers(caller, options.body !== undefined),
			body: options.body === undefined ? undefined : JSON.stringify(options.body),
		};
		const attempts = method === 'GET' ? this.retries + 1 : 1;
		for (let attempt = 1; ; attempt++) {
			let res: Dispatcher.ResponseData;
			try {
				res = await this.pool.request(request);
			} catch (err) {
				if (attempt < attempts) {
					await sleep(50 * attempt);
					continue;
				}
				throw unreachable(this.origin, err);
			}
			const text = await res.body.text();
			if (RETRY_STATUS.has(res.statusCode) && attempt < attempts) {
				await sleep(50 * attempt);
				continue;
			}
			let parsed: unknown;
			try {
				parsed = text ? JSON.parse(text) : undefined;
			} catch {
				parsed = undefined;
			}
			if (res.statusCode >= 200 && res.statusCode < 300) return parsed as T;
			const e = (parsed ?? {}) as { code?: unknown; message?: unknown; details?: unknown };
			if (isErrorCode(e.code) && typeof e.message === 'string') {
				throw new SecretsError(e.code, e.message, {
					details: e.details as Record<string, unknown> | undefined,
				});
			}
			throw new SecretsError(
				res.statusCode >= 500 ? 'SERVER_UNAVAILABLE' : 'INVALID_INPUT',
				`The secrets server at ${this.origin} answered ${res.statusCode} without an error code; is this URL an n8n-secrets server?`,
			);
		}
	}

	/**
	 * Runs an operation on the server: its input fields go where the operation's route puts them (the
	 * path, the query string, the body), and the server's runner validates, authorizes and audits it.
	 */
	run(name: OperationName, caller: Caller, input: unknown): Promise<unknown> {
		const route = ROUTE_OF.get(name);
		if (!route)
			return Promise.reject(
				new SecretsError(
					'INVALID_INPUT',
					`"${name}" is not available over the network; run it with the CLI on the store's host.`,
				),
			);
		const rest: Record<string, unknown> = { ...(input as Record<string, unknown>) };
		const take = (field: string) => {
			const v = rest[field];
			delete rest[field];
			return v;
		};
		const path = route.path.replace(/:([A-Za-z]+)/g, (_, field: string) =>
			encodeURIComponent(String(take(field) ?? '')),
		);
		const query: Record<string, unknown> = {};
		for (const [q, field] of Object.entries(route.query)) query[q] = take(field);
		const left = Object.keys(rest).filter((k) => rest[k] !== undefined);
		if (!route.hasBody && left.length > 0)
			return Promise.reject(
				new SecretsError(
					'INVALID_INPUT',
					`Invalid input: ${left.join(', ')}: only available on the store's host (the CLI there).`,
				),
			);
		return this.call(caller, route.method, path, { query, body: route.hasBody ? rest : undefined });
	}

	/** Re-encrypts every value under new data keys on the server (the master key stays as it is). */
	reencrypt(
		caller: Caller,
		batchSize?: number,
	): Promise<{ rewrapped: number; reencrypted: number }> {
		return this.run('rotateDataKeys', caller, { reencrypt: true, batchSize }) as Promise<{
			rewrapped: number;
			reencrypted: number;
		}>;
	}

	/** The server sends the request with the references injected; only the scrubbed answer comes back. */
	relay(caller: Caller, input: RelayInput): Promise<RelayResponse> {
		return this.call(caller, RELAY_ROUTE.method, RELAY_ROUTE.path, { body: input });
	}

	async close(): Promise<void> {
		await this.pool.close();
	}
}
