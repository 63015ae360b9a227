/** The API server on loopback over a test store, with its log lines captured, and a raw HTTP caller. */
import type { AddressInfo } from 'node:net';

import type { FastifyInstance } from 'fastify';
import { request } from 'undici';

import type { ExternalIssuer } from '../../src/auth/external-issuer';
import { type LogLine, buildServer } from '../../src/server/app';
import type { RelayOptions } from '../../src/server/relay';
import type { SecretsService } from '../../src/service/secrets-service';
import type { TestStore } from './store';

/** An API answer as the tests read it: any JSON, checked by the assertions themselves. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- arbitrary JSON, asserted field by field
export type Answer = any;

export interface ApiServer {
	url: string;
	app: FastifyInstance;
	service: SecretsService;
	logs: LogLine[];
	call(
		method: string,
		path: string,
		options?: { token?: string; body?: unknown; raw?: string; headers?: Record<string, string> },
	): Promise<{ status: number; body: Answer; headers: Record<string, unknown> }>;
	close(): Promise<void>;
}

export async function startApiServer(
	t: TestStore,
	options: {
		bodyLimit?: number;
		externalIssuer?: ExternalIssuer;
		/** The relay's address policy; by default only the tests' upstreams on 127.0.0.1 are allowed. */
		relay?: RelayOptions;
		/** `true`: every address (N8N_SECRETS_RELAY_ALLOW_PRIVATE); `false`: public addresses only. */
		allowPrivate?: boolean;
		relayUnboundTenants?: string[];
	} = {},
): Promise<ApiServer> {
	const service = await t.open({
		externalIssuer: options.externalIssuer,
		relayUnboundTenants: options.relayUnboundTenants,
	});
	const logs: LogLine[] = [];
	const app = await buildServer({
		service,
		bodyLimit: options.bodyLimit,
		log: (l) => logs.push(l),
		relay:
			options.relay ??
			(options.allowPrivate === undefined
				? { allow: ['127.0.0.1/32'] }
				: { allowPrivateNetworks: options.allowPrivate }),
	});
	await app.listen({ host: '127.0.0.1', port: 0 });
	const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
	return {
		url,
		app,
		service,
		logs,
		async call(method, path, o = {}) {
			const headers: Record<string, string> = { ...(o.headers ?? {}) };
			if (o.token !== undefined) headers.authorization = `Bearer ${o.token}`;
			let body: string | undefined = o.raw;
			if (o.body !== undefined) {
				body = JSON.stringify(o.body);
				headers['content-type'] ??= 'application/json';
			} else if (o.raw !== undefined) headers['content-type'] ??= 'application/json';
			const res = await request(`${url}${path}`, {
				method: method as 'GET',
				headers,
				body,
			});
			const text = await res.body.text();
			let parsed: unknown = text;
			try {
				parsed = JSON.parse(text);
			} catch {
				// not JSON
			}
			return { status: res.statusCode, body: parsed, headers: res.headers };
		},
		close: () => app.close(),
	};
}
