/**
 * From an n8n credential to the secrets backend. The embedded store is opened once per process and
 * per store file, and shared by every node and credential in it: opening checks the master key (and,
 * with a passphrase, runs scrypt), which must not happen per request.
 */
import { SecretsError } from '../core/errors';
import { environmentName, parseInput } from '../core/schemas';
import { openEmbedded, storeLocation } from '../service/config';
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
	return { connection, url, token, environment };
}

const embedded = new Map<string, Promise<SecretsService>>();

/** The backend behind a connection. */
export async function backendFor(
	conn: SecretsConnection,
	env: NodeJS.ProcessEnv = process.env,
): Promise<SecretsService> {
	if (conn.connection === 'remote') {
		throw new SecretsError(
			'INVALID_INPUT',
			'Remote mode (a separate `n8n-secrets serve`) is not available in this release; choose Embedded.',
		);
	}
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

/** Closes every embedded store this process opened (tests, and an orderly shutdown). */
export async function closeEmbeddedStores(): Promise<void> {
	const all = [...embedded.values()];
	embedded.clear();
	for (const opening of all) {
		const service = await opening.catch(() => undefined);
		await service?.close();
	}
}
