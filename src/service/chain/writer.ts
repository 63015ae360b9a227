import type { AuditEvent } from '../../core/model';
import type { DataKey } from '../../crypto/keyring';
import { audit } from '../../store/repository';
import type { SqlExecutor } from '../../store/sql';
import { eventHash, GENESIS_HASH, type UnchainedEvent, unchainedEvent } from './events';
import { headMac, headSealHolds } from './seals';

/**
 * Chains events inside the caller's transaction. The write lock (BEGIN IMMEDIATE in SQLite, the head
 * row's FOR UPDATE in PostgreSQL) makes "read head, insert, move head" atomic across processes. Heads
 * are read once per tenant and written once at `finish`, where the batch's events are inserted together.
 *
 * The head's seal is checked before the chain is extended: otherwise the next write would re-seal a
 * head someone edited (after rewriting or cutting the chain) and `verify` would pass. A head that
 * fails its seal, or is missing while events exist, is chained on from the last stored event, after
 * an integrity-failure event that says so (the evidence stays in the chain; refusing every write
 * instead would stop the store).
 */
export class ChainWriter {
	private readonly heads = new Map<string, { seq: number; hash: string; key: DataKey }>();
	/** Chained events not yet inserted: they go in together at `finish`. */
	private readonly unwritten: AuditEvent[] = [];

	constructor(
		private readonly tx: SqlExecutor,
		private readonly lockHead: boolean,
		private readonly sealedWith: (tenant: string, dekId: string) => Promise<DataKey>,
	) {}

	private async openHead(
		key: DataKey,
		tenant: string,
	): Promise<{ seq: number; hash: string; key: DataKey; problem?: string }> {
		const row = await audit.head(this.tx, tenant, this.lockHead);
		if (row) {
			const seq = Number(row.seq);
			let sealer: DataKey | null;
			try {
				sealer = row.dek_id === key.id ? key : await this.sealedWith(tenant, row.dek_id);
			} catch {
				sealer = null;
			}
			if (sealer && headSealHolds(sealer, row)) return { seq, hash: row.hash, key };
			const [last] = await audit.last(this.tx, tenant);
			return {
				seq: last ? Number(last.seq) : seq,
				hash: last ? last.hash : row.hash,
				key,
				problem: `the chain head (event ${seq}) failed its seal when event ${(last ? Number(last.seq) : seq) + 1} was added: the head or the chain was edited`,
			};
		}
		const [last] = await audit.last(this.tx, tenant);
		if (!last) return { seq: 0, hash: GENESIS_HASH, key };
		return {
			seq: Number(last.seq),
			hash: last.hash,
			key,
			problem: `the chain head was missing when event ${Number(last.seq) + 1} was added: it was deleted`,
		};
	}

	async add(key: DataKey, e: UnchainedEvent): Promise<AuditEvent> {
		let head = this.heads.get(e.tenant);
		if (!head) {
			const opened = await this.openHead(key, e.tenant);
			head = { seq: opened.seq, hash: opened.hash, key };
			this.heads.set(e.tenant, head);
			if (opened.problem)
				await this.add(
					key,
					unchainedEvent(e.tenant, e.time, {
						actor: 'n8n-secrets',
						action: e.action,
						outcome: 'failure',
						reason: `INTEGRITY_ERROR: ${opened.problem}`,
					}),
				);
		}
		const partial: Omit<AuditEvent, 'hash'> = { ...e, seq: head.seq + 1, prevHash: head.hash };
		const event: AuditEvent = { ...partial, hash: eventHash(partial) };
		this.unwritten.push(event);
		head.seq = event.seq;
		head.hash = event.hash;
		head.key = key;
		return event;
	}

	async finish(): Promise<void> {
		await audit.insertMany(this.tx, this.unwritten.splice(0));
		for (const [tenant, h] of this.heads) {
			await audit.writeHead(this.tx, {
				tenant,
				seq: h.seq,
				hash: h.hash,
				dekId: h.key.id,
				mac: headMac(h.key, tenant, h.seq, h.hash),
			});
		}
		this.heads.clear();
	}
}

export async function chainEvent(
	tx: SqlExecutor,
	opts: {
		key: DataKey;
		lockHead: boolean;
		sealedWith: (tenant: string, dekId: string) => Promise<DataKey>;
	},
	e: UnchainedEvent,
): Promise<AuditEvent> {
	const writer = new ChainWriter(tx, opts.lockHead, opts.sealedWith);
	const event = await writer.add(opts.key, e);
	await writer.finish();
	return event;
}
