/**
 * `n8n-secrets serve`: opens the store named by the environment (SQLite file or PostgreSQL), serves
 * the API, and shuts down gracefully on SIGTERM/SIGINT (requests in flight finish, then the store
 * closes). Several replicas can serve one PostgreSQL store.
 */
import { readFileSync } from 'node:fs';

import type { FastifyInstance } from 'fastify';

import { SecretsError } from '../core/errors';
import { ExternalIssuer, externalIssuerFromEnv } from '../auth/external-issuer';
import { openEmbedded, storeLocation } from '../service/config';
import type { SecretsService } from '../service/secrets-service';
import { graphiqlFromEnv } from '../graphql/register';
import { parseAllowList } from './address-guard';
import {
	DEFAULT_TIMEOUTS,
	type LogLine,
	type Logger,
	type ServerTimeouts,
	buildServer,
	closeGracefully,
	formatLogLine,
} from './app';

export interface ServeOptions {
	host?: string;
	port?: number;
	tlsCert?: string;
	tlsKey?: string;
	bodyLimit?: number;
	env?: NodeJS.ProcessEnv;
	log?: Logger;
	/** How long a stop waits for requests in flight before cutting them (default 10 s). */
	shutdownTimeoutMs?: number;
	/** Client timeouts; by default from N8N_SECRETS_SERVER_*_TIMEOUT_MS, else DEFAULT_TIMEOUTS. */
	timeouts?: ServerTimeouts;
}

export interface RunningServer {
	app: FastifyInstance;
	service: SecretsService;
	url: string;
	close(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

export function isLoopback(host: string): boolean {
	return LOOPBACK.has(host) || host.startsWith('127.');
}

/** A timeout from the environment: a whole number of `unit`, at least 1. */
function envWhole(
	env: NodeJS.ProcessEnv,
	name: string,
	unit: 'milliseconds' | 'seconds',
): number | undefined {
	const raw = env[name]?.trim();
	if (!raw) return undefined;
	if (!/^\d{1,9}$/.test(raw) || Number(raw) < 1)
		throw new SecretsError(
			'INVALID_INPUT',
			`${name} must be a whole number of ${unit} (at least 1), e.g. ${unit === 'seconds' ? 900 : 10000}.`,
		);
	return Number(raw);
}

/**
 * The client timeouts: N8N_SECRETS_SERVER_HEADERS_TIMEOUT_MS, _REQUEST_TIMEOUT_MS and
 * _KEEPALIVE_TIMEOUT_MS over the defaults. Node requires the headers' deadline within the request's.
 */
export function timeoutsFromEnv(env: NodeJS.ProcessEnv): Required<ServerTimeouts> {
	const t = {
		...DEFAULT_TIMEOUTS,
		headersMs:
			envWhole(env, 'N8N_SECRETS_SERVER_HEADERS_TIMEOUT_MS', 'milliseconds') ??
			DEFAULT_TIMEOUTS.headersMs,
		requestMs:
			envWhole(env, 'N8N_SECRETS_SERVER_REQUEST_TIMEOUT_MS', 'milliseconds') ??
			DEFAULT_TIMEOUTS.requestMs,
		keepAliveMs:
			envWhole(env, 'N8N_SECRETS_SERVER_KEEPALIVE_TIMEOUT_MS', 'milliseconds') ??
			DEFAULT_TIMEOUTS.keepAliveMs,
	};
	if (t.headersMs > t.requestMs)
		throw new SecretsError(
			'INVALID_INPUT',
			'N8N_SECRETS_SERVER_HEADERS_TIMEOUT_MS must not exceed N8N_SECRETS_SERVER_REQUEST_TIMEOUT_MS: ' +
				'the headers are part of the request.',
		);
	return t;
}

export async function startServer(options: ServeOptions = {}): Promise<RunningServer> {
	const env = options.env ?? process.env;
	const host = options.host ?? env.N8N_SECRETS_SERVER_HOST ?? '127.0.0.1';
	const port = options.port ?? Number(env.N8N_SECRETS_SERVER_PORT ?? 8200);
	const log = options.log ?? ((line: LogLine) => process.stdout.write(formatLogLine(line)));
	const certPath = options.tlsCert ?? env.N8N_SECRETS_TLS_CERT;
	const keyPath = options.tlsKey ?? env.N8N_SECRETS_TLS_KEY;
	if (Boolean(certPath) !== Boolean(keyPath)) {
		throw new SecretsError(
			'INVALID_INPUT',
			'TLS needs both a certificate and its private key: give --tls-cert and --tls-key together.',
		);
	}
	const https =
		certPath && keyPath ? { cert: readFileSync(certPath), key: readFileSync(keyPath) } : undefined;
	const timeouts = options.timeouts ?? timeoutsFromEnv(env);
	const issuerConfig = externalIssuerFromEnv(env);
	const service = await openEmbedded(env, {
		externalIssuer: issuerConfig ? new ExternalIssuer(issuerConfig) : undefined,
		relayUnboundTenants: (env.N8N_SECRETS_RELAY_UNBOUND_TENANTS ?? '')
			.split(',')
			.map((t) => t.trim())
			.filter(Boolean),
		onBackgroundError: (err) =>
			log({
				level: 'warn',
				msg: 'background audit ingest failed; it will be retried',
				code: (err as { code?: string }).code,
			}),
	});
	let app: FastifyInstance;
	try {
		app = await buildServer({
			service,
			https,
			bodyLimit: options.bodyLimit ?? (Number(env.N8N_SECRETS_SERVER_BODY_LIMIT) || undefined),
			relay: {
				allowPrivateNetworks: env.N8N_SECRETS_RELAY_ALLOW_PRIVATE === 'true',
				allow: parseAllowList(env.N8N_SECRETS_RELAY_ALLOW),
			},
			log,
			timeouts,
			sessions: {
				idleSeconds: envWhole(env, 'N8N_SECRETS_SESSION_IDLE_SECONDS', 'seconds'),
				maxSeconds: envWhole(env, 'N8N_SECRETS_SESSION_MAX_SECONDS', 'seconds'),
			},
		});
		await app.listen({ host, port });
	} catch (err) {
		await service.close();
		throw err;
	}
	const address = app.server.address();
	const boundPort = typeof address === 'object' && address ? address.port : port;
	const scheme = https ? 'https' : 'http';
	const url = `${scheme}://${host.includes(':') ? `[${host}]` : host}:${boundPort}`;
	log({ level: 'info', msg: `serving the secrets store ${storeLocation(env)} at ${url}/api/v1` });
	log({ level: 'info', msg: `the Secrets page: ${url}/` });
	if (issuerConfig)
		log({ level: 'info', msg: `also accepting tokens from ${issuerConfig.issuer}` });
	if (graphiqlFromEnv(env))
		log({
			level: 'warn',
			msg:
				'GraphiQL is on (N8N_SECRETS_GRAPHIQL=true): it runs scripts from unpkg.com on the Secrets ' +
				"page's origin, with a signed-in session's rights. Turn it off where people use the page.",
		});
	if (!https && !isLoopback(host)) {
		log({
			level: 'warn',
			msg:
				`serving over plain HTTP on ${host}: access tokens and revealed values cross the network ` +
				'unencrypted. Give --tls-cert and --tls-key, or put a TLS proxy in front and bind to 127.0.0.1.',
		});
	}
	let closing: Promise<void> | undefined;
	return {
		app,
		service,
		url,
		close: () =>
			(closing ??= (async () => {
				await closeGracefully(app, options.shutdownTimeoutMs);
				await service.close();
			})()),
	};
}
