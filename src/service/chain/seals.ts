/**
 * The seals of the chain's head and of archive checkpoints: HMACs under a key derived from a tenant
 * data key, so without the master key nobody can rewrite the chain and re-seal its head, and a
 * truncated tail no longer matches the head.
 */
import { hmac, macEquals } from '../../crypto/aead';
import type { DataKey } from '../../crypto/keyring';
import {
	audit,
	type AuditCheckpointRow,
	auditCheckpoints,
	type AuditHeadRow,
} from '../../store/repository';
import { type SqlExecutor, toBuffer } from '../../store/sql';

export function headMac(key: DataKey, tenant: string, seq: number, hash: string): Buffer {
	return hmac(key.auditKey, Buffer.from(`n8n-secrets/audit-head/v1|${tenant}|${seq}|${hash}`));
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

/** Whether the head row carries the seal `key` gives it. */
export function headSealHolds(key: DataKey, head: AuditHeadRow): boolean {
	return macEquals(headMac(key, head.tenant, Number(head.seq), head.hash), toBuffer(head.mac)!);
}

/** Whether the checkpoint row carries the seal `key` gives it. */
export function checkpointSealHolds(key: DataKey, c: AuditCheckpointRow): boolean {
	return macEquals(
		checkpointMac(key, c.tenant, Number(c.seq), c.hash, Number(c.prev_seq)),
		toBuffer(c.mac)!,
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
		if (!checkpointSealHolds(old, c)) continue;
		await auditCheckpoints.reseal(
			tx,
			tenant,
			seq,
			key.id,
			checkpointMac(key, tenant, seq, c.hash, prevSeq),
		);
	}
}
