/** Checking the chain: the whole walk (`audit verify`), and the head alone (a checkpoint statement). */
import { SecretsError } from '../../core/errors';
import type { AuditEvent } from '../../core/model';
import type { DataKey } from '../../crypto/keyring';
import { audit, auditCheckpoints } from '../../store/repository';
import type { SqlExecutor } from '../../store/sql';
import { eventHash, GENESIS_HASH } from './events';
import { checkpointSealHolds, headSealHolds } from './seals';

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
		if (!key || !checkpointSealHolds(key, checkpoint)) {
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
	if (!headSealHolds(key, head)) {
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
	if (!headSealHolds(key, head)) throw broken('seal does not match');
	const [last] = await audit.last(x, tenant);
	const checkpoint = last ? null : await auditCheckpoints.latest(x, tenant);
	const lastSeq = last ? last.seq : Number(checkpoint?.seq ?? 0);
	const lastHash = last ? last.hash : checkpoint?.hash;
	if (lastSeq !== seq || lastHash !== head.hash || (last && eventHash(last) !== last.hash))
		throw broken('does not match the last stored event');
	return { seq, hash: head.hash };
}
