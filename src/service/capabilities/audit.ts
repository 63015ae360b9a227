/**
 * Reading the audit trail: events (filtered, paged, only those a limited token may see), where a
 * secret is used, the chain's check, and a signed checkpoint an auditor keeps outside the store.
 */
import { SecretsError } from '../../core/errors';
import type { AuditEvent, Principal } from '../../core/model';
import { environmentAllowed, secretAllowed } from '../../auth/permissions';
import { audit as auditRepo, auditCheckpoints } from '../../store/repository';
import type { SqlExecutor } from '../../store/sql';
import type { UsageItem, VerifyAuditResult } from '../api';
import {
	type CheckpointStatement,
	sameKey,
	signStatement,
	statementSigned,
} from '../audit-archive';
import { sealedHead, verifyChain } from '../audit-chain';
import type { Impl } from '../runner';
import { type ArchiveCheck, verifyArchive } from './archive';
import { loadDataKey, loadSigningKey, loadVerifyKey } from '../store-keys';

/**
 * Whether a token limited to some environments or names may read an event: events about a secret
 * need the name (and the environment, when the event has one) within the token's limits; events about
 * no secret need a token unlimited in names, and in environments unless the event names one (tokens
 * and keys are only an unlimited token's business).
 */
function auditVisible(p: Principal, e: AuditEvent): boolean {
	if (e.environment !== null && !environmentAllowed(p, e.environment)) return false;
	if (e.secret === null)
		return p.secrets.length === 0 && (e.environment !== null || p.environments.length === 0);
	return secretAllowed(p, e.secret);
}

const listAudit: Impl<'listAudit'> = async (c, { p, i }, x) => {
	await c.audit.ingestBeforeRead();
	const beforeSeq = i.cursor === undefined ? undefined : Number(i.cursor);
	if (beforeSeq !== undefined && !Number.isSafeInteger(beforeSeq))
		throw new SecretsError(
			'INVALID_INPUT',
			'Invalid input: cursor: use the nextCursor of the previous page.',
		);
	// A limited token reads only the events about what it may act on; hidden events are skipped batch
	// by batch, so a page still holds `limit` events when there are that many.
	const items: AuditEvent[] = [];
	const cursor = { beforeSeq, afterSeq: i.afterSeq };
	for (;;) {
		const batch = await auditRepo.query(x, p.tenant, { ...i, ...cursor, limit: i.limit + 1 });
		for (const e of batch) if (auditVisible(p, e) && items.length <= i.limit) items.push(e);
		if (items.length > i.limit || batch.length <= i.limit) break;
		const last = batch[batch.length - 1].seq;
		if (i.afterSeq !== undefined) cursor.afterSeq = last;
		else cursor.beforeSeq = last;
	}
	if (items.length <= i.limit) return { items };
	items.pop();
	return i.afterSeq !== undefined
		? { items }
		: { items, nextCursor: String(items[items.length - 1].seq) };
};

/**
 * Checks the hash chain from the genesis or the latest archive checkpoint to the sealed head. With
 * `checkpoint` (a statement from `auditCheckpoint`, kept by an auditor outside the store) it also
 * checks that the chain still holds that event: a rolled-back or rewritten chain does not.
 */
const verifyAudit: Impl<'verifyAudit'> = async (
	c,
	{ p, i },
	x,
): Promise<VerifyAuditResult | ArchiveCheck> => {
	if (i.archive !== undefined) return verifyArchive(c, p, i.archive, x);
	await c.audit.ingestBeforeRead();
	const result = await verifyChain(x, p.tenant, (id) => loadDataKey(x, c.keyring, p.tenant, id));
	const anchor = i.checkpoint as CheckpointStatement | undefined;
	if (!result.ok || !anchor) return result;
	const broken = (problem: string) => ({
		...result,
		ok: false,
		brokenAt: { seq: anchor.seq, id: null, problem },
	});
	if (anchor.tenant !== p.tenant)
		return broken(`the checkpoint is about tenant "${anchor.tenant}", not this one`);
	if (
		!statementSigned(anchor) ||
		!sameKey(await loadVerifyKey(x, c.keyring, p.tenant, anchor.kid), anchor)
	)
		return broken(
			"the checkpoint is not signed by one of the tenant's signing keys (it was altered, or the store's keys were replaced)",
		);
	const archived = result.archivedThrough ?? 0;
	const end = archived + result.events;
	if (anchor.seq > end)
		return broken(
			`the checkpoint of ${anchor.time} vouches for event ${anchor.seq}, but the chain now ends at event ${end}: ` +
				'events were removed and the head rolled back (or the store was restored from an older backup)',
		);
	const hash =
		anchor.seq > archived
			? (await auditRepo.range(x, p.tenant, anchor.seq - 1, 1))[0]?.hash
			: (await auditCheckpoints.get(x, p.tenant, anchor.seq))?.hash;
	if (hash === undefined) return { ...result, checkpoint: { seq: anchor.seq, found: 'archived' } };
	if (hash !== anchor.hash)
		return broken(
			`event ${anchor.seq} is not the event the checkpoint of ${anchor.time} vouches for: the chain was rewritten`,
		);
	return { ...result, checkpoint: { seq: anchor.seq, found: 'in-store' } };
};

/**
 * A statement of the chain's last event signed with the tenant's signing key, for an auditor to keep
 * outside the store (see audit-archive.ts). Refused when the head's seal does not hold or it does not
 * name the last stored event (checked in constant time; `verify` walks the chain).
 */
const auditCheckpoint: Impl<'auditCheckpoint'> = async (c, { p }) => {
	await c.audit.ingest();
	const sign = async (x: SqlExecutor, lock: boolean) => {
		const head = await sealedHead(
			x,
			p.tenant,
			(id) => loadDataKey(x, c.keyring, p.tenant, id),
			lock,
		);
		return signStatement(await loadSigningKey(x, c.keyring, p.tenant), {
			tenant: p.tenant,
			...head,
			time: c.iso(),
		});
	};
	// The head and the last event are read together: outside a transaction, an event chained by
	// another connection between the two reads would look like a broken head.
	if (c.driver.readOnlyReason) return sign(c.driver, false);
	return c.driver.transaction((tx) => sign(tx, c.audit.lockHead), 'process', {
		changesSecrets: false,
	});
};

/** "Used by": one row per workflow that used the secret, from the trail a token's limits allow. */
const secretUsage: Impl<'secretUsage'> = async (
	c,
	{ p, i },
	x,
): Promise<{ items: UsageItem[] }> => {
	await c.audit.ingestBeforeRead();
	const groups = await auditRepo.usage(x, p.tenant, i.name, p.environments, i.limit);
	return {
		items: groups.map(({ uses, last }) => ({
			workflowId: last.workflowId,
			workflowName: last.workflowName,
			uses,
			lastUsedAt: last.time,
			lastExecutionId: last.executionId,
			lastEnvironment: last.environment,
			lastNode: last.node,
			lastActor: last.actor,
			lastDestinationHost: last.destinationHost,
		})),
	};
};

export const AUDIT = { listAudit, secretUsage, verifyAudit, auditCheckpoint };
