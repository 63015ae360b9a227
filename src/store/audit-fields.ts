/**
 * The audit event's fields, listed once. The event's hash input (eventHash, service/chain/events.ts),
 * the `audit_events` columns written and read (tables/audit.ts) and the event rebuilt from a row all
 * derive from this list, so a field cannot be stored without being hashed, or hashed under another
 * name than it is stored.
 *
 * The order is the hash input's (a JSON array of the values, in this order): every stored event's
 * hash depends on it. Never reorder, rename or remove an entry; a new field would change the hash of
 * every stored event, so it needs a new hash version, not just a new entry.
 */
import type { AuditEvent } from '../core/model';
import type { SqlParam } from './sql';

interface AuditField {
	readonly key: keyof AuditEvent;
	readonly column: string;
	/** Read back as a number (PostgreSQL hands a BIGINT back as a string). */
	readonly numeric?: true;
}

/** The fields the hash covers, in hash order. */
export const HASHED_AUDIT_FIELDS = [
	{ key: 'seq', column: 'seq', numeric: true },
	{ key: 'id', column: 'id' },
	{ key: 'time', column: 'time' },
	{ key: 'tenant', column: 'tenant' },
	{ key: 'actor', column: 'actor' },
	{ key: 'tokenId', column: 'token_id' },
	{ key: 'action', column: 'action' },
	{ key: 'secret', column: 'secret' },
	{ key: 'environment', column: 'environment' },
	{ key: 'version', column: 'version', numeric: true },
	{ key: 'outcome', column: 'outcome' },
	{ key: 'reason', column: 'reason' },
	{ key: 'workflowId', column: 'workflow_id' },
	{ key: 'workflowName', column: 'workflow_name' },
	{ key: 'executionId', column: 'execution_id' },
	{ key: 'node', column: 'node' },
	{ key: 'mode', column: 'mode' },
	{ key: 'destinationHost', column: 'destination_host' },
	{ key: 'prevHash', column: 'prev_hash' },
] as const satisfies readonly AuditField[];

/** Every stored field: the hashed ones, then the hash itself. */
export const AUDIT_FIELDS = [
	...HASHED_AUDIT_FIELDS,
	{ key: 'hash', column: 'hash' },
] as const satisfies readonly AuditField[];

type Listed = (typeof AUDIT_FIELDS)[number];

/** An `audit_events` row. */
export type AuditRow = { [F in Listed as F['column']]: string | number | null };

/** The event as the list builds it; toAuditEvent fails to compile if AuditEvent has a field it lacks. */
type ListedEvent = { [F in Listed as F['key']]: AuditEvent[F['key']] };

/** The column that stores field `key`. */
export function auditColumn(key: Listed['key']): string {
	return AUDIT_FIELDS.find((f) => f.key === key)!.column;
}

/** The column list of every stored field, for INSERT and SELECT. */
export const AUDIT_COLUMN_LIST = AUDIT_FIELDS.map((f) => f.column).join(', ');

/** The values of every stored field, in AUDIT_COLUMN_LIST's order. */
export function auditRowValues(e: AuditEvent): SqlParam[] {
	return AUDIT_FIELDS.map((f) => e[f.key]);
}

/** What the hash covers: the hashed fields' values, in hash order. */
export function hashedAuditValues(e: Omit<AuditEvent, 'hash'>): unknown[] {
	return HASHED_AUDIT_FIELDS.map((f) => e[f.key]);
}

export function toAuditEvent(row: AuditRow): AuditEvent {
	const e: Record<string, unknown> = {};
	for (const f of AUDIT_FIELDS) {
		const v = row[f.column];
		e[f.key] = 'numeric' in f && v !== null ? Number(v) : v;
	}
	return e as ListedEvent;
}
