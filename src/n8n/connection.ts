/**
 * From an n8n credential to the secrets backend. The embedded store is opened once per process and
 * per store file, and shared by every node and credential in it: opening checks the master key (and,
 * with a passphrase, runs scrypt), which must not happen per request.
 */
import { readFileSync } from 'node:fs';

import { SecretsError } from '../core/errors';
import { environmentName, parseInput } from '../core/schemas';
import { openEmbedded, storeLocation } from '../service/config';
import { RemoteSecrets, parseServerUrl } from '../client/remote-secrets';
import type { SecretsApi } from '../service/api';
import type { Caller, SecretsService } from '../service/secrets-service';
import type { N8nContext } from '../core/model';

export interface SecretsConnection {
	connection: 'embedded' | 'remote';
	url?: string;
	token: string;
	environment: string;
}

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
	}
	return { connection, url, token, environment };
}

const embedded = new Map<string, Promise<SecretsService>>();
/** One keep-alive pool per server, shared by every node in the process. */
const remotes = new Map<string, RemoteSecrets>();

/** A PEM file with the CA of the server's certificate, for a private CA. */
function remoteCa(env: NodeJS.ProcessEnv): Buffer | undefined {
	const file = env.N8N_SECRETS_SERVER_CA_FILE?.trim();
	return file ? readFileSync(file) : undefined;
}

/** The client for a remote connection (the server behind `n8n-secrets serve`). */
export function remoteFor(url: string, env: NodeJS.ProcessEnv = process.env): RemoteSecrets {
	let remote = remotes.get(url);
	if (!remote) {
		remote = new RemoteSecrets(url, { ca: remoteCa(env) });
		remotes.set(url, remote);
	}
	return remote;
}

/** The backend behind a connection: the store in this process, or the server's client. */
export async function backendFor(
	conn: SecretsConnection,
	env: NodeJS.ProcessEnv = process.env,
): Promise<SecretsApi> {
	if (conn.connection === 'remote') return remoteFor(conn.url!, env);
	const path = storeLocation(env);
	let opening = embedded.get(path);
	if (!opening) {
		opening = openEmbedded(env);
		embedded.set(path, opening);
		// A failed open (no key yet, wrong key) is retried on the next use instead of cached.
		opening.catch(() => embedded.delete(path));
	}
	return opening;
}

export function callerOf(conn: SecretsConnection, context?: N8nContext): Caller {
	return { token: conn.token, context };
}

/** Closes every embedded store and server pool this process opened (tests, an orderly shutdown). */
export async function closeEmbeddedStores(): Promise<void> {
	const pools = [...remotes.values()];
	remotes.clear();
	for (const remote of pools) await remote.close();
	const all = [...embedded.values()];
	embedded.clear();
	for (const opening of all) {
		const service = await opening.catch(() => undefined);
		await service?.close();
	}
}
