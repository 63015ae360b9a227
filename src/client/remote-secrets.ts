/**
 * The service's interface over HTTP: what nodes and the CLI use in remote mode, against
 * `n8n-secrets serve`. A keep-alive undici pool per server, timeouts, retries for idempotent reads
 * only (a write is never sent twice), and the API's error codes turned back into SecretsErrors, so
 * callers handle both modes alike.
 */
import { Pool, type Dispatcher } from 'undici';

import { SecretsError, isErrorCode } from '../core/errors';
import {
	CONTEXT_HEADERS,
	type AuditEvent,
	type Page,
	type SecretMetadata,
	type TokenInfo,
	type VersionInfo,
} from '../core/model';
import type * as schema from '../core/schemas';
import type { SecretsApi } from '../service/api';
import type {
	Caller,
	DueItem,
	ExpiringItem,
	ResolvedValue,
	SecretsService,
	Stats,
} from '../service/secrets-service';
import type { VerifyResult } from '../service/audit-chain';
import type { RelayInput, RelayResponse } from '../server/relay';

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

export class RemoteSecrets implements SecretsApi {
	private readonly pool: Pool;
	private readonly base: string;
	readonly origin: string;
	private readonly retries: number;

	constructor(url: string, options: RemoteOptions = {}) {
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

	private secretPath(name: string, suffix = ''): string {
		return `/secrets/${encodeURIComponent(name)}${suffix}`;
	}

	whoami(caller: Caller): ReturnType<SecretsService['whoami']> {
		return this.call(caller, 'GET', '/whoami');
	}

	createSecret(caller: Caller, input: schema.CreateSecretInput): Promise<SecretMetadata> {
		return this.call(caller, 'POST', '/secrets', { body: input });
	}

	updateSecret(caller: Caller, input: schema.UpdateSecretInput): Promise<SecretMetadata> {
		const { name, ...body } = input;
		return this.call(caller, 'PATCH', this.secretPath(name), { body });
	}

	private lineCall<T>(
		caller: Caller,
		method: Method,
		suffix: string,
		input: { name: string; environment: string } & Record<string, unknown>,
	): Promise<T> {
		const { name, environment, ...body } = input;
		return this.call(caller, method, this.secretPath(name, suffix), {
			query: { env: environment },
			body,
		});
	}

	setValue(caller: Caller, input: schema.SetValueInput): Promise<VersionInfo> {
		return this.lineCall(caller, 'PUT', '/value', input);
	}

	stage(caller: Caller, input: schema.RotateInput): Promise<VersionInfo> {
		return this.lineCall(caller, 'POST', '/stage', input);
	}

	promote(caller: Caller, input: schema.LineInput): Promise<VersionInfo> {
		return this.lineCall(caller, 'POST', '/promote', input);
	}

	rollback(caller: Caller, input: schema.LineInput): Promise<VersionInfo> {
		return this.lineCall(caller, 'POST', '/rollback', input);
	}

	rotate(caller: Caller, input: schema.RotateInput): Promise<VersionInfo> {
		return this.lineCall(caller, 'POST', '/rotate', input);
	}

	getSecret(caller: Caller, name: string): Promise<SecretMetadata> {
		return this.call(caller, 'GET', this.secretPath(name));
	}

	listSecrets(caller: Caller, input: schema.ListSecretsInput = {}): Promise<Page<SecretMetadata>> {
		const { environment, ...rest } = input;
		return this.call(caller, 'GET', '/secrets', { query: { ...rest, env: environment } });
	}

	listVersions(
		caller: Caller,
		input: { name: string; environment: string },
	): Promise<VersionInfo[]> {
		return this.call(caller, 'GET', this.secretPath(input.name, '/versions'), {
			query: { env: input.environment },
		});
	}

	deleteSecret(caller: Caller, name: string, reason?: string): Promise<SecretMetadata> {
		return this.call(caller, 'DELETE', this.secretPath(name), { query: { reason } });
	}

	restoreSecret(caller: Caller, name: string): Promise<SecretMetadata> {
		return this.call(caller, 'POST', this.secretPath(name, '/restore'), { body: {} });
	}

	async purgeSecret(caller: Caller, name: string): Promise<void> {
		await this.call(caller, 'POST', this.secretPath(name, '/purge'), { body: {} });
	}

	use(caller: Caller, input: schema.ResolveInput): Promise<ResolvedValue> {
		return this.lineCall(caller, 'POST', '/resolve', input);
	}

	reveal(caller: Caller, input: schema.ResolveInput): Promise<ResolvedValue> {
		return this.lineCall(caller, 'POST', '/reveal', input);
	}

	expiring(caller: Caller, input: schema.WithinDaysInput = {}): Promise<ExpiringItem[]> {
		return this.call(caller, 'GET', '/secrets/expiring', {
			query: { withinDays: input.withinDays, env: input.environment },
		});
	}

	dueForRotation(caller: Caller, input: schema.DueInput = {}): Promise<DueItem[]> {
		return this.call(caller, 'GET', '/rotation/due', {
			query: { env: input.environment, policy: input.rotationPolicy },
		});
	}

	stats(caller: Caller): Promise<Stats> {
		return this.call(caller, 'GET', '/stats');
	}

	maintenance(caller: Caller): Promise<{ purged: string[]; retentionApplied: number }> {
		return this.call(caller, 'POST', '/maintenance', { body: {} });
	}

	listAudit(caller: Caller, input: schema.AuditQueryInput = {}): Promise<Page<AuditEvent>> {
		return this.call(caller, 'GET', '/audit', { query: input as Record<string, unknown> });
	}

	verifyAudit(caller: Caller): Promise<VerifyResult> {
		return this.call(caller, 'GET', '/audit/verify');
	}

	createToken(
		caller: Caller,
		input: schema.CreateTokenInput,
	): Promise<{ token: string; info: TokenInfo }> {
		return this.call(caller, 'POST', '/tokens', { body: input });
	}

	revokeToken(caller: Caller, jti: string): Promise<TokenInfo> {
		return this.call(caller, 'DELETE', `/tokens/${encodeURIComponent(jti)}`);
	}

	listTokens(caller: Caller): Promise<TokenInfo[]> {
		return this.call(caller, 'GET', '/tokens');
	}

	/** Re-encrypts every value under new data keys on the server (the master key stays as it is). */
	reencrypt(
		caller: Caller,
		batchSize?: number,
	): Promise<{ rewrapped: number; reencrypted: number }> {
		return this.call(caller, 'POST', '/keys/rotate', { body: { reencrypt: true, batchSize } });
	}

	/** The server sends the request with the references injected; only the scrubbed answer comes back. */
	relay(caller: Caller, input: RelayInput): Promise<RelayResponse> {
		return this.call(caller, 'POST', '/relay', { body: input });
	}

	async close(): Promise<void> {
		await this.pool.close();
	}
}
