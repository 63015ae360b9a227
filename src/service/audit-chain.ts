/**
 * The hash-chained audit trail. Each event carries the SHA-256 of the one before it, so editing or
 * removing a row breaks every later link. The head row (last sequence number and hash) is sealed with
 * an HMAC under a key derived from the tenant's data key: without the master key, nobody can rewrite
 * the chain and re-seal its head, and a truncated tail no longer matches the head.
 */
import { createHash, createHmac, randomUUID } from 'node:crypto';

import type { AuditAction, AuditEvent, AuditOutcome, N8nContext } from '../core/model';
import { toStorableText } from '../core/schemas';
import { hmac, macEquals } from '../crypto/aead';
import type { DataKey } from '../crypto/keyring';
import { SecretsError } from '../core/errors';
import { faultPoint } from '../core/fault';
import type { AuditJournal } from '../store/audit-journal';
import { audit, auditCheckpoints, journals } from '../store/repository';
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
	if (s.length <= max) return toStorableText(s);
	// Never half a surrogate pair: it would be stored as U+FFFD and the event's hash would not match.
	const high = s.charCodeAt(max - 2);
	return toStorableText(`${s.slice(0, high >= 0xd800 && high <= 0xdbff ? max - 2 : max - 1)}…`);
}

/** Text from a token or the caller, as the store will keep it (see toStorableText). */
function text(s: string | undefined | null): string | null {
	return s === undefined || s === null ? null : toStorableText(s);
}

/** What an event says before it is chained (sequence number and hashes are given at chaining). */
export type UnchainedEvent = Omit<AuditEvent, 'seq' | 'prevHash' | 'hash'>;

export function unchainedEvent(tenant: string, time: string, input: AuditInput): UnchainedEvent {
	return {
		id: randomUUID(),
		time,
		tenant,
		actor: toStorableText(input.actor),
		tokenId: text(input.tokenId),
		action: input.action,
		secret: text(input.secret),
		environment: text(input.environment),
		version: input.version ?? null,
		outcome: input.outcome,
		reason: clip(input.reason, 500),
		workflowId: clip(input.context?.workflowId),
		workflowName: clip(input.context?.workflowName),
		executionId: clip(input.context?.executionId),
		node: clip(input.context?.node),
		mode: clip(input.context?.mode, 64),
		destinationHost: clip(input.destinationHost),
	};
}

/**
 * Chains events inside the caller's transaction. The write lock (BEGIN IMMEDIATE in SQLite, the head
 * row's FOR UPDATE in PostgreSQL) makes "read head, insert, move head" atomic across processes. Heads
 * are read once per tenant and written once at `finish`, so a batch costs one insert per event.
 *
 * The head's seal is checked before the chain is extended: otherwise the next write would re-seal a
 * head someone edited (after rewriting or cutting the chain) and `verify` would pass. A head that
 * fails its seal, or is missing while events exist, is chained on from the last stored event, after
 * an integrity-failure event that says so (the evidence stays in the chain; refusing every write
 * instead would stop the store).
 */
export class ChainWriter {
	private readonly heads = new Map<string, { seq: number; hash: string; key: DataKey }>();

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
			if (sealer && macEquals(headMac(sealer, tenant, seq, row.hash), toBuffer(row.mac)!))
				return { seq, hash: row.hash, key };
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
		await audit.insert(this.tx, event);
		head.seq = event.seq;
		head.hash = event.hash;
		head.key = key;
		return event;
	}

	async finish(): Promise<void> {
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

// ---- the journal ------------------------------------------------------------------------------

/** One journal line: the event as JSON, a tab, and its seal (JSON never contains a raw tab). */
export function sealJournalRecord(key: DataKey, e: UnchainedEvent): string {
	const json = JSON.stringify({ ...e, dekId: key.id });
	return `${json}\t${createHmac('sha256', key.auditKey).update(json).digest('hex')}`;
}

export type KeyLookup = (tenant: string, dekId: string) => Promise<DataKey>;

export interface IngestResult {
	chained: number;
	/** Files marked final in this transaction: the caller deletes them once it has committed. */
	finalized: string[];
}

/**
 * Moves every complete journal record not yet ingested into the chain, inside the caller's write
 * transaction, and records how far each file has been read.
 *
 * With `finalize` (a transaction of its own, whose commit the caller waits for) it also ends files:
 * a file nobody appends to any more, read to its last whole record, is marked `final` here and
 * returned; the caller deletes it only after the commit (a `final` file is never read again, so a
 * crash before the delete repeats nothing). Files marked final by an earlier commit are deleted and
 * forgotten. A registered file that is gone while still `open` was deleted by someone else before its
 * records were chained: that is recorded in every tenant's chain as an integrity failure.
 */
export async function ingestJournal(
	tx: SqlExecutor,
	journal: AuditJournal,
	opts: {
		lockHead: boolean;
		keyFor: KeyLookup;
		activeKey: (tenant: string) => Promise<DataKey>;
		tenants: () => Promise<string[]>;
		finalize: boolean;
		/** This process is closing: its own file is ended too, whatever its size. */
		closing?: boolean;
	},
): Promise<IngestResult> {
	let chained = 0;
	const finalized: string[] = [];
	const writer = new ChainWriter(tx, opts.lockHead, opts.keyFor);
	const activeKeys = new Map<string, DataKey>();
	const activeKey = async (tenant: string) => {
		let k = activeKeys.get(tenant);
		if (!k) activeKeys.set(tenant, (k = await opts.activeKey(tenant)));
		return k;
	};
	const alarm = async (reason: string) => {
		// The tenant of a lost or altered record is unknown (or untrusted): every chain says so.
		for (const tenant of await opts.tenants()) {
			const e = unchainedEvent(tenant, new Date().toISOString(), {
				actor: 'n8n-secrets',
				action: 'use',
				outcome: 'failure',
				reason: `INTEGRITY_ERROR: ${reason}`,
			});
			await writer.add(await activeKey(tenant), e);
			chained++;
		}
	};
	const present = journal.files();
	const rows = new Map((await journals.all(tx)).map((r) => [r.file, r]));
	if (opts.finalize) {
		const listed = new Set(present);
		for (const [file, row] of rows) {
			if (row.state === 'final') {
				faultPoint('audit.ingest.before-forget');
				journal.remove(file);
				await journals.forget(tx, file);
			} else if (!listed.has(file) && !journal.exists(file)) {
				// Before registration existed (state 'legacy'), a rolled file was deleted and its row kept.
				if (row.state === 'open')
					await alarm(
						`audit journal file ${file} was deleted before all its records were chained (chained up to byte ` +
							`${Number(row.ingested_to)}); any use it recorded after that is lost. Journal files must never be deleted by hand.`,
					);
				await journals.forget(tx, file);
			}
		}
	}
	for (const file of present) {
		const row = rows.get(file);
		if (row?.state === 'final') continue;
		const from = Number(row?.ingested_to ?? 0);
		const chunk = journal.read(file, from);
		let offset = from;
		for (const line of chunk.lines) {
			const lineOffset = offset;
			offset += Buffer.byteLength(line) + 1;
			const record = await openJournalRecord(line, opts.keyFor);
			if (record) {
				await writer.add(await activeKey(record.tenant), record);
				chained++;
				continue;
			}
			// A record that fails its seal was altered after it was written: say so instead of dropping it.
			await alarm(
				`audit journal record at ${file}:${lineOffset} failed its seal and was not trusted`,
			);
		}
		if (!chunk.exists) continue;
		const ended =
			opts.finalize &&
			(journal.isOrphan(file) ||
				(file === journal.ownFile && journal.detachIfIngested(chunk.end, opts.closing ?? false)));
		if (ended) {
			await journals.finalize(tx, file, chunk.end);
			finalized.push(file);
		} else if (chunk.end !== from) {
			await journals.setOffset(tx, file, chunk.end);
		}
	}
	await writer.finish();
	journal.pending = 0;
	if (opts.finalize) faultPoint('audit.ingest.before-commit');
	return { chained, finalized };
}

async function openJournalRecord(line: string, keyFor: KeyLookup): Promise<UnchainedEvent | null> {
	const tab = line.lastIndexOf('\t');
	if (tab < 0) return null;
	const json = line.slice(0, tab);
	let parsed: UnchainedEvent & { dekId: string };
	try {
		parsed = JSON.parse(json) as UnchainedEvent & { dekId: string };
	} catch {
		return null;
	}
	if (typeof parsed.tenant !== 'string' || typeof parsed.dekId !== 'string') return null;
	let key: DataKey;
	try {
		key = await keyFor(parsed.tenant, parsed.dekId);
	} catch {
		return null;
	}
	const mac = Buffer.from(line.slice(tab + 1), 'hex');
	if (!macEquals(hmac(key.auditKey, Buffer.from(json)), mac)) return null;
	const { dekId: _dekId, ...event } = parsed;
	return event;
}

export interface VerifyResult {
	ok: boolean;
	/** Events checked in the store (after the archive checkpoint, if there is one). */
	events: number;
	/** Events up to this sequence number were archived (`audit archive`); the chain is checked from there. */
	archivedThrough?: number;
	/**
	 * Integrity failures the chain records (a journal record that failed its seal, a journal file
	 * deleted before it was read): the chain is intact, but what it records needs looking at.
	 */
	integrityAlarms?: number;
	/** The first broken link, when there is one. */
	brokenAt?: { seq: number; id: string | null; problem: string };
}

/** A chain that failed verification, as the error of an operation that needs an intact one. */
export function brokenTrail(v: VerifyResult): SecretsError {
	return new SecretsError(
		'INTEGRITY_ERROR',
		`The audit trail is broken at event ${v.brokenAt!.seq}: ${v.brokenAt!.problem}. Nothing was changed; ` +
			'run `n8n-secrets audit verify` and restore the store from a backup.',
	);
}

/**
 * Every tenant's trail begins when `init` creates it: the first token, issued by the master key
 * holder (or an integrity failure chained into every tenant in that same transaction).
 */
function opensTrail(e: AuditEvent): boolean {
	return (
		(e.action === 'token.create' && e.actor === 'master-key-holder') ||
		(e.actor === 'n8n-secrets' && e.outcome === 'failure')
	);
}

function checkpointMac(
	key: DataKey,
	tenant: string,
	seq: number,
	hash: string,
	prevSeq: number,
): Buffer {
	return hmac(
		key.auditKey,
		Buffer.from(`n8n-secrets/audit-checkpoint/v1|${tenant}|${seq}|${hash}|${prevSeq}`),
	);
}

/** The seal of an archive checkpoint row, made inside the archive's pruning transaction. */
export function sealCheckpoint(
	key: DataKey,
	tenant: string,
	seq: number,
	hash: string,
	prevSeq: number,
): { dek_id: string; mac: Buffer } {
	return { dek_id: key.id, mac: checkpointMac(key, tenant, seq, hash, prevSeq) };
}

/**
 * Walks the chain in batches, from the tenant's latest archive checkpoint (sealed like the head) or
 * from the genesis; `keyFor` returns the data key that sealed the head or the checkpoint.
 */
export async function verifyChain(
	x: SqlExecutor,
	tenant: string,
	keyFor: (dekId: string) => Promise<DataKey>,
): Promise<VerifyResult> {
	const sealedWith = async (dekId: string) => {
		try {
			return await keyFor(dekId);
		} catch {
			return null;
		}
	};
	let prevHash = GENESIS_HASH;
	let expectSeq = 1;
	let count = 0;
	let alarms = 0;
	const checkpoint = await auditCheckpoints.latest(x, tenant);
	const archived = checkpoint ? Number(checkpoint.seq) : 0;
	const result = (ok: boolean, brokenAt?: VerifyResult['brokenAt']): VerifyResult => ({
		ok,
		events: count,
		...(checkpoint ? { archivedThrough: archived } : {}),
		...(alarms > 0 ? { integrityAlarms: alarms } : {}),
		...(brokenAt ? { brokenAt } : {}),
	});
	if (checkpoint) {
		const key = await sealedWith(checkpoint.dek_id);
		if (
			!key ||
			!macEquals(
				checkpointMac(key, tenant, archived, checkpoint.hash, Number(checkpoint.prev_seq)),
				toBuffer(checkpoint.mac)!,
			)
		) {
			return result(false, {
				seq: archived,
				id: null,
				problem: 'the archive checkpoint seal does not match (the checkpoint was edited or forged)',
			});
		}
		prevHash = checkpoint.hash;
		expectSeq = archived + 1;
	}
	for (;;) {
		const batch = await audit.range(x, tenant, expectSeq - 1, 2000);
		if (batch.length === 0) break;
		for (const e of batch) {
			if (e.seq !== expectSeq) {
				return result(false, {
					seq: expectSeq,
					id: null,
					problem: `event ${expectSeq} is missing`,
				});
			}
			if (e.prevHash !== prevHash) {
				return result(false, {
					seq: e.seq,
					id: e.id,
					problem:
						'the link to the previous event does not match (an earlier event was changed or removed)',
				});
			}
			if (eventHash(e) !== e.hash) {
				return result(false, {
					seq: e.seq,
					id: e.id,
					problem: 'the event was changed after it was written',
				});
			}
			if (e.seq === 1 && !opensTrail(e)) {
				return result(false, {
					seq: 1,
					id: e.id,
					problem:
						"the trail does not begin with its tenant's creation (a token issued by the master key holder): it was removed and restarted",
				});
			}
			if (e.outcome === 'failure' && e.reason?.startsWith('INTEGRITY_ERROR')) alarms++;
			prevHash = e.hash;
			expectSeq++;
			count++;
		}
	}
	const head = await audit.head(x, tenant, false);
	if (!head) {
		if (count === 0 && !checkpoint) {
			// Every tenant's chain begins when the tenant is created (its first token), so an existing
			// tenant without a single event had its whole trail removed.
			return result(false, {
				seq: 1,
				id: null,
				problem:
					'the tenant has no audit events and no chain head, but every trail begins when its tenant is created (the whole trail was removed)',
			});
		}
		return result(false, { seq: archived + count, id: null, problem: 'the chain head is missing' });
	}
	const headSeq = Number(head.seq);
	if (headSeq !== archived + count || head.hash !== prevHash) {
		return result(false, {
			seq: archived + count + 1,
			id: null,
			problem: `the chain head records ${headSeq} events but the chain ends at ${archived + count} (events were removed from the end)`,
		});
	}
	const key = await sealedWith(head.dek_id);
	if (!key)
		return result(false, {
			seq: headSeq,
			id: null,
			problem: 'the chain head is sealed with an unknown key',
		});
	if (!macEquals(headMac(key, tenant, headSeq, head.hash), toBuffer(head.mac)!)) {
		return result(false, {
			seq: headSeq,
			id: null,
			problem: 'the chain head seal does not match (the chain was rewritten)',
		});
	}
	return result(true);
}

/**
 * The head, if its seal holds and the last stored event is the one it names (and is itself intact):
 * what a checkpoint statement vouches for, checked in constant time (`verify` walks the whole chain).
 */
export async function sealedHead(
	x: SqlExecutor,
	tenant: string,
	keyFor: (dekId: string) => Promise<DataKey>,
	/** In a transaction on PostgreSQL: hold the head row, so no event is chained between the reads. */
	lock = false,
): Promise<{ seq: number; hash: string }> {
	const head = await audit.head(x, tenant, lock);
	const broken = (problem: string) =>
		new SecretsError(
			'INTEGRITY_ERROR',
			`The audit trail's head ${problem}. Nothing was signed; run \`n8n-secrets audit verify\`.`,
		);
	if (!head) throw broken('is missing');
	const seq = Number(head.seq);
	let key: DataKey;
	try {
		key = await keyFor(head.dek_id);
	} catch {
		throw broken('is sealed with an unknown key');
	}
	if (!macEquals(headMac(key, tenant, seq, head.hash), toBuffer(head.mac)!))
		throw broken('seal does not match');
	const [last] = await audit.last(x, tenant);
	const checkpoint = last ? null : await auditCheckpoints.latest(x, tenant);
	const lastSeq = last ? last.seq : Number(checkpoint?.seq ?? 0);
	const lastHash = last ? last.hash : checkpoint?.hash;
	if (lastSeq !== seq || lastHash !== head.hash || (last && eventHash(last) !== last.hash))
		throw broken('does not match the last stored event');
	return { seq, hash: head.hash };
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

/**
 * Re-seals the archive checkpoints under another data key, in re-encryption's final transaction.
 * A checkpoint whose seal does not verify under the key that made it keeps its broken seal: resealing
 * it would launder an edit.
 */
export async function resealCheckpoints(
	tx: SqlExecutor,
	tenant: string,
	key: DataKey,
	sealedWith: (dekId: string) => Promise<DataKey>,
): Promise<void> {
	for (const c of await auditCheckpoints.all(tx, tenant)) {
		if (c.dek_id === key.id) continue;
		const seq = Number(c.seq);
		const prevSeq = Number(c.prev_seq);
		let old: DataKey;
		try {
			old = await sealedWith(c.dek_id);
		} catch {
			continue;
		}
		if (!macEquals(checkpointMac(old, tenant, seq, c.hash, prevSeq), toBuffer(c.mac)!)) continue;
		await auditCheckpoints.reseal(
			tx,
			tenant,
			seq,
			key.id,
			checkpointMac(key, tenant, seq, c.hash, prevSeq),
		);
	}
}
