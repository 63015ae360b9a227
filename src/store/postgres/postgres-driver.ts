import { createHash } from 'node:crypto';

import { Pool, type PoolClient, type PoolConfig, types } from 'pg';

import { SecretsError } from '../../core/errors';
import type { Durability, SqlDriver, SqlExecutor, SqlParam, TransactionOptions } from '../sql';
import { AuditAppends } from './audit-appends';

export interface PostgresOptions {
	/** Schema to create the tables in and read them from (search_path); default: the server's. */
	schema?: string;
	/** Connections per process. Writers queue for the store's write lock, readers do not. */
	poolSize?: number;
	/** 'full' waits for every commit to reach the server's disk; 'process' only value changes. */
	durability?: Durability;
	/** How long a writer waits for the store's write lock before STORE_BUSY. */
	lockTimeoutMs?: number;
}

/**
 * One lock for every write transaction of the store, in every process: the same rule as SQLite's
 * `BEGIN IMMEDIATE`, so the service's read-then-write steps (next version number, moving labels,
 * the audit chain's head) run one at a time across all n8n workers and servers. Transactions that
 * only append audit events take it shared: they never overlap a write, and the head row's lock
 * (`FOR UPDATE`) orders them among themselves. Readers never wait.
 */
const WRITE_LOCK = 0x6e386e73; // "n8ns"

/** The store's change counter (migration 5), moved by every write to a table a process may cache. */
const READ_COUNTER = {
	name: 'n8ns_counter',
	text: 'SELECT counter FROM store_changes WHERE id = 1',
};
/** Connections of the audit appends' own pool (statements of many resolutions each). */
const APPEND_CONNECTIONS = 4;

const INT8 = 20;
/** Counts and audit sequence numbers stay far below 2^53; hand the code numbers, as SQLite does. */
const parseInt8 = (v: string): number => Number(v);

/** The URL with its password replaced, for messages and logs. */
export function redactUrl(url: string): string {
	try {
		const u = new URL(url);
		if (u.password) u.password = '****';
		return u.toString();
	} catch {
		return 'postgres://(unparsable URL)';
	}
}

/** `?` placeholders (written once for both engines) to PostgreSQL's `$1, $2, …`; literals kept. */
export function numberPlaceholders(sql: string): string {
	let n = 0;
	let out = '';
	let quoted = false;
	for (const ch of sql) {
		if (ch === "'") quoted = !quoted;
		out += ch === '?' && !quoted ? `$${++n}` : ch;
	}
	return out;
}

function param(p: SqlParam): unknown {
	if (p instanceof Uint8Array && !Buffer.isBuffer(p))
		return Buffer.from(p.buffer, p.byteOffset, p.byteLength);
	if (typeof p === 'bigint') return p.toString();
	return p;
}

function unreachable(location: string, err: unknown): SecretsError {
	const e = err as { code?: string; message?: string };
	return new SecretsError(
		'STORE_UNAVAILABLE',
		`Cannot reach the PostgreSQL secrets store at ${location} (${e.code ?? e.message ?? 'error'}). ` +
			'Check N8N_SECRETS_DATABASE_URL and that the server accepts connections.',
		{ cause: err },
	);
}

/**
 * The server refused a write for want of room (53100 disk_full) or because it takes only reads (25006
 * read_only_sql_transaction: a hot standby, or default_transaction_read_only). Reads still work.
 */
export function storageFault(location: string, err: unknown): SecretsError | undefined {
	const e = err as { code?: string; message?: string };
	if (e?.code === '53100') {
		return new SecretsError(
			'STORE_FULL',
			`The PostgreSQL server of the secrets store at ${location} is out of disk space (53100: ${e.message}). ` +
				'Free space on its data volume, then try again. Reading secrets and the audit trail still works; ' +
				'nothing was changed.',
			{ cause: err, details: { location, sqlstate: e.code } },
		);
	}
	if (e?.code === '25006') {
		return new SecretsError(
			'STORE_READ_ONLY',
			`The PostgreSQL secrets store at ${location} accepts only reads (25006: ${e.message}): the server is a ` +
				'read-only standby, or default_transaction_read_only is on for this database or user. Point ' +
				'N8N_SECRETS_DATABASE_URL at the primary, or turn the setting off. Reading secrets and the audit ' +
				'trail still works; nothing was changed.',
			{ cause: err, details: { location, sqlstate: e.code } },
		);
	}
	return undefined;
}

/** Errors of the connection, not of the statement: the store is down or refused us. */
function isConnectionError(err: unknown): boolean {
	const code = (err as { code?: string }).code ?? '';
	return (
		/^(ECONNREFUSED|ECONNRESET|ENOTFOUND|ETIMEDOUT|EHOSTUNREACH|EPIPE)$/.test(code) ||
		code.startsWith('08') ||
		code === '28P01' ||
		code === '28000' ||
		code === '3D000' ||
		code === '57P01'
	);
}

/**
 * The scaled store: PostgreSQL through a `pg` pool, with named prepared statements (parsed once per
 * connection) and the same SQL as the SQLite store.
 */
export class PostgresDriver implements SqlDriver {
	readonly dialect = 'postgres' as const;
	/** Audit events are chained directly in each transaction, under the head row's lock. */
	readonly journalDir = null;
	readonly location: string;
	readonly schema: string | undefined;
	private readonly pool: Pool;
	/** Audit records of resolutions, checked against the change counter (audit-appends.ts). */
	readonly auditAppends: AuditAppends;
	private readonly appendPool: Pool;
	private readonly names = new Map<string, { name: string; text: string }>();
	private readonly durability: Durability;
	private readonly lockTimeoutMs: number;
	private readonly direct: SqlExecutor;
	/** The tail of this process's queue of exclusive writers (see writerTurn). */
	private writers: Promise<void> = Promise.resolve();

	constructor(url: string, options: PostgresOptions = {}) {
		this.location = redactUrl(url);
		this.schema = options.schema;
		this.durability = options.durability ?? 'process';
		this.lockTimeoutMs = options.lockTimeoutMs ?? 10_000;
		const config: PoolConfig = {
			connectionString: url,
			max: options.poolSize ?? 10,
			idleTimeoutMillis: 30_000,
			connectionTimeoutMillis: 10_000,
			application_name: 'n8n-nodes-secrets',
			types: {
				getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
					oid === INT8
						? parseInt8
						: types.getTypeParser(oid, format)) as typeof types.getTypeParser,
			},
		};
		if (options.schema) {
			if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(options.schema)) {
				throw new SecretsError(
					'INVALID_INPUT',
					`"${options.schema}" is not a valid schema name: use letters, digits and underscores.`,
				);
			}
			config.options = `-c search_path=${options.schema}`;
		}
		this.pool = new Pool(config);
		// An idle connection dropped by the server must not crash the process; the next query reconnects.
		this.pool.on('error', () => undefined);
		// The appends' connections do not wait for the server's disk (unless durability is 'full'): the
		// server has each record when the statement returns, as with the other 'process' commits.
		this.appendPool = new Pool({
			...config,
			max: Math.min(APPEND_CONNECTIONS, config.max ?? APPEND_CONNECTIONS),
			options: [config.options, this.durability === 'full' ? null : '-c synchronous_commit=off']
				.filter(Boolean)
				.join(' '),
		});
		this.appendPool.on('error', () => undefined);
		this.auditAppends = new AuditAppends(this.appendPool, (err) =>
			isConnectionError(err)
				? unreachable(this.location, err)
				: (storageFault(this.location, err) ?? err),
		);
		this.direct = this.executor(this.pool);
	}

	private statement(sql: string, params: readonly SqlParam[]) {
		let st = this.names.get(sql);
		if (!st) {
			const text = numberPlaceholders(sql);
			st = { name: `n8ns_${createHash('sha1').update(text).digest('hex').slice(0, 16)}`, text };
			this.names.set(sql, st);
		}
		return { name: st.name, text: st.text, values: params.map(param) };
	}

	private executor(client: Pool | PoolClient): SqlExecutor {
		const query = async (sql: string, params: readonly SqlParam[] = []) => {
			try {
				return await client.query(this.statement(sql, params));
			} catch (err) {
				if (isConnectionError(err)) throw unreachable(this.location, err);
				throw storageFault(this.location, err) ?? err;
			}
		};
		return {
			get: async <T>(sql: string, params?: readonly SqlParam[]) =>
				(await query(sql, params)).rows[0] as T | undefined,
			all: async <T>(sql: string, params?: readonly SqlParam[]) =>
				(await query(sql, params)).rows as T[],
			run: async (sql: string, params?: readonly SqlParam[]) => ({
				changes: (await query(sql, params)).rowCount ?? 0,
			}),
		};
	}

	get<T>(sql: string, params?: readonly SqlParam[]): Promise<T | undefined> {
		return this.direct.get<T>(sql, params);
	}

	all<T>(sql: string, params?: readonly SqlParam[]): Promise<T[]> {
		return this.direct.all<T>(sql, params);
	}

	run(sql: string, params?: readonly SqlParam[]): Promise<{ changes: number }> {
		return this.direct.run(sql, params);
	}

	private async connect(): Promise<PoolClient> {
		try {
			return await this.pool.connect();
		} catch (err) {
			throw unreachable(this.location, err);
		}
	}

	/**
	 * This process's turn among its own exclusive writers. They run one at a time store-wide anyway
	 * (the advisory lock); waiting here instead of on the lock keeps all but one of them off the pool,
	 * so a burst of writes (sixteen key rotations, say) cannot hold every connection while readers and
	 * audit appends starve. The wait is bounded like the lock's: STORE_BUSY after lockTimeoutMs.
	 */
	private async writerTurn(): Promise<() => void> {
		let release!: () => void;
		const mine = new Promise<void>((resolve) => (release = resolve));
		const before = this.writers;
		this.writers = before.then(() => mine);
		let timer: NodeJS.Timeout | undefined;
		const timedOut = await Promise.race([
			before.then(() => false),
			new Promise<boolean>((resolve) => {
				timer = setTimeout(() => resolve(true), Math.max(1, this.lockTimeoutMs));
			}),
		]);
		clearTimeout(timer);
		if (timedOut) {
			// Our place in the queue passes straight on once the writers before us are done.
			void before.then(release);
			throw new SecretsError(
				'STORE_BUSY',
				'The secrets store is busy (other writes of this process are still waiting for its write lock); try again.',
			);
		}
		return release;
	}

	async transaction<T>(
		fn: (tx: SqlExecutor) => Promise<T>,
		durability: Durability = 'full',
		options: TransactionOptions = {},
	): Promise<T> {
		if (options.changesSecrets === false) return this.transactionOnPool(fn, durability, options);
		const release = await this.writerTurn();
		try {
			return await this.transactionOnPool(fn, durability, options);
		} finally {
			release();
		}
	}

	private async transactionOnPool<T>(
		fn: (tx: SqlExecutor) => Promise<T>,
		durability: Durability,
		options: TransactionOptions,
	): Promise<T> {
		const client = await this.connect();
		let broken = false;
		try {
			// 'process': the server has the commit when we return (a killed n8n loses nothing); only
			// a crash of the database server itself could lose the last moments of `use` events.
			const relaxed = durability !== 'full' && this.durability !== 'full';
			await client.query(
				`BEGIN; SET LOCAL lock_timeout = ${Math.max(1, this.lockTimeoutMs)}` +
					(relaxed ? '; SET LOCAL synchronous_commit = off' : ''),
			);
			try {
				// Transactions that only append audit events share the lock (the chain head's row lock
				// orders them); every other write takes it alone.
				await client.query({
					name: options.changesSecrets === false ? 'n8ns_audit_lock' : 'n8ns_write_lock',
					text:
						options.changesSecrets === false
							? 'SELECT pg_advisory_xact_lock_shared($1)'
							: 'SELECT pg_advisory_xact_lock($1)',
					values: [WRITE_LOCK],
				});
			} catch (err) {
				if ((err as { code?: string }).code === '55P03') {
					throw new SecretsError(
						'STORE_BUSY',
						'The secrets store is busy (another process holds its write lock); try again.',
						{ cause: err },
					);
				}
				throw err;
			}
			const result = await fn(this.executor(client));
			// The counter this commit leaves (moved by the tables' triggers), so this process's caches
			// are known stale without asking again (absent before migration 5).
			const counter = options.changesSecrets === false ? undefined : await this.counterIn(client);
			await client.query('COMMIT');
			this.auditAppends.saw(counter);
			return result;
		} catch (err) {
			try {
				await client.query('ROLLBACK');
			} catch {
				broken = true;
			}
			if (isConnectionError(err)) throw unreachable(this.location, err);
			throw storageFault(this.location, err) ?? err;
		} finally {
			client.release(broken);
		}
	}

	/** Whether migration 5's counter exists here (checked until it does; it is never dropped). */
	private counterTable = false;

	private async counterIn(client: PoolClient): Promise<number | undefined> {
		if (!this.counterTable) {
			const found = await client.query<{ present: boolean }>(
				"SELECT to_regclass('store_changes') IS NOT NULL AS present",
			);
			if (!found.rows[0]?.present) return undefined;
			this.counterTable = true;
		}
		return (await client.query<{ counter: number }>(READ_COUNTER)).rows[0]?.counter;
	}

	/**
	 * The store's change counter, read now (one round trip): it moves with every committed write to a
	 * table any process caches. Null before migration 5 (then nothing is cached).
	 */
	async changeCounter(): Promise<string | null> {
		try {
			const row = await this.direct.get<{ counter: number }>(READ_COUNTER.text);
			this.auditAppends.saw(row?.counter);
			return row ? String(row.counter) : null;
		} catch (err) {
			if ((err as { code?: string }).code === '42P01') return null;
			throw err;
		}
	}

	/** DDL runs in a locked transaction, so processes starting together migrate one at a time. */
	async exec(sql: string): Promise<void> {
		await this.transaction(async (tx) => {
			for (const s of sql
				.split(';')
				.map((x) => x.trim())
				.filter(Boolean))
				await tx.run(s);
		});
	}

	/** Creates the schema when it is absent (for `init`); a no-op without one. */
	async ensureSchema(schema: string | undefined): Promise<void> {
		if (!schema) return;
		const client = await this.connect();
		try {
			await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
		} catch (err) {
			// Two processes creating it at once: one wins, the other sees it exists.
			if ((err as { code?: string }).code !== '23505') throw err;
		} finally {
			client.release();
		}
	}

	async close(): Promise<void> {
		await Promise.all([this.pool.end(), this.appendPool.end()]);
	}
}
