import type { SqlExecutor } from '../sql';

export interface AuditCheckpointRow {
	tenant: string;
	seq: number | string;
	hash: string;
	prev_seq: number | string;
	archived_at: string;
	archive_file: string;
	archive_sha256: string;
	dek_id: string;
	mac: Uint8Array;
}

/** Where the stored chain starts once its beginning has been archived (see audit-archive.ts). */
export const auditCheckpoints = {
	latest: (x: SqlExecutor, tenant: string) =>
		x.get<AuditCheckpointRow>(
			'SELECT * FROM audit_checkpoints WHERE tenant = ? ORDER BY seq DESC LIMIT 1',
			[tenant],
		),
	get: (x: SqlExecutor, tenant: string, seq: number) =>
		x.get<AuditCheckpointRow>('SELECT * FROM audit_checkpoints WHERE tenant = ? AND seq = ?', [
			tenant,
			seq,
		]),
	all: (x: SqlExecutor, tenant: string) =>
		x.all<AuditCheckpointRow>('SELECT * FROM audit_checkpoints WHERE tenant = ? ORDER BY seq', [
			tenant,
		]),
	insert: (x: SqlExecutor, r: Omit<AuditCheckpointRow, 'mac'> & { mac: Buffer }) =>
		x.run(
			`INSERT INTO audit_checkpoints (tenant, seq, hash, prev_seq, archived_at, archive_file, archive_sha256, dek_id, mac)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			[
				r.tenant,
				Number(r.seq),
				r.hash,
				Number(r.prev_seq),
				r.archived_at,
				r.archive_file,
				r.archive_sha256,
				r.dek_id,
				r.mac,
			],
		),
	reseal: (x: SqlExecutor, tenant: string, seq: number, dekId: string, mac: Buffer) =>
		x.run('UPDATE audit_checkpoints SET dek_id = ?, mac = ? WHERE tenant = ? AND seq = ?', [
			dekId,
			mac,
			tenant,
			seq,
		]),
	/** The first event at or after `fromSeq` whose time is `time` or later: where an archive stops. */
	firstAtOrAfter: async (x: SqlExecutor, tenant: string, fromSeq: number, time: string) => {
		const row = await x.get<{ seq: number | string | null }>(
			'SELECT MIN(seq) AS seq FROM audit_events WHERE tenant = ? AND seq >= ? AND time >= ?',
			[tenant, fromSeq, time],
		);
		return row?.seq === null || row?.seq === undefined ? null : Number(row.seq);
	},
	/** Archived events still in the table (a prune cut short), at most `limit` of them at a time. */
	pruneBatch: (x: SqlExecutor, tenant: string, throughSeq: number, limit: number) =>
		x.run(
			'DELETE FROM audit_events WHERE tenant = ? AND seq IN (SELECT seq FROM audit_events WHERE tenant = ? AND seq <= ? ORDER BY seq LIMIT ?)',
			[tenant, tenant, throughSeq, limit],
		),
};
