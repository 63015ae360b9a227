/**
 * The narrow SQL surface the store needs. SQL is written once with `?` placeholders; each driver adapts
 * it to its engine (node:sqlite here, pg for the scaled store) so both run the same queries.
 */

import type { SecretsError } from '../core/errors';

export type SqlParam = string | number | bigint | Buffer | Uint8Array | null;

export interface SqlExecutor {
	get<T>(sql: string, params?: readonly SqlParam[]): Promise<T | undefined>;
	all<T>(sql: string, params?: readonly SqlParam[]): Promise<T[]>;
	run(sql: string, params?: readonly SqlParam[]): Promise<{ changes: number }>;
}

export type Durability = 'full' | 'process';

export interface TransactionOptions {
	/**
	 * False for transactions that only append to the audit trail: they leave every cached secret row
	 * valid, so they need not move this process's change counter.
	 */
	changesSecrets?: boolean;
}

/**
 * Audit records of resolutions written in the same statement that checks the store's change counter
 * (PostgreSQL): a process may serve cached rows without asking first, because the record, and so the
 * value, is kept only if nothing changed since the rows were read.
 */
export interface AuditAppends {
	/** True once the record is committed; false, with nothing written, when the counter moved. */
	append(record: string, generation: string): Promise<boolean>;
	/** The newest change counter this process has seen (its commits, appends, reads); no round trip. */
	readonly knownCounter: string | null;
}

export interface SqlDriver extends SqlExecutor {
	/** Set by stores whose resolutions validate their cached rows when they append their audit record. */
	readonly auditAppends?: AuditAppends;
	readonly dialect: 'sqlite' | 'postgres';
	/** Where the data lives, for messages (a path or a URL without its password). */
	readonly location: string;
	/**
	 * Runs `fn` in one write transaction that commits when it resolves and rolls back when it throws.
	 * `durability: 'full'` syncs to disk before returning; 'process' guarantees the commit survives the
	 * process being killed (the OS has the bytes) and leaves the disk sync to the next full commit.
	 */
	transaction<T>(
		fn: (tx: SqlExecutor) => Promise<T>,
		durability?: Durability,
		options?: TransactionOptions,
	): Promise<T>;
	/**
	 * A token that changes whenever any connection, in this process or another, commits a change; null
	 * when the engine offers none (then nothing may be cached between calls).
	 */
	changeCounter(): Promise<string | null>;
	/** Folder for the audit journal of a file-based store; null to write audit events directly. */
	readonly journalDir: string | null;
	/**
	 * Set when the store could only be opened for reading (a full disk, a read-only mount, files that
	 * are not writable): the error every write fails with, naming the cause and the fix.
	 */
	readonly readOnlyReason?: SecretsError;
	/** Runs several DDL statements in one string (migrations). */
	exec(sql: string): Promise<void>;
	close(): Promise<void>;
}

/** Uint8Array from node:sqlite or Buffer from pg: always hand the rest of the code a Buffer. */
export function toBuffer(value: Uint8Array | Buffer | null | undefined): Buffer | null {
	if (value === null || value === undefined) return null;
	return Buffer.isBuffer(value)
		? value
		: Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}
