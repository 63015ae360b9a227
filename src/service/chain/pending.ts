/**
 * PostgreSQL's audit records awaiting the chain (store/postgres/audit-appends.ts): taken in batches
 * by the one process holding the ingest lock, checked against their seals and chained.
 */
import { auditPending } from '../../store/repository';
import type { SqlExecutor } from '../../store/sql';
import { type KeyLookup, recordChainer } from './ingest';
import { ChainWriter } from './writer';
import type { DataKey } from '../../crypto/keyring';

/** Records one transaction chains; the rest wait for the next. */
export const PENDING_BATCH = 2000;

/**
 * Chains up to PENDING_BATCH pending records in the caller's transaction. With `wait`, waits for the
 * ingest lock; otherwise returns null when another process holds it (and will chain them).
 */
export async function ingestPending(
	tx: SqlExecutor,
	opts: {
		lockHead: boolean;
		keyFor: KeyLookup;
		activeKey: (tenant: string) => Promise<DataKey>;
		tenants: () => Promise<string[]>;
		wait: boolean;
	},
): Promise<{ chained: number; more: boolean } | null> {
	if (opts.wait) await auditPending.lock(tx);
	else if (!(await auditPending.tryLock(tx))) return null;
	const rows = await auditPending.take(tx, PENDING_BATCH);
	if (rows.length === 0) return { chained: 0, more: false };
	const writer = new ChainWriter(tx, opts.lockHead, opts.keyFor);
	const chain = recordChainer(writer, opts);
	for (const row of rows) await chain.add(row.record, `pending audit record ${row.id}`);
	await writer.finish();
	return { chained: chain.count(), more: rows.length === PENDING_BATCH };
}
