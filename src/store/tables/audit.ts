import type { AuditEvent } from '../../core/model';
import {
	AUDIT_COLUMN_LIST,
	AUDIT_FIELDS,
	type AuditRow,
	auditColumn,
	auditRowValues,
	toAuditEvent,
} from '../audit-fields';
import type { SqlExecutor } from '../sql';

/** The chain's head: its last event, sealed (service/chain/seals.ts) so a cut tail shows. */
export interface AuditHeadRow {
	tenant: string;
	seq: number | string;
	hash: string;
	dek_id: string;
	mac: Uint8Array;
}

const SELECT_EVENTS = `SELECT ${AUDIT_COLUMN_LIST} FROM audit_events`;
const ROW = `(${AUDIT_FIELDS.map(() => '?').join(', ')})`;
const INSERT_EVENT = `INSERT INTO audit_events (${AUDIT_COLUMN_LIST}) VALUES ${ROW}`;
const insertRows = (n: number) =>
	`INSERT INTO audit_events (${AUDIT_COLUMN_LIST}) VALUES ${Array.from({ length: n }, () => ROW).join(', ')}`;

/** The filters `query` takes that compare a field for equality, each with its column. */
const EQUALITY_FILTERS = (
	['secret', 'action', 'actor', 'tokenId', 'outcome', 'workflowId', 'executionId'] as const
).map((key) => [key, auditColumn(key)] as const);

export const audit = {
	head: (x: SqlExecutor, tenant: string, lock: boolean) =>
		x.get<AuditHeadRow>(`SELECT * FROM audit_heads WHERE tenant = ?${lock ? ' FOR UPDATE' : ''}`, [
			tenant,
		]),
	writeHead: (
		x: SqlExecutor,
		h: { tenant: string; seq: number; hash: string; dekId: string; mac: Buffer },
	) =>
		x.run(
			`INSERT INTO audit_heads (tenant, seq, hash, dek_id, mac) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (tenant) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, dek_id = excluded.dek_id, mac = excluded.mac`,
			[h.tenant, h.seq, h.hash, h.dekId, h.mac],
		),
	insert: (x: SqlExecutor, e: AuditEvent) => x.run(INSERT_EVENT, auditRowValues(e)),
	/**
	 * Several events in as few statements as the batch allows: rows of 100, then 10, then 1, so a
	 * connection prepares at most three shapes of the statement.
	 */
	insertMany: async (x: SqlExecutor, events: readonly AuditEvent[]) => {
		for (let at = 0; at < events.length; ) {
			const left = events.length - at;
			const n = left >= 100 ? 100 : left >= 10 ? 10 : 1;
			await x.run(insertRows(n), events.slice(at, at + n).flatMap(auditRowValues));
			at += n;
		}
	},
	/** The newest stored event (none, or one), to chain on from when the head cannot be trusted. */
	last: async (x: SqlExecutor, tenant: string) =>
		(
			await x.all<AuditRow>(`${SELECT_EVENTS} WHERE tenant = ? ORDER BY seq DESC LIMIT 1`, [tenant])
		).map(toAuditEvent),
	/** Events in sequence order, for verification, in bounded batches. */
	range: async (x: SqlExecutor, tenant: string, afterSeq: number, limit: number) =>
		(
			await x.all<AuditRow>(`${SELECT_EVENTS} WHERE tenant = ? AND seq > ? ORDER BY seq LIMIT ?`, [
				tenant,
				afterSeq,
				limit,
			])
		).map(toAuditEvent),
	/**
	 * A secret's successful uses grouped by workflow (null: outside any workflow), each with its
	 * newest event, newest first; `environments` (when given) limits which uses count.
	 */
	usage: async (
		x: SqlExecutor,
		tenant: string,
		secret: string,
		environments: readonly string[],
		limit: number,
	) => {
		const envs = environments.length
			? ` AND (environment IS NULL OR environment IN (${environments.map(() => '?').join(', ')}))`
			: '';
		const groups = await x.all<{ uses: number | string; last_seq: number | string }>(
			`SELECT workflow_id, count(*) AS uses, max(seq) AS last_seq FROM audit_events
       WHERE tenant = ? AND secret = ? AND action = 'use' AND outcome = 'success'${envs}
       GROUP BY workflow_id ORDER BY last_seq DESC LIMIT ?`,
			[tenant, secret, ...environments, limit],
		);
		if (groups.length === 0) return [];
		const seqs = groups.map((g) => Number(g.last_seq));
		const rows = await x.all<AuditRow>(
			`${SELECT_EVENTS} WHERE tenant = ? AND seq IN (${seqs.map(() => '?').join(', ')})`,
			[tenant, ...seqs],
		);
		const bySeq = new Map(rows.map(toAuditEvent).map((e) => [e.seq, e]));
		return groups.map((g) => ({ uses: Number(g.uses), last: bySeq.get(Number(g.last_seq))! }));
	},
	query: async (
		x: SqlExecutor,
		tenant: string,
		f: {
			secret?: string;
			action?: string;
			actor?: string;
			tokenId?: string;
			outcome?: string;
			workflowId?: string;
			executionId?: string;
			since?: string;
			until?: string;
			afterSeq?: number;
			beforeSeq?: number;
			limit: number;
		},
	) => {
		const where = ['tenant = ?'];
		const params: (string | number)[] = [tenant];
		for (const [key, column] of EQUALITY_FILTERS) {
			const v = f[key];
			if (v !== undefined) {
				where.push(`${column} = ?`);
				params.push(v);
			}
		}
		if (f.since) {
			where.push('time >= ?');
			params.push(f.since);
		}
		if (f.until) {
			where.push('time < ?');
			params.push(f.until);
		}
		if (f.afterSeq !== undefined) {
			where.push('seq > ?');
			params.push(f.afterSeq);
		}
		if (f.beforeSeq !== undefined) {
			where.push('seq < ?');
			params.push(f.beforeSeq);
		}
		// Polling (afterSeq) reads forward; browsing reads newest first.
		const order = f.afterSeq !== undefined ? 'ASC' : 'DESC';
		params.push(f.limit);
		const rows = await x.all<AuditRow>(
			`${SELECT_EVENTS} WHERE ${where.join(' AND ')} ORDER BY seq ${order} LIMIT ?`,
			params,
		);
		return rows.map(toAuditEvent);
	},
};
