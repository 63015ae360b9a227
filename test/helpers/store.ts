import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { randomBytes } from 'node:crypto';

import { Client } from 'pg';

import { rawKeyProvider, type KeyProvider } from '../../src/crypto/master-key';
import { PostgresDriver, numberPlaceholders } from '../../src/store/postgres/postgres-driver';
import type { SqlDriver } from '../../src/store/sql';
import { openKeys, sealUnsealedRows } from '../../src/service/store-keys';
import { SqliteDriver } from '../../src/store/sqlite/sqlite-driver';
import { SecretsService, type ServiceOptions } from '../../src/service/secrets-service';

/** A mutable clock: tests move time forward to cross expiry dates and retention windows. */
export class TestClock {
	constructor(public ms = Date.parse('2026-11-23T12:00:00.000Z')) {}
	now = (): Date => new Date(this.ms);
	advanceDays(days: number): void {
		this.ms += days * 86_400_000;
	}
}

export function newMasterKey(base64 = randomBytes(32).toString('base64')): KeyProvider {
	return rawKeyProvider(base64, 'test key');
}

/**
 * Which store the contract suites run on: jest's `postgres` project sets N8N_SECRETS_TEST_STORE, so
 * every integration suite runs once on SQLite and once on PostgreSQL.
 */
export const STORE_KIND: 'sqlite' | 'postgres' =
	process.env.N8N_SECRETS_TEST_STORE === 'postgres' ? 'postgres' : 'sqlite';

export const TEST_DATABASE_URL =
	process.env.N8N_SECRETS_TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';

/**
 * `it` on SQLite only: for what is about the SQLite file itself (WAL, bytes on disk, journal files).
 * On PostgreSQL such a test does not exist (rather than being reported as skipped).
 */
export const itSqlite: typeof it =
	STORE_KIND === 'sqlite' ? it : ((() => undefined) as unknown as typeof it);

export interface TestStore {
	kind: 'sqlite' | 'postgres';
	dir: string;
	/** The SQLite file (for PostgreSQL, a file path that is never created). */
	path: string;
	/** The PostgreSQL schema holding this store (for PostgreSQL only). */
	schema?: string;
	/** Environment variables that point a child process or the CLI at this store. */
	storeEnv: Record<string, string>;
	/** A new connection to the same store, as another process would open. */
	driver(): SqlDriver;
	/** A driver for a new, empty store of the same kind (removed at cleanup). */
	emptyDriver(): Promise<SqlDriver>;
	/** Every row of every table as text: what someone with a copy of the database could read. */
	dump(): Promise<Buffer[]>;
	/** Runs one statement on the store directly, as an attacker or a broken disk would. */
	sql(statement: string, ...params: (string | number | Uint8Array)[]): Promise<unknown[]>;
	key: KeyProvider;
	/** The master key as N8N_SECRETS_MASTER_KEY would hold it, for child processes. */
	keyBase64: string;
	clock: TestClock;
	service: SecretsService;
	admin: { token: string };
	open(options?: ServiceOptions, key?: KeyProvider): Promise<SecretsService>;
	cleanup(): Promise<void>;
}

/** A real SQLite file in a fresh temporary folder, initialized with an admin token for `default`. */
export async function createTestStore(
	options: { tenant?: string; kind?: 'sqlite' | 'postgres' } = {},
): Promise<TestStore> {
	const kind = options.kind ?? STORE_KIND;
	const dir = mkdtempSync(join(tmpdir(), 'n8n-secrets-test-'));
	const path = join(dir, 'secrets.db');
	const keyBase64 = randomBytes(32).toString('base64');
	const key = newMasterKey(keyBase64);
	const clock = new TestClock();
	const opened: SecretsService[] = [];
	const schema = kind === 'postgres' ? await createSchema() : undefined;
	const driver = (): SqlDriver =>
		kind === 'postgres'
			? new PostgresDriver(TEST_DATABASE_URL, { schema, poolSize: 4 })
			: new SqliteDriver(path);
	const storeEnv: Record<string, string> =
		kind === 'postgres'
			? { N8N_SECRETS_DATABASE_URL: TEST_DATABASE_URL, N8N_SECRETS_DATABASE_SCHEMA: schema! }
			: { N8N_SECRETS_DB: path };
	const extraSchemas: string[] = [];
	const { service, token } = await SecretsService.init(
		driver(),
		key,
		{ tenant: options.tenant },
		{ now: clock.now },
	);
	opened.push(service);
	return {
		kind,
		dir,
		path,
		schema,
		storeEnv,
		driver,
		async emptyDriver() {
			if (kind === 'sqlite') return new SqliteDriver(join(dir, `empty-${extraSchemas.length}.db`));
			const other = await createSchema();
			extraSchemas.push(other);
			return new PostgresDriver(TEST_DATABASE_URL, { schema: other, poolSize: 2 });
		},
		async dump() {
			if (kind === 'sqlite')
				return [path, `${path}-wal`, `${path}-shm`].filter(existsSync).map((f) => readFileSync(f));
			const tables = (await pgSql(
				schema!,
				'SELECT table_name FROM information_schema.tables WHERE table_schema = ? ORDER BY table_name',
				schema!,
			)) as { table_name: string }[];
			const out: Buffer[] = [];
			for (const { table_name } of tables) {
				// Ordered: without ORDER BY, PostgreSQL may return the same rows in another order.
				const rows = (await pgSql(
					schema!,
					`SELECT x::text AS t FROM ${table_name} x ORDER BY 1`,
				)) as {
					t: string;
				}[];
				out.push(Buffer.from(`${table_name}\n${rows.map((r) => r.t).join('\n')}`));
			}
			return out;
		},
		sql: (statement, ...params) =>
			kind === 'postgres'
				? pgSql(schema!, statement, ...params)
				: Promise.resolve(rawSql(path, statement, ...params)),
		key,
		keyBase64,
		clock,
		service,
		admin: { token },
		async open(opts = {}, k = key) {
			const s = await SecretsService.open(driver(), k, { now: clock.now, ...opts });
			opened.push(s);
			return s;
		},
		async cleanup() {
			for (const s of opened) await s.close();
			rmSync(dir, { recursive: true, force: true });
			for (const x of [schema, ...extraSchemas])
				if (x) await pgSql(null, `DROP SCHEMA IF EXISTS ${x} CASCADE`);
		},
	};
}

/**
 * Runs one statement on the store file directly, as an attacker or a broken disk would: for tests
 * that tamper with rows and check the engine notices.
 */
export function rawSql(
	path: string,
	statement: string,
	...params: (string | number | Uint8Array)[]
): unknown[] {
	const db = new DatabaseSync(path);
	try {
		return db.prepare(statement).all(...params);
	} finally {
		db.close();
	}
}

/** A fresh schema in the test database: each test store is isolated, and dropped afterwards. */
async function createSchema(): Promise<string> {
	const schema = `t_${randomBytes(6).toString('hex')}`;
	await pgSql(null, `CREATE SCHEMA ${schema}`);
	return schema;
}

/** One statement on the PostgreSQL test database (`?` placeholders, as the store's SQL). */
export async function pgSql(
	schema: string | null,
	statement: string,
	...params: (string | number | Uint8Array)[]
): Promise<unknown[]> {
	const client = new Client({ connectionString: TEST_DATABASE_URL });
	await client.connect();
	try {
		if (schema) await client.query(`SET search_path = ${schema}`);
		const text = numberPlaceholders(statement);
		return (
			await client.query(
				text,
				params.map((p) => (p instanceof Uint8Array ? Buffer.from(p) : p)),
			)
		).rows;
	} finally {
		await client.end();
	}
}

/**
 * rawSql on a SQLite store, then every row re-sealed with its master key: a legitimate writer's change
 * (aging a version for a rotation test), not tampering.
 */
export async function sealedRawSql(
	path: string,
	keyBase64: string,
	statement: string,
	...params: (string | number | Uint8Array)[]
): Promise<unknown[]> {
	const rows = rawSql(path, statement, ...params);
	await resealEverything(new SqliteDriver(path), newMasterKey(keyBase64));
	return rows;
}

/**
 * Re-seals every sealed row of the store as it now is (see sealedRawSql): the seals are cleared
 * and the store sealed again the way a store written before seals is at its first open.
 */
async function resealEverything(driver: SqlDriver, key: KeyProvider): Promise<void> {
	const { keyring } = await openKeys(driver, key, false, new Date().toISOString());
	try {
		await driver.transaction(async (tx) => {
			for (const table of ['secrets', 'value_lines', 'tokens'])
				await tx.run(`UPDATE ${table} SET seal = NULL, seal_key = NULL`);
			for (const table of ['versions', 'signing_keys'])
				await tx.run(`UPDATE ${table} SET seal = NULL`);
			await tx.run("DELETE FROM meta WHERE key = 'row_seals'");
		});
		await sealUnsealedRows(driver, keyring);
	} finally {
		await driver.close();
	}
}
