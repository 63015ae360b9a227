/**
 * Where the embedded store lives and how it is opened, from the environment of the n8n host. The CLI
 * and the n8n nodes resolve it the same way, so both see the same store.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

import { SecretsError } from '../core/errors';
import { keyProviderFromEnv } from '../crypto/master-key';
import type { Durability } from '../store/sql';
import { SqliteDriver } from '../store/sqlite/sqlite-driver';
import { SecretsService, type ServiceOptions } from './secrets-service';

/** `N8N_SECRETS_DB`, else `<n8n user folder>/.n8n/secrets/secrets.db` like n8n's own data. */
export function resolveStorePath(env: NodeJS.ProcessEnv = process.env): string {
	if (env.N8N_SECRETS_DB) return env.N8N_SECRETS_DB;
	return join(env.N8N_USER_FOLDER || homedir(), '.n8n', 'secrets', 'secrets.db');
}

/** `full` syncs every commit (audit events of `use` too) to disk; the default syncs value changes. */
export function resolveDurability(env: NodeJS.ProcessEnv = process.env): Durability {
	const v = env.N8N_SECRETS_DURABILITY;
	return v === 'full' ? 'full' : 'process';
}

export function openSqliteDriver(env: NodeJS.ProcessEnv = process.env): SqliteDriver {
	return new SqliteDriver(resolveStorePath(env), { durability: resolveDurability(env) });
}

/** Opens the embedded store with the master key from the environment. */
export function openEmbedded(
	env: NodeJS.ProcessEnv = process.env,
	options: ServiceOptions = {},
): Promise<SecretsService> {
	const provider = keyProviderFromEnv(env);
	const path = resolveStorePath(env);
	// Opening must not leave an empty database file behind where there was none.
	if (!existsSync(path)) {
		return Promise.reject(
			new SecretsError(
				'STORE_NOT_INITIALIZED',
				`No secrets store at ${path} yet. Create it with \`n8n-secrets init\` (or set N8N_SECRETS_DB).`,
			),
		);
	}
	return SecretsService.open(openSqliteDriver(env), provider, {
		durability: resolveDurability(env),
		...options,
	});
}
