/**
 * From an n8n credential to the secrets backend. The backend is opened once per process and per
 * store file or server (src/backend/open.ts), and shared by every node and credential in it.
 */
import { SharedBackends } from '../backend/open';
import { type RemoteSecrets, parseServerUrl } from '../client/remote-secrets';
import { SecretsError } from '../core/errors';
import type { N8nContext } from '../core/model';
import { environmentName, parseInput } from '../core/schemas';
import type { Caller, SecretsApi } from '../service/api';

/** A checked credential: a remote connection always names its server. */
export type SecretsConnection = { token: string; environment: string } & (
	| { connection: 'embedded'; url?: string }
	| { connection: 'remote'; url: string }
);

/** The fields a Secrets Store (or Secret Reference Auth) credential holds, checked. */
export function connectionFromCredential(data: Record<string, unknown>): SecretsConnection {
	const connection = (data.connection ?? 'embedded') as string;
	if (connection !== 'embedded' && connection !== 'remote') {
		throw new SecretsError(
			'INVALID_INPUT',
			`Unknown connection "${connection}": choose Embedded or Remote.`,
		);
	}
	const token = typeof data.token === 'string' ? data.token.trim() : '';
	if (!token) {
		throw new SecretsError(
			'INVALID_INPUT',
			'The credential has no access token. Create one with `n8n-secrets token create --role user` and paste it into the credential.',
		);
	}
	const environment = parseInput(
		environmentName,
		typeof data.environment === 'string' ? data.environment.trim() : '',
	);
	const url = typeof data.url === 'string' && data.url.trim() ? data.url.trim() : undefined;
	if (connection === 'remote') {
		if (!url)
			throw new SecretsError(
				'INVALID_INPUT',
				'Remote connection needs the server URL (where `n8n-secrets serve` listens), e.g. https://secrets.internal:8200.',
			);
		parseServerUrl(url);
		return { connection, url, token, environment };
	}
	return { connection, url, token, environment };
}

/** One open backend per store or server, shared by every node and credential in the process. */
const backends = new SharedBackends();

/** The client for a remote connection (the server behind `n8n-secrets serve`). */
export function remoteFor(url: string, env: NodeJS.ProcessEnv = process.env): RemoteSecrets {
	return backends.remote(url, env);
}

/** The backend behind a connection: the store in this process, or the server's client. */
export function backendFor(
	conn: SecretsConnection,
	env: NodeJS.ProcessEnv = process.env,
): Promise<SecretsApi> {
	return backends.open({ url: conn.connection === 'remote' ? conn.url : undefined, env });
}

export function callerOf(conn: SecretsConnection, context?: N8nContext): Caller {
	return { token: conn.token, context };
}

/** Closes every embedded store and server pool this process opened (tests, an orderly shutdown). */
export function closeEmbeddedStores(): Promise<void> {
	return backends.closeAll();
}
