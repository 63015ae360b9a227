import { closeSync, existsSync, mkdirSync, openSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { pathToFileURL } from 'node:url';

import { SecretsError } from '../../core/errors';
import type { Durability, SqlDriver, SqlExecutor, SqlParam, TransactionOptions } from '../sql';
import {
	SQLITE_READONLY,
	sqlitePrimaryCode,
	storageFault,
	withoutReadsNote,
	writeProblem,
} from './storage-faults';

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

/** The longest one attempt at another process's write lock blocks the event loop. */
const LOCK_POLL_MS = 20;
/** transaction(): another process holds the write lock; try again shortly. */
const LOCK_TAKEN = Symbol('write lock taken');

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
	private db: DatabaseSync;
	/** Opened `immutable` (see openReadOnly): no change counter, and reopened to see other commits. */
	private immutable = false;
	private lastReopen = Date.now();
	private readonly timeout: number;
	private readonly statements = new Map<string, StatementSync>();
	private queue: Promise<unknown> = Promise.resolve();
	private readonly durability: Durability;
	private syncMode: 'FULL' | 'NORMAL';
	/** Own commits: SQLite's data_version moves only for other connections' commits. */
	private commits = 0;
	readonly journalDir: string | null;

	/**
	 * Why this store can only be read (full disk, read-only mount, files or folder not writable), or
	 * undefined when it is writable. Every write transaction then fails with this error, before it
	 * starts; reads work. A long-running process does not stay read-only: see `reopen`.
	 */
	readOnlyReason: SecretsError | undefined;

	constructor(
		readonly location: string,
		options: SqliteOptions = {},
	) {
		this.timeout = options.busyTimeoutMs ?? 10_000;
		this.journalDir = location === ':memory:' ? null : `${location}-audit`;
		this.durability = options.durability ?? 'process';
		this.syncMode = 'FULL';
		const opened = openStore(location, this.timeout);
		this.db = opened.db;
		this.readOnlyReason = opened.reason;
		this.immutable = opened.immutable;
	}

	/**
	 * A store opened read-only is opened again, at most once a second, before the next operation: once
	 * space is freed or the mount made writable, a running server or n8n writes again without a
	 * restart, and an `immutable` connection (which neither sees the WAL nor notices other processes'
	 * commits) is replaced by one that does as soon as they exist.
	 */
	private reopen(): void {
		this.lastReopen = Date.now();
		let opened: ReturnType<typeof openStore>;
		try {
			opened = openStore(this.location, this.timeout);
		} catch {
			return; // Keep reading through the connection we have.
		}
		this.statements.clear();
		if (this.db.isOpen) this.db.close();
		this.db = opened.db;
		this.readOnlyReason = opened.reason;
		this.immutable = opened.immutable;
		this.syncMode = 'FULL';
		// A new connection's data_version starts afresh: move the change counter so no cache survives.
		this.commits++;
	}

	/** The coded error for what SQLite or the file system threw; anything else unchanged. */
	private fault(err: unknown): unknown {
		if (err instanceof SecretsError || this.location === ':memory:') return err;
		if (this.readOnlyReason && sqlitePrimaryCode(err) === SQLITE_READONLY)
			return copyError(this.readOnlyReason, err);
		return storageFault(this.location, err) ?? err;
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
		const run = () => {
			if (this.readOnlyReason && Date.now() - this.lastReopen >= REOPEN_MS) this.reopen();
			return fn().catch((err: unknown) => {
				throw this.fault(err);
			});
		};
		const next = this.queue.then(run, run);
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

	/**
	 * Another process's write lock is waited for asynchronously: node:sqlite's busy handler blocks the
	 * whole event loop while it waits, so a busy store would stall every request of this process, reads
	 * included. Each attempt blocks at most LOCK_POLL_MS; between attempts this process's queue is
	 * free for its reads, and the event loop for everything else. STORE_BUSY after the busy timeout.
	 */
	async transaction<T>(
		fn: (tx: SqlExecutor) => Promise<T>,
		durability: Durability = 'full',
		options: TransactionOptions = {},
	): Promise<T> {
		const deadline = Date.now() + this.timeout;
		for (let attempt = 0; ; attempt++) {
			const outcome = await this.serializeWrite(() =>
				this.attempt(fn, durability, options, Date.now() >= deadline),
			);
			if (outcome !== LOCK_TAKEN) return outcome.value;
			await new Promise((resolve) => setTimeout(resolve, Math.min(50, 1 + attempt * 2)));
		}
	}

	private async attempt<T>(
		fn: (tx: SqlExecutor) => Promise<T>,
		durability: Durability,
		options: TransactionOptions,
		lastChance: boolean,
	): Promise<{ value: T } | typeof LOCK_TAKEN> {
		if (this.readOnlyReason) throw copyError(this.readOnlyReason);
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
				if (!lastChance) return LOCK_TAKEN;
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
			return { value: result };
		} catch (err) {
			if (this.db.isTransaction) this.db.exec('ROLLBACK');
			if (busy(err)) {
				throw new SecretsError('STORE_BUSY', 'The secrets store is busy; try again.', {
					cause: err,
				});
			}
			throw err;
		}
	}

	changeCounter(): Promise<string | null> {
		// An immutable connection's data_version never moves: nothing may be cached between calls.
		if (this.immutable) return Promise.resolve(null);
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

/** A fresh error (with this call's stack) carrying a recorded fault's code, message and details. */
function copyError(reason: SecretsError, cause: unknown = reason.cause): SecretsError {
	return new SecretsError(reason.code, reason.message, { cause, details: reason.details });
}

/**
 * Creates the folder (0700) and, for a new store, the database file (0600: SQLite would create it 0644
 * under the usual umask, and it gives the -wal and -shm files the database's own mode). For an
 * existing store, returns why it cannot be written, if it cannot: then it is opened read-only without
 * first letting SQLite create -wal and -shm files it could not use (or would create 0444 from a 0444
 * database, which a later `chmod` of the database alone does not fix).
 */
function prepareFile(location: string): SecretsError | undefined {
	try {
		mkdirSync(dirname(location), { recursive: true, mode: 0o700 });
		if (!existsSync(location)) {
			closeSync(openSync(location, 'a', 0o600));
			return undefined;
		}
	} catch (err) {
		// A recursive mkdir reports ENOENT where a parent cannot be created: ask the deepest that exists.
		const fault = storageFault(location, err) ?? writeProblem(existingAncestor(location), err);
		if (!fault) throw err;
		throw new SecretsError(
			fault.code,
			`Cannot create the secrets store at ${location}. ${withoutReadsNote(fault.message)}`,
			{ cause: err, details: fault.details },
		);
	}
	return writeProblem(location);
}

/** The deepest folder above `location` that exists (a store file path inside it, for diagnosis). */
function existingAncestor(location: string): string {
	let dir = dirname(location);
	while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
	return join(dir, basename(location));
}

/** How often a read-only store is tried again for writing (see SqliteDriver.reopen). */
const REOPEN_MS = 1000;

/**
 * Opens the store for writing, or, when a storage fault prevents it, for reading only with the
 * reason. Throws only when it cannot even be read.
 */
function openStore(
	location: string,
	timeout: number,
): { db: DatabaseSync; reason: SecretsError | undefined; immutable: boolean } {
	let fault = location === ':memory:' ? undefined : prepareFile(location);
	if (!fault) {
		try {
			return { db: openWritable(location, timeout), reason: undefined, immutable: false };
		} catch (err) {
			fault = storageFault(location, err);
			if (!fault) throw err;
		}
	}
	return { ...openReadOnly(location, timeout, fault), reason: fault };
}

function openWritable(location: string, timeout: number): DatabaseSync {
	// The busy handler blocks the event loop: keep each wait short (transaction() polls for the
	// write lock asynchronously up to `timeout`).
	const poll = Math.min(timeout, LOCK_POLL_MS);
	const db = new DatabaseSync(location, { timeout: poll });
	try {
		db.exec(`PRAGMA busy_timeout = ${poll}`);
		// Entering WAL mode reads the database and maps -shm: a full disk or read-only files fail here.
		db.exec('PRAGMA journal_mode = WAL');
		db.exec('PRAGMA foreign_keys = ON');
		db.exec('PRAGMA synchronous = FULL');
		return db;
	} catch (err) {
		if (db.isOpen) db.close();
		throw err;
	}
}

function fileSize(path: string): number {
	try {
		return statSync(path).size;
	} catch {
		return -1;
	}
}

/**
 * A connection that only reads, for a store that cannot be written. With -wal or -shm present (a
 * process has the store open, or crashed with changes in the WAL) SQLite's read-only mode shares them
 * with the other processes. With neither (or only the empty leftovers of a failed open) the database
 * file alone holds every commit, and it is opened `immutable`: no locks, no -shm to create, which a
 * full disk or a read-only mount would refuse. A WAL with content that cannot be read without a -shm
 * is refused rather than read stale.
 */
function openReadOnly(
	location: string,
	timeout: number,
	reason: SecretsError,
): { db: DatabaseSync; immutable: boolean } {
	const walBytes = fileSize(`${location}-wal`);
	const shared = walBytes > 0 || fileSize(`${location}-shm`) >= 0;
	const attempt = (immutable: boolean): { db: DatabaseSync; immutable: boolean } => {
		const db = immutable
			? new DatabaseSync(`${pathToFileURL(location).href}?immutable=1`, { readOnly: true })
			: new DatabaseSync(location, { readOnly: true, timeout });
		try {
			if (!immutable) db.exec(`PRAGMA busy_timeout = ${timeout}`);
			db.prepare('SELECT count(*) AS n FROM sqlite_master').get();
			return { db, immutable };
		} catch (err) {
			if (db.isOpen) db.close();
			throw err;
		}
	};
	try {
		return attempt(!shared);
	} catch (err) {
		if (shared && walBytes <= 0) {
			try {
				return attempt(true);
			} catch {
				// Reported below, with the reason the store is not writable.
			}
		}
		throw new SecretsError(
			reason.code,
			`${withoutReadsNote(reason.message)} The store cannot even be read until then ` +
				`(SQLite: ${(err as Error).message}${walBytes > 0 ? `; ${location}-wal holds changes not yet in the database file` : ''}).`,
			{ cause: err, details: reason.details },
		);
	}
}
