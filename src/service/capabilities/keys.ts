/**
 * Keys: replacing the master key (store-wide, only for its holder: the CLI on the store's host) and
 * re-encrypting a tenant's values under a new data key (in batches, resumable, one run per tenant at
 * a time across processes under a lease).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { hostname } from 'node:os';

import { SecretsError } from '../../core/errors';
import { faultPoint } from '../../core/fault';
import { processGone } from '../../core/processes';
import { Denial, isLimited } from '../../auth/permissions';
import { type DataKey, Keyring } from '../../crypto/keyring';
import type { KeyProvider } from '../../crypto/master-key';
import {
	type RotationLeaseRow,
	dataKeys,
	masterKeys,
	rotationLeases,
	seals,
	tenants,
	versions,
} from '../../store/repository';
import { type SqlExecutor, toBuffer } from '../../store/sql';
import type { ReencryptProgress } from '../api';
import { resealCheckpoints, resealHead } from '../audit-chain';
import { type Core, MASTER_KEY_HOLDER } from '../core';
import type { Impl } from '../runner';
import { loadDataKey, resealSigningKeys } from '../store-keys';

/** A re-encryption lease without progress for this long may be taken over by another run. */
const LEASE_STALE_MS = 2 * 60_000;

/**
 * Store-wide, and so only for the holder of the master key (the CLI on the store's host, never a
 * tenant's token): moves the store to a new master key (re-wraps every data key: fast) and/or
 * re-encrypts every tenant's values under new data keys (slow, in batches, resumable: run it again
 * after a crash and it carries on). Other processes must be restarted with the new key afterwards.
 */
export async function rotateMasterKey(
	c: Core,
	opts: {
		newKey?: KeyProvider;
		reencrypt?: boolean;
		batchSize?: number;
		onProgress?: (p: ReencryptProgress) => void;
	},
): Promise<{ rewrapped: number; reencrypted: number }> {
	if (!opts.newKey && !opts.reencrypt)
		throw new SecretsError(
			'INVALID_INPUT',
			'Invalid input: give a new master key, ask to re-encrypt, or both.',
		);
	const actor = { subject: MASTER_KEY_HOLDER, jti: null };
	let rewrapped = 0;
	if (opts.newKey) rewrapped = await rewrapAll(c, actor, opts.newKey);
	let reencrypted = 0;
	if (opts.reencrypt) {
		for (const { id: tenant } of await tenants.all(c.driver)) {
			reencrypted += await reencryptTenant(
				c,
				actor,
				tenant,
				opts.batchSize ?? 500,
				opts.onProgress,
			);
		}
	}
	return { rewrapped, reencrypted };
}

/**
 * `POST /keys/rotate`: re-encrypts the caller's own tenant under a new data key. It touches every
 * value of the tenant, so it needs an admin token limited to no environment and no name pattern.
 */
const rotateDataKeys: Impl<'rotateDataKeys'> = async (c, { p, i }) => {
	if (isLimited(p))
		throw new Denial(
			'This access token may not re-encrypt the tenant: that touches every secret in every environment, ' +
				'and the token is limited to some. Use an admin token without limits.',
			'key.rotate with a limited token',
		);
	const reencrypted = await reencryptTenant(
		c,
		{ subject: p.subject, jti: p.jti },
		p.tenant,
		i.batchSize ?? 500,
	);
	return { rewrapped: 0, reencrypted };
};

export const KEYS = { rotateDataKeys };

async function rewrapAll(
	c: Core,
	p: { subject: string; jti: string | null },
	provider: KeyProvider,
): Promise<number> {
	const salt = provider.needsSalt ? randomBytes(16) : null;
	const next = await provider.open(salt);
	if (next.checkValue.equals(c.keys.master.checkValue)) {
		throw new SecretsError(
			'INVALID_INPUT',
			'The new master key is the same as the current one; nothing was changed.',
		);
	}
	const nextId = randomUUID();
	const count = await c.driver.transaction(async (tx) => {
		const now = c.iso();
		await masterKeys.insert(tx, nextId, next.checkValue, salt, now);
		await masterKeys.retireAllBut(tx, nextId, now);
		const all = await dataKeys.all(tx);
		for (const row of all) {
			// Unwrapped (and cached) under the old key first: the audit event below, in this same
			// transaction, seals with these data keys after their rows already hold the new wrapping.
			c.keyring.unwrap(row);
			await dataKeys.rewrap(tx, c.keyring.rewrap(row, next, nextId));
		}
		for (const { id: tenant } of await tenants.all(tx)) {
			await c.audit.write(tx, tenant, {
				actor: p.subject,
				tokenId: p.jti,
				action: 'key.rotate',
				outcome: 'success',
				reason: `master key replaced (from ${c.keys.master.source} to ${next.source}); ${all.length} data keys re-wrapped`,
			});
		}
		faultPoint('rewrap.before-commit');
		return all.length;
	});
	faultPoint('rewrap.committed');
	c.keys = { master: next, masterKeyId: nextId, keyring: new Keyring(next, nextId) };
	return count;
}

/**
 * Whether another run's lease on a tenant's re-encryption still holds: its process is alive (when
 * it ran on this host) and it made progress within LEASE_STALE_MS. A killed run's lease does not
 * hold, so running the command again carries on where it stopped.
 */
function leaseHolds(c: Pick<Core, 'now'>, lease: RotationLeaseRow): boolean {
	const [host, pid] = lease.holder.split('|');
	if (host === hostname() && Number(pid) !== process.pid && processGone(Number(pid))) return false;
	return c.now().getTime() - Date.parse(lease.heartbeat_at) < LEASE_STALE_MS;
}

function rotationInProgress(tenant: string, lease: RotationLeaseRow): SecretsError {
	return new SecretsError(
		'ROTATION_IN_PROGRESS',
		`A re-encryption of tenant "${tenant}" started by ${lease.actor} at ${lease.started_at} is still running ` +
			`(last progress at ${lease.heartbeat_at}). Nothing was changed. Wait for it to finish (its key.rotate ` +
			'audit event says when); run this again only if you want yet another new data key.',
		{ details: { startedAt: lease.started_at, lastProgressAt: lease.heartbeat_at } },
	);
}

/** Inside each step's transaction: this run still holds the lease (and says it is alive). */
async function holdLease(c: Core, tx: SqlExecutor, tenant: string, runId: string): Promise<void> {
	const lease = await rotationLeases.get(tx, tenant);
	if (!lease || lease.run_id !== runId) {
		throw new SecretsError(
			'ROTATION_IN_PROGRESS',
			`The re-encryption of tenant "${tenant}" was taken over by another run (it stopped making progress ` +
				'for too long). Nothing is lost: the other run finishes it.',
		);
	}
	await rotationLeases.heartbeat(tx, tenant, runId, c.iso());
}

/**
 * Re-encrypts every value of a tenant under a new data key, re-seals every sealed row with it, and
 * deletes the old keys once no row needs them. One run per tenant at a time across all processes
 * (a lease row, taken and checked inside the store's write lock): a second caller gets
 * ROTATION_IN_PROGRESS and changes nothing, so a client that retries after a timeout is safe.
 * Each batch is its own short transaction, so other writers and readers are never held for long;
 * a run killed part-way is carried on by the next one, under the key the first one created.
 */
export async function reencryptTenant(
	c: Core,
	p: { subject: string; jti: string | null },
	tenant: string,
	batchSize: number,
	onProgress?: (p: ReencryptProgress) => void,
): Promise<number> {
	const keyring = c.keyring;
	const runId = randomUUID();
	// Looked at before the write lock too: a refused retry must not queue behind the running one.
	const current = await rotationLeases.get(c.driver, tenant);
	if (current && leaseHolds(c, current)) throw rotationInProgress(tenant, current);
	const target = await c.driver.transaction(async (tx) => {
		const lease = await rotationLeases.get(tx, tenant);
		if (lease && leaseHolds(c, lease)) throw rotationInProgress(tenant, lease);
		const now = c.iso();
		await rotationLeases.take(tx, {
			tenant,
			run_id: runId,
			holder: `${hostname()}|${process.pid}|${runId}`,
			actor: p.subject,
			started_at: now,
			heartbeat_at: now,
		});
		// A 'retiring' key means an earlier run stopped part-way: carry on under the key it created.
		if ((await dataKeys.retiring(tx, tenant)).length === 0) {
			await requireCurrentMasterKey(c, tx);
			await dataKeys.retireActive(tx, tenant);
			const { wrapped } = keyring.create(tenant);
			await dataKeys.insert(tx, wrapped, now);
		}
		return (await dataKeys.active(tx, tenant))!;
	});
	faultPoint('reencrypt.started');
	try {
		return await reencryptUnderLease(c, p, tenant, runId, keyring.unwrap(target), {
			batchSize,
			onProgress,
		});
	} catch (err) {
		// Give the lease back at once (a killed process's lease lapses by itself).
		await c.driver
			.transaction((tx) => rotationLeases.release(tx, tenant, runId))
			.catch(() => undefined);
		throw err;
	}
}

async function reencryptUnderLease(
	c: Core,
	p: { subject: string; jti: string | null },
	tenant: string,
	runId: string,
	to: DataKey,
	opts: { batchSize: number; onProgress?: (p: ReencryptProgress) => void },
): Promise<number> {
	const keyring = c.keyring;
	const total = await versions.countNotUnder(c.driver, tenant, to.id);
	let done = 0;
	opts.onProgress?.({ tenant, done, total });
	for (;;) {
		const moved = await c.driver.transaction(async (tx) => {
			await holdLease(c, tx, tenant, runId);
			const batch = await versions.notUnder(tx, tenant, to.id, opts.batchSize);
			for (const v of batch) {
				if (v.ciphertext === null) {
					// Destroyed by retention: nothing to decrypt, but its seal moves to the new key.
					await versions.save(tx, { ...v, dek_id: to.id });
					continue;
				}
				const from = await loadDataKey(tx, keyring, tenant, v.dek_id);
				const slot = {
					tenant,
					secretId: v.secret_id,
					environment: v.environment,
					version: v.version,
				};
				const plain = from.decryptValue(slot, {
					iv: toBuffer(v.iv)!,
					ciphertext: toBuffer(v.ciphertext)!,
					mac: toBuffer(v.mac)!,
				});
				const enc = to.encryptValue(slot, plain);
				await versions.save(tx, { ...v, dek_id: to.id, ...enc });
			}
			return batch.length;
		});
		if (moved === 0) break;
		faultPoint('reencrypt.batch');
		done += moved;
		opts.onProgress?.({ tenant, done, total });
	}
	for (const table of ['secrets', 'value_lines', 'tokens'] as const) {
		for (;;) {
			const moved = await c.driver.transaction(async (tx) => {
				await holdLease(c, tx, tenant, runId);
				return seals.resealBatch(tx, table, tenant, to.id, opts.batchSize);
			});
			if (moved === 0) break;
			faultPoint('reencrypt.reseal');
		}
	}
	let kept = 0;
	await c.driver.transaction(async (tx) => {
		await holdLease(c, tx, tenant, runId);
		// Journal records sealed under the old keys must be chained before those keys are gone.
		await c.audit.ingestWithin(tx);
		const retiring = await dataKeys.retiring(tx, tenant);
		for (const old of retiring) await resealSigningKeys(tx, keyring.unwrap(old), to);
		await resealHead(tx, tenant, to);
		await resealCheckpoints(tx, tenant, to, (id) => loadDataKey(tx, keyring, tenant, id));
		for (const old of retiring) {
			// Never a key some row still needs: keep it (retiring) for the next run to finish.
			if ((await seals.references(tx, tenant, old.id)) === 0)
				await dataKeys.remove(tx, tenant, old.id);
			else kept++;
		}
		await rotationLeases.release(tx, tenant, runId);
		await c.audit.write(tx, tenant, {
			actor: p.subject,
			tokenId: p.jti,
			action: 'key.rotate',
			outcome: 'success',
			reason:
				`${done} values re-encrypted under a new data key` +
				(kept > 0 ? `; ${kept} old data keys kept because rows still need them` : ''),
		});
		faultPoint('reencrypt.before-commit');
	});
	faultPoint('reencrypt.committed');
	return done;
}

/**
 * A new data key must be wrapped by the store's current master key: a process still running with
 * a key another process has since retired would otherwise wrap one that nobody can open.
 */
async function requireCurrentMasterKey(c: Pick<Core, 'keys'>, tx: SqlExecutor): Promise<void> {
	const active = (await masterKeys.all(tx)).find((r) => r.state === 'active');
	if (active && active.id !== c.keys.masterKeyId) {
		throw new SecretsError(
			'WRONG_MASTER_KEY',
			'The master key was rotated by another process since this one started. Nothing was changed; ' +
				'restart this process with the new master key.',
		);
	}
}
