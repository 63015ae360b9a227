/**
 * Each tenant's token signing keys (Ed25519): made with the tenant, the private key encrypted under a
 * data key, the row sealed like every sealed table (the tables check and seal it through the keys the
 * executor carries: keyedExecutor).
 */
import {
	createPrivateKey,
	createPublicKey,
	generateKeyPairSync,
	randomUUID,
	type KeyObject,
} from 'node:crypto';

import { SecretsError } from '../core/errors';
import type { DataKey, Keyring } from '../crypto/keyring';
import { dataKeys, type SigningKeyRow, signingKeys, tenants } from '../store/repository';
import { type SqlExecutor, toBuffer } from '../store/sql';
import { keyedExecutor, loadDataKey } from './keyed-driver';

/** Creates a tenant with its data key and token signing key, inside the caller's transaction. */
export async function createTenant(
	tx: SqlExecutor,
	keyring: Keyring,
	tenant: string,
	now: string,
): Promise<void> {
	await tenants.insert(tx, tenant, now);
	const { dataKey, wrapped } = keyring.create(tenant);
	await dataKeys.insert(tx, wrapped, now);
	await addSigningKey(keyedExecutor(tx, keyring), dataKey, now);
}

function blobLabel(kid: string): string {
	return `signing-key|${kid}`;
}

async function addSigningKey(tx: SqlExecutor, dataKey: DataKey, now: string): Promise<void> {
	const { publicKey, privateKey } = generateKeyPairSync('ed25519');
	const kid = randomUUID();
	const sealed = dataKey.sealBlob(
		blobLabel(kid),
		privateKey.export({ type: 'pkcs8', format: 'der' }),
	);
	await signingKeys.insert(tx, {
		tenant: dataKey.tenant,
		kid,
		public_key: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
		dek_id: dataKey.id,
		private_iv: sealed.iv,
		private_key: sealed.data,
		created_at: now,
	});
}

function privateKeyOf(dataKey: DataKey, row: SigningKeyRow): Buffer {
	return dataKey.openBlob(
		blobLabel(row.kid),
		toBuffer(row.private_iv)!,
		toBuffer(row.private_key)!,
	);
}

export async function loadSigningKey(
	x: SqlExecutor,
	keyring: Keyring,
	tenant: string,
): Promise<{ kid: string; key: KeyObject }> {
	const row = await signingKeys.latest(keyedExecutor(x, keyring), tenant);
	if (!row)
		throw new SecretsError('TENANT_NOT_FOUND', `Tenant "${tenant}" does not exist in this store.`);
	const der = privateKeyOf(await loadDataKey(x, keyring, tenant, row.dek_id), row);
	return { kid: row.kid, key: createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }) };
}

/**
 * The public key that checks a token's signature. Its row is sealed: a public key swapped in by
 * someone with write access to the database would otherwise let them sign tokens of their own.
 */
export async function loadVerifyKey(
	x: SqlExecutor,
	keyring: Keyring,
	tenant: string,
	kid: string,
): Promise<KeyObject | undefined> {
	const row = await signingKeys.get(keyedExecutor(x, keyring), tenant, kid);
	return row && createPublicKey(row.public_key);
}

/**
 * Moves the tenant's signing keys from one data key to another (re-encryption). `tx` carries the row
 * keys (a KeyedDriver transaction): each row is checked under `from` and sealed anew under `to`.
 */
export async function resealSigningKeys(
	tx: SqlExecutor,
	from: DataKey,
	to: DataKey,
): Promise<void> {
	for (const row of await signingKeys.byDek(tx, from.tenant, from.id)) {
		const sealed = to.sealBlob(blobLabel(row.kid), privateKeyOf(from, row));
		await signingKeys.save(tx, {
			...row,
			dek_id: to.id,
			private_iv: sealed.iv,
			private_key: sealed.data,
		});
	}
}
