import type { SqlExecutor } from '../sql';

/**
 * Audit records of resolutions awaiting their place in the chain (PostgreSQL; written by
 * postgres/audit-appends.ts). One process at a time moves them into the chain: the one holding this
 * advisory lock inside its transaction. The lock is the pair (INGEST_LOCK, hash of the schema), so
 * stores in different schemas of one database do not wait for each other's ingest.
 */
export const INGEST_LOCK = 0x6e386e74;

export const auditPending = {
	/** Waits for the ingest lock (released when the transaction ends). */
	lock: (x: SqlExecutor) =>
		x.get('SELECT pg_advisory_xact_lock(?, hashtext(current_schema()))', [INGEST_LOCK]),
	/** Takes the ingest lock if it is free; false when another process is ingesting. */
	tryLock: async (x: SqlExecutor) =>
		(
			await x.get<{ ok: boolean }>(
				'SELECT pg_try_advisory_xact_lock(?, hashtext(current_schema())) AS ok',
				[INGEST_LOCK],
			)
		)?.ok === true,
	/** Removes and returns up to `limit` of the oldest records, oldest first. */
	take: async (x: SqlExecutor, limit: number) =>
		(
			await x.all<{ id: number; record: string }>(
				'DELETE FROM audit_pending WHERE id IN (SELECT id FROM audit_pending ORDER BY id LIMIT ?) RETURNING id, record',
				[limit],
			)
		).sort((a, b) => Number(a.id) - Number(b.id)),
};
