/**
 * Where the embedded store lives and how it is opened, from the environment of the n8n host. The CLI
 * and the n8n nodes resolve it the same way, so both see the same store.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

import { SecretsError } from '../core/errors';
import { type KeyProvider, keyProviderFromEnv } from '../crypto/master-key';
import { PostgresDriver, redactUrl } from '../store/postgres/postgres-driver';
import type { Durability, SqlDriver } from '../store/sql';
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

/** `N8N_SECRETS_DATABASE_URL` selects the PostgreSQL store (many processes and hosts share it). */
export function usesPostgres(env: NodeJS.ProcessEnv = process.env): boolean {
	return Boolean(env.N8N_SECRETS_DATABASE_URL?.trim());
}

export function openPostgresDriver(env: NodeJS.ProcessEnv = process.env): PostgresDriver {
	const pool = Number(env.N8N_SECRETS_DATABASE_POOL_SIZE ?? 10);
	return new PostgresDriver(env.N8N_SECRETS_DATABASE_URL!.trim(), {
		schema: env.N8N_SECRETS_DATABASE_SCHEMA?.trim() || undefined,
		poolSize: Number.isInteger(pool) && pool > 0 ? pool : 10,
		durability: resolveDurability(env),
	});
}

/** The store the environment names: PostgreSQL when a database URL is set, else the SQLite file. */
export function openDriver(env: NodeJS.ProcessEnv = process.env): SqlDriver {
	return usesPostgres(env) ? openPostgresDriver(env) : openSqliteDriver(env);
}

/** Where the store is, for messages and for sharing one open store per process (no password). */
export function storeLocation(env: NodeJS.ProcessEnv = process.env): string {
	if (!usesPostgres(env)) return resolveStorePath(env);
	const schema = env.N8N_SECRETS_DATABASE_SCHEMA?.trim();
	return `${redactUrl(env.N8N_SECRETS_DATABASE_URL!.trim())}${schema ? `#${schema}` : ''}`;
}

/** N8N_SECRETS_RESOLVE_CACHE_ENTRIES: how many resolutions a process keeps rows for (SQLite). */
export function resolveCacheEntries(env: NodeJS.ProcessEnv = process.env): number | undefined {
	const v = env.N8N_SECRETS_RESOLVE_CACHE_ENTRIES?.trim();
	if (!v) return undefined;
	if (!/^\d{1,9}$/.test(v) || Number(v) < 1)
		throw new SecretsError(
			'INVALID_INPUT',
			`N8N_SECRETS_RESOLVE_CACHE_ENTRIES must be a whole number of entries of at least 1 (each about 1.6 KB), not "${v}".`,
		);
	return Number(v);
}

/**
 * Opens the store (SQLite file or PostgreSQL) with the master key from the environment, or with
 * another key (`key rotate` trying the new one).
 */
export function openEmbedded(
	env: NodeJS.ProcessEnv = process.env,
	options: ServiceOptions = {},
	provider: KeyProvider = keyProviderFromEnv(env),
): Promise<SecretsService> {
	const path = resolveStorePath(env);
	// Opening must not leave an empty database file behind where there was none.
	if (!usesPostgres(env) && !existsSync(path)) {
		return Promise.reject(
			new SecretsError(
				'STORE_NOT_INITIALIZED',
				`No secrets store at ${path} yet. Create it with \`n8n-secrets init\` (or set N8N_SECRETS_DB).`,
			),
		);
	}
	return SecretsService.open(openDriver(env), provider, {
		durability: resolveDurability(env),
		resolveCacheEntries: resolveCacheEntries(env),
		...options,
	});
}

/**
 * Creates the store the environment names where it is absent (and its PostgreSQL schema), and the
 * tenant, with a new admin token (`n8n-secrets init`); an existing store is opened as it is.
 */
export async function initEmbedded(
	env: NodeJS.ProcessEnv,
	init: Parameters<typeof SecretsService.init>[2],
): Promise<Awaited<ReturnType<typeof SecretsService.init>> & { keySource: string }> {
	const provider = keyProviderFromEnv(env);
	const driver = openDriver(env);
	if (driver instanceof PostgresDriver)
		await driver.ensureSchema(env.N8N_SECRETS_DATABASE_SCHEMA?.trim() || undefined);
	return { ...(await SecretsService.init(driver, provider, init)), keySource: provider.source };
}
