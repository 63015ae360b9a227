/** Opening the store for one command, with the token it acts as. */
import { readFileSync } from 'node:fs';

import { RemoteSecrets } from '../client/remote-secrets';
import { SecretsError } from '../core/errors';
import type { SecretsApi } from '../service/api';
import { openEmbedded } from '../service/config';
import type { Caller } from '../service/secrets-service';
import type { CliIo } from './io';

export interface GlobalOptions {
	db?: string;
	token?: string;
	url?: string;
}

/** The server to talk to: `--url`, else N8N_SECRETS_URL; undefined for the local store. */
export function serverUrl(io: CliIo, global: GlobalOptions): string | undefined {
	return global.url ?? (io.env.N8N_SECRETS_URL?.trim() || undefined);
}

export function openRemote(io: CliIo, url: string): RemoteSecrets {
	const ca = io.env.N8N_SECRETS_SERVER_CA_FILE?.trim();
	return new RemoteSecrets(url, { ca: ca ? readFileSync(ca) : undefined });
}

/** The environment the command runs with: `--db` overrides N8N_SECRETS_DB. */
export function commandEnv(io: CliIo, global: GlobalOptions): NodeJS.ProcessEnv {
	return global.db ? { ...io.env, N8N_SECRETS_DB: global.db } : io.env;
}

export function callerFrom(io: CliIo, global: GlobalOptions): Caller {
	const token = global.token ?? io.env.N8N_SECRETS_TOKEN;
	if (!token) {
		throw new SecretsError(
			'INVALID_INPUT',
			'No access token: set N8N_SECRETS_TOKEN (preferred: command-line arguments are visible to other ' +
				'users in `ps`) or pass --token. `n8n-secrets init` prints an admin token.',
		);
	}
	return { token: token.trim(), context: { mode: 'cli' } };
}

/**
 * Opens the store (or, with `--url`, a client of the server), runs `fn` as the caller, and closes it
 * whatever happens.
 */
export async function withService<T>(
	io: CliIo,
	global: GlobalOptions,
	fn: (service: SecretsApi, caller: Caller) => Promise<T>,
): Promise<T> {
	const caller = callerFrom(io, global);
	const url = serverUrl(io, global);
	const service: SecretsApi = url
		? openRemote(io, url)
		: await openEmbedded(commandEnv(io, global));
	try {
		return await fn(service, caller);
	} finally {
		await service.close();
	}
}

/** Reads a value from standard input, dropping one trailing newline (from `echo` or a here-doc). */
export async function readValue(io: CliIo): Promise<string> {
	const text = await io.stdin();
	const value = text.endsWith('\r\n')
		? text.slice(0, -2)
		: text.endsWith('\n')
			? text.slice(0, -1)
			: text;
	if (value.length === 0) {
		throw new SecretsError(
			'INVALID_INPUT',
			'Standard input was empty: pipe the value in, for example `printf %s "$VALUE" | n8n-secrets …`.',
		);
	}
	return value;
}
