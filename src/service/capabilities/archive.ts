/**
 * Archiving the audit trail on the store's host: the oldest events move to a file (complete and
 * fsynced before a single event is removed) and a sealed checkpoint of the last archived one is
 * recorded, from which `verify` then starts. Stopped at any point, it loses nothing; run again, it
 * completes. And checking such a file against the store.
 */
import { readFileSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';

import { SecretsError } from '../../core/errors';
import { faultPoint } from '../../core/fault';
import { Denial, isLimited } from '../../auth/permissions';
import { audit as auditRepo, auditCheckpoints } from '../../store/repository';
import {
	ARCHIVE_TYPE,
	checkArchive,
	checkOutputFree,
	sameKey,
	signStatement,
	writeArchive,
} from '../audit-archive';
import { GENESIS_HASH, brokenTrail, sealCheckpoint, verifyChain } from '../audit-chain';
import type { Core } from '../core';
import type { Principal } from '../../core/model';
import type { Impl } from '../runner';
import { activeDataKey, loadDataKey, loadSigningKey, loadVerifyKey } from '../store-keys';
import type { SqlExecutor } from '../../store/sql';

/**
 * Moves the tenant's oldest audit events (every event before the first one at or after `before`) to
 * the file `out`, then removes them from the store.
 */
const archiveAudit: Impl<'archiveAudit'> = async (c, { p, i, caller }) => {
	const before = Date.parse(i.before);
	const out = resolvePath(i.out);
	if (isLimited(p))
		throw new Denial(
			'This access token may not archive the audit trail: that removes events about every secret, ' +
				'and the token is limited to some. Use an admin token without limits.',
			'audit.archive with a limited token',
		);
	await c.audit.ingest();
	// A prune cut short by a crash is finished first.
	await pruneArchived(c, p.tenant);
	const keyFor = (x: SqlExecutor) => (id: string) => loadDataKey(x, c.keyring, p.tenant, id);
	const verified = await verifyChain(c.driver, p.tenant, keyFor(c.driver));
	if (!verified.ok) throw brokenTrail(verified);
	const previous = await auditCheckpoints.latest(c.driver, p.tenant);
	const fromSeq = previous ? Number(previous.seq) + 1 : 1;
	const prevHash = previous ? previous.hash : GENESIS_HASH;
	const stop = await auditCheckpoints.firstAtOrAfter(
		c.driver,
		p.tenant,
		fromSeq,
		new Date(before).toISOString(),
	);
	const head = (await auditRepo.head(c.driver, p.tenant, false))!;
	const throughSeq = stop === null ? Number(head.seq) : stop - 1;
	if (throughSeq < fromSeq) return { archived: 0 };
	checkOutputFree(out, p.tenant, fromSeq);
	const [last] = await auditRepo.range(c.driver, p.tenant, throughSeq - 1, 1);
	const statement = signStatement(await loadSigningKey(c.driver, c.keyring, p.tenant), {
		tenant: p.tenant,
		seq: throughSeq,
		hash: last.hash,
		time: c.iso(),
	});
	const driver = c.driver;
	const sha256 = await writeArchive(
		out,
		{
			type: ARCHIVE_TYPE,
			tenant: p.tenant,
			fromSeq,
			throughSeq,
			prevHash,
			count: throughSeq - fromSeq + 1,
			createdAt: c.iso(),
		},
		async function* () {
			for (let after = fromSeq - 1; after < throughSeq; ) {
				const batch = (await auditRepo.range(driver, p.tenant, after, 2000)).filter(
					(e) => e.seq <= throughSeq,
				);
				if (batch.length === 0) break;
				yield batch;
				after = batch[batch.length - 1].seq;
			}
		},
		statement,
	);
	await c.driver.transaction(async (tx) => {
		const now = await auditCheckpoints.latest(tx, p.tenant);
		const [still] = await auditRepo.range(tx, p.tenant, throughSeq - 1, 1);
		if (Number(now?.seq ?? 0) !== fromSeq - 1 || still?.hash !== last.hash)
			throw new SecretsError(
				'VERSION_CONFLICT',
				`Another archive of tenant "${p.tenant}" ran at the same time; nothing was removed. ${out} ` +
					'is not needed (its events are still in the store or in the other archive); run again.',
			);
		const key = await activeDataKey(tx, c.keyring, p.tenant);
		await auditCheckpoints.insert(tx, {
			tenant: p.tenant,
			seq: throughSeq,
			hash: last.hash,
			prev_seq: fromSeq - 1,
			archived_at: c.iso(),
			archive_file: out,
			archive_sha256: sha256,
			...sealCheckpoint(key, p.tenant, throughSeq, last.hash, fromSeq - 1),
		});
		await c.audit.write(tx, p.tenant, {
			actor: p.subject,
			tokenId: p.jti,
			action: 'audit.archive',
			outcome: 'success',
			reason: `events ${fromSeq}-${throughSeq} archived to ${out} (sha256 ${sha256})`,
			context: caller.context,
		});
		faultPoint('audit.archive.before-commit');
	});
	faultPoint('audit.archive.committed');
	await pruneArchived(c, p.tenant);
	return { archived: throughSeq - fromSeq + 1, fromSeq, throughSeq, file: out, sha256 };
};

/** Removes archived events (at or before the latest checkpoint) in bounded transactions. */
async function pruneArchived(c: Pick<Core, 'driver'>, tenant: string): Promise<void> {
	const checkpoint = await auditCheckpoints.latest(c.driver, tenant);
	if (!checkpoint) return;
	for (;;) {
		const { changes } = await c.driver.transaction(
			(tx) => auditCheckpoints.pruneBatch(tx, tenant, Number(checkpoint.seq), 10_000),
			'process',
			{ changesSecrets: false },
		);
		if (changes === 0) return;
		faultPoint('audit.archive.pruned-batch');
	}
}

export interface ArchiveCheck {
	ok: boolean;
	events: number;
	fromSeq?: number;
	throughSeq?: number;
	problem?: string;
}

/**
 * Checks an archive file on its own (links, hashes, signed closing statement) and against the store:
 * signed with the tenant's key, and its first and last events are the store's checkpoints.
 */
export async function verifyArchive(
	k: Pick<Core, 'keyring'>,
	p: Principal,
	file: string,
	x: SqlExecutor,
): Promise<ArchiveCheck> {
	let text: string;
	try {
		text = readFileSync(file, 'utf8');
	} catch (err) {
		throw new SecretsError(
			'INVALID_INPUT',
			`Cannot read the archive ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}.`,
		);
	}
	const check = checkArchive(text);
	const range = check.header
		? { fromSeq: check.header.fromSeq, throughSeq: check.header.throughSeq }
		: {};
	if (!check.ok) return { ok: false, events: check.events, ...range, problem: check.problem };
	const h = check.header!;
	const st = check.statement!;
	const fail = (problem: string) => ({ ok: false, events: check.events, ...range, problem });
	if (h.tenant !== p.tenant) return fail(`the archive is of tenant "${h.tenant}", not this one`);
	if (!sameKey(await loadVerifyKey(x, k.keyring, p.tenant, st.kid), st))
		return fail("the archive is not signed by one of the tenant's signing keys");
	const end = await auditCheckpoints.get(x, p.tenant, h.throughSeq);
	if (!end || end.hash !== st.hash)
		return fail(
			`the store has no checkpoint of event ${h.throughSeq} with this hash: this archive's events were not the ones removed from the store`,
		);
	if (
		h.fromSeq === 1
			? h.prevHash !== GENESIS_HASH
			: (await auditCheckpoints.get(x, p.tenant, h.fromSeq - 1))?.hash !== h.prevHash
	)
		return fail(
			`the archive's first event does not link to the store's checkpoint of event ${h.fromSeq - 1}`,
		);
	return { ok: true, events: check.events, ...range };
}

export const ARCHIVE = { archiveAudit };
