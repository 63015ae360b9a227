/**
 * The hash-chained audit trail. Each event carries the SHA-256 of the one before it, so editing or
 * removing a row breaks every later link. The head row (last sequence number and hash) is sealed with
 * an HMAC under a key derived from the tenant's data key: without the master key, nobody can rewrite
 * the chain and re-seal its head, and a truncated tail no longer matches the head.
 */
import { createHash, randomUUID } from 'node:crypto';

import type { AuditAction, AuditEvent, AuditOutcome, N8nContext } from '../core/model';
import { hmac, macEquals } from '../crypto/aead';
import type { DataKey } from '../crypto/keyring';
import { audit } from '../store/repository';
import { type SqlExecutor, toBuffer } from '../store/sql';

export const GENESIS_HASH = '0'.repeat(64);

export interface AuditInput {
	actor: string;
	tokenId?: string | null;
	action: AuditAction;
	secret?: string | null;
	environment?: string | null;
	version?: number | null;
	outcome: AuditOutcome;
	reason?: string | null;
	context?: N8nContext;
	destinationHost?: string | null;
}

export function eventHash(e: Omit<AuditEvent, 'hash'>): string {
	// A JSON array keeps field boundaries unambiguous and the order fixed.
	const canonical = JSON.stringify([
		e.seq,
		e.id,
		e.time,
		e.tenant,
		e.actor,
		e.tokenId,
		e.action,
		e.secret,
		e.environment,
		e.version,
		e.outcome,
		e.reason,
		e.workflowId,
		e.workflowName,
		e.executionId,
		e.node,
		e.mode,
		e.destinationHost,
		e.prevHash,
	]);
	return createHash('sha256').update(canonical).digest('hex');
}

function headMac(key: DataKey, tenant: string, seq: number, hash: string): Buffer {
	return hmac(key.auditKey, Buffer.from(`n8n-secrets/audit-head/v1|${tenant}|${seq}|${hash}`));
}

/** Context strings come from workflow data; keep them bounded so a huge name cannot bloat the trail. */
function clip(s: string | undefined | null, max = 256): string | null {
	if (s === undefined || s === null || s === '') return null;
	return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/**
 * Appends one event inside the caller's transaction. The write lock (BEGIN IMMEDIATE in SQLite, the
 * head row's FOR UPDATE in PostgreSQL) makes "read head, insert, move head" atomic across processes.
 */
export async function appendAudit(
	tx: SqlExecutor,
	opts: { tenant: string; key: DataKey; lockHead: boolean; time: string },
	input: AuditInput,
): Promise<AuditEvent> {
	const head = await audit.head(tx, opts.tenant, opts.lockHead);
	const seq = head ? Number(head.seq) + 1 : 1;
	const partial: Omit<AuditEvent, 'hash'> = {
		seq,
		id: randomUUID(),
		time: opts.time,
		tenant: opts.tenant,
		actor: input.actor,
		tokenId: input.tokenId ?? null,
		action: input.action,
		secret: input.secret ?? null,
		environment: input.environment ?? null,
		version: input.version ?? null,
		outcome: input.outcome,
		reason: clip(input.reason, 500),
		workflowId: clip(input.context?.workflowId),
		workflowName: clip(input.context?.workflowName),
		executionId: clip(input.context?.executionId),
		node: clip(input.context?.node),
		mode: clip(input.context?.mode, 64),
		destinationHost: clip(input.destinationHost),
		prevHash: head ? head.hash : GENESIS_HASH,
	};
	const event: AuditEvent = { ...partial, hash: eventHash(partial) };
	await audit.insert(tx, event);
	await audit.writeHead(tx, {
		tenant: opts.tenant,
		seq,
		hash: event.hash,
		dekId: opts.key.id,
		mac: headMac(opts.key, opts.tenant, seq, event.hash),
	});
	return event;
}

export interface VerifyResult {
	ok: boolean;
	events: number;
	/** The first broken link, when there is one. */
	brokenAt?: { seq: number; id: string | null; problem: string };
}

/** Walks the chain in batches; `keyFor` returns the data key that sealed the head. */
export async function verifyChain(
	x: SqlExecutor,
	tenant: string,
	keyFor: (dekId: string) => Promise<DataKey>,
): Promise<VerifyResult> {
	let prevHash = GENESIS_HASH;
	let expectSeq = 1;
	let count = 0;
	for (;;) {
		const batch = await audit.range(x, tenant, expectSeq - 1, 2000);
		if (batch.length === 0) break;
		for (const e of batch) {
			if (e.seq !== expectSeq) {
				return {
					ok: false,
					events: count,
					brokenAt: { seq: expectSeq, id: null, problem: `event ${expectSeq} is missing` },
				};
			}
			if (e.prevHash !== prevHash) {
				return {
					ok: false,
					events: count,
					brokenAt: {
						seq: e.seq,
						id: e.id,
						problem:
							'the link to the previous event does not match (an earlier event was changed or removed)',
					},
				};
			}
			if (eventHash(e) !== e.hash) {
				return {
					ok: false,
					events: count,
					brokenAt: { seq: e.seq, id: e.id, problem: 'the event was changed after it was written' },
				};
			}
			prevHash = e.hash;
			expectSeq++;
			count++;
		}
	}
	const head = await audit.head(x, tenant, false);
	if (!head) {
		return count === 0
			? { ok: true, events: 0 }
			: {
					ok: false,
					events: count,
					brokenAt: { seq: count, id: null, problem: 'the chain head is missing' },
				};
	}
	const headSeq = Number(head.seq);
	if (headSeq !== count || head.hash !== prevHash) {
		return {
			ok: false,
			events: count,
			brokenAt: {
				seq: count + 1,
				id: null,
				problem: `the chain head records ${headSeq} events but ${count} are present (events were removed from the end)`,
			},
		};
	}
	let key: DataKey;
	try {
		key = await keyFor(head.dek_id);
	} catch {
		return {
			ok: false,
			events: count,
			brokenAt: { seq: headSeq, id: null, problem: 'the chain head is sealed with an unknown key' },
		};
	}
	if (!macEquals(headMac(key, tenant, headSeq, head.hash), toBuffer(head.mac)!)) {
		return {
			ok: false,
			events: count,
			brokenAt: {
				seq: headSeq,
				id: null,
				problem: 'the chain head seal does not match (the chain was rewritten)',
			},
		};
	}
	return { ok: true, events: count };
}

/** Re-seals the head under another data key (re-encryption retires the old one). */
export async function resealHead(tx: SqlExecutor, tenant: string, key: DataKey): Promise<void> {
	const head = await audit.head(tx, tenant, false);
	if (!head) return;
	await audit.writeHead(tx, {
		tenant,
		seq: Number(head.seq),
		hash: head.hash,
		dekId: key.id,
		mac: headMac(key, tenant, Number(head.seq), head.hash),
	});
}
