/** Opening the store for one command, with the token it acts as. */
import { SecretsError } from '../core/errors';
import { openEmbedded } from '../service/config';
import type { Caller, SecretsService } from '../service/secrets-service';
import type { CliIo } from './io';

export interface GlobalOptions {
	db?: string;
	token?: string;
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

/** Opens the store, runs `fn` as the caller, and closes the store whatever happens. */
export async function withService<T>(
	io: CliIo,
	global: GlobalOptions,
	fn: (service: SecretsService, caller: Caller) => Promise<T>,
): Promise<T> {
	const caller = callerFrom(io, global);
	const service = await openEmbedded(commandEnv(io, global));
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
