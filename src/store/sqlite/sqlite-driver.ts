import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';

import { SecretsError } from '../../core/errors';
import type { Durability, SqlDriver, SqlExecutor, SqlParam, TransactionOptions } from '../sql';

export interface SqliteOptions {
	/** How long a writer waits for another process's write lock before STORE_BUSY. */
	busyTimeoutMs?: number;
	/** 'full' syncs every commit to disk; 'process' only value-changing commits (see SqlDriver). */
	durability?: Durability;
}

/**
 * Write transactions of this process's connections to one file, taken in turn. node:sqlite waits
 * for a write lock synchronously, blocking the event loop: when the holder is a connection in this
 * same process it can never finish, and the wait ends in STORE_BUSY. Other processes still meet at
 * BEGIN IMMEDIATE.
 */
const fileTurns = new Map<string, Promise<unknown>>();

function busy(err: unknown): boolean {
	const e = err as { errcode?: number; message?: string };
	return (
		e?.errcode === 5 || e?.errcode === 6 || /database is (locked|busy)/i.test(String(e?.message))
	);
}

/**
 * node:sqlite is synchronous, so one connection can run one transaction at a time: a promise queue
 * keeps an `await` inside a transaction from letting another operation's statements into it.
 * Across processes, `BEGIN IMMEDIATE` takes SQLite's write lock up front and the busy timeout waits
 * for it, so two processes never interleave a read-then-write.
 */
export class SqliteDriver implements SqlDriver {
	readonly dialect = 'sqlite' as const;
	private readonly db: DatabaseSync;
	private readonly statements = new Map<string, StatementSync>();
	private queue: Promise<unknown> = Promise.resolve();
	private readonly durability: Durability;
	private syncMode: 'FULL' | 'NORMAL';
	/** Own commits: SQLite's data_version moves only for other connections' commits. */
	private commits = 0;
	readonly journalDir: string | null;

	constructor(
		readonly location: string,
		options: SqliteOptions = {},
	) {
		if (location !== ':memory:') {
			mkdirSync(dirname(location), { recursive: true, mode: 0o700 });
			// SQLite would create the file 0644 under the usual umask, and it gives the -wal and -shm
			// files the database's own mode: created here first, 0600, all three are the owner's alone.
			closeSync(openSync(location, 'a', 0o600));
		}
		const timeout = options.busyTimeoutMs ?? 10_000;
		this.journalDir = location === ':memory:' ? null : `${location}-audit`;
		this.db = new DatabaseSync(location, { timeout });
		this.durability = options.durability ?? 'process';
		this.db.exec(`PRAGMA busy_timeout = ${timeout}`);
		this.db.exec('PRAGMA journal_mode = WAL');
		this.db.exec('PRAGMA foreign_keys = ON');
		this.syncMode = 'FULL';
		this.db.exec('PRAGMA synchronous = FULL');
	}

	private statement(sql: string): StatementSync {
		let st = this.statements.get(sql);
		if (!st) {
			st = this.db.prepare(sql);
			this.statements.set(sql, st);
		}
		return st;
	}

	private readonly direct: SqlExecutor = {
		get: async <T>(sql: string, params: readonly SqlParam[] = []) =>
			this.statement(sql).get(...(params as SqlParam[])) as T | undefined,
		all: async <T>(sql: string, params: readonly SqlParam[] = []) =>
			this.statement(sql).all(...(params as SqlParam[])) as T[],
		run: async (sql: string, params: readonly SqlParam[] = []) => {
			const r = this.statement(sql).run(...(params as SqlParam[]));
			return { changes: Number(r.changes) };
		},
	};

	private serialize<T>(fn: () => Promise<T>): Promise<T> {
		const next = this.queue.then(fn, fn);
		this.queue = next.catch(() => undefined);
		return next;
	}

	/** serialize(), then this connection's turn among the process's writers to the same file. */
	private serializeWrite<T>(fn: () => Promise<T>): Promise<T> {
		if (this.location === ':memory:') return this.serialize(fn);
		const file = resolve(this.location);
		return this.serialize(() => {
			const turn = (fileTurns.get(file) ?? Promise.resolve()).then(fn);
			const settled = turn.catch(() => undefined);
			fileTurns.set(file, settled);
			void settled.then(() => fileTurns.get(file) === settled && fileTurns.delete(file));
			return turn;
		});
	}

	get<T>(sql: string, params?: readonly SqlParam[]): Promise<T | undefined> {
		return this.serialize(() => this.direct.get<T>(sql, params));
	}

	all<T>(sql: string, params?: readonly SqlParam[]): Promise<T[]> {
		return this.serialize(() => this.direct.all<T>(sql, params));
	}

	run(sql: string, params?: readonly SqlParam[]): Promise<{ changes: number }> {
		return this.serialize(() => this.direct.run(sql, params));
	}

	transaction<T>(
		fn: (tx: SqlExecutor) => Promise<T>,
		durability: Durability = 'full',
		options: TransactionOptions = {},
	): Promise<T> {
		return this.serializeWrite(async () => {
			// In WAL mode, NORMAL still writes the commit to the WAL file before returning (it survives a
			// killed process); FULL also fsyncs it. Switching per transaction keeps value changes durable
			// against power loss without paying an fsync for every audited `use`.
			const mode = durability === 'full' || this.durability === 'full' ? 'FULL' : 'NORMAL';
			if (mode !== this.syncMode) {
				this.db.exec(`PRAGMA synchronous = ${mode}`);
				this.syncMode = mode;
			}
			try {
				this.db.exec('BEGIN IMMEDIATE');
			} catch (err) {
				if (busy(err)) {
					throw new SecretsError(
						'STORE_BUSY',
						'The secrets store is busy (another process holds its write lock); try again.',
						{ cause: err },
					);
				}
				throw err;
			}
			try {
				const result = await fn(this.direct);
				this.db.exec('COMMIT');
				if (options.changesSecrets !== false) this.commits++;
				return result;
			} catch (err) {
				if (this.db.isTransaction) this.db.exec('ROLLBACK');
				if (busy(err)) {
					throw new SecretsError('STORE_BUSY', 'The secrets store is busy; try again.', {
						cause: err,
					});
				}
				throw err;
			}
		});
	}

	changeCounter(): Promise<string> {
		// Not queued: data_version only reports other connections' commits, so reading it in the middle
		// of one of our own transactions is harmless, and this check runs on every resolution.
		const row = this.statement('PRAGMA data_version').get() as { data_version: number };
		return Promise.resolve(`${row.data_version}:${this.commits}`);
	}

	exec(sql: string): Promise<void> {
		return this.serialize(async () => this.db.exec(sql));
	}

	close(): Promise<void> {
		return this.serialize(async () => {
			this.statements.clear();
			if (this.db.isOpen) this.db.close();
		});
	}
}
