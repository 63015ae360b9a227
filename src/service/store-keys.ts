/**
 * Opening a store: schema, master key check, data keys and signing keys. Everything here runs before
 * any operation, and a wrong master key stops it before a single row is written.
 */
import {
	createPrivateKey,
	createPublicKey,
	generateKeyPairSync,
	randomBytes,
	randomUUID,
	type KeyObject,
} from 'node:crypto';

import { SecretsError } from '../core/errors';
import { macEquals } from '../crypto/aead';
import { type DataKey, Keyring } from '../crypto/keyring';
import type { KeyProvider, MasterKey } from '../crypto/master-key';
import { SCHEMA_VERSION, migrate, schemaVersion } from '../store/migrations';
import { dataKeys, masterKeys, type MasterKeyRow, signingKeys, tenants } from '../store/repository';
import { type SqlDriver, type SqlExecutor, toBuffer } from '../store/sql';

export interface OpenedKeys {
	master: MasterKey;
	masterKeyId: string;
	keyring: Keyring;
}

async function matchingRow(
	provider: KeyProvider,
	rows: MasterKeyRow[],
): Promise<{ key: MasterKey; row: MasterKeyRow } | undefined> {
	for (const row of rows) {
		const key = await provider.open(toBuffer(row.kdf_salt));
		if (macEquals(key.checkValue, toBuffer(row.check_value)!)) return { key, row };
		if (!provider.needsSalt) return undefined; // a raw key has one check value, whatever the row
	}
	return undefined;
}

/**
 * Opens (and, with `create`, initializes) the store behind `driver` with the master key from
 * `provider`. The key is checked against the stored check value before any migration or write.
 */
export async function openKeys(
	driver: SqlDriver,
	provider: KeyProvider,
	create: boolean,
	now: string,
): Promise<OpenedKeys> {
	const found = await schemaVersion(driver);
	if (found > SCHEMA_VERSION) await migrate(driver); // throws SCHEMA_TOO_NEW with the details
	if (found >= 1) {
		const rows = await masterKeys.all(driver);
		if (rows.length > 0) {
			const active = rows.filter((r) => r.state === 'active');
			const match = await matchingRow(provider, active);
			if (!match) {
				const retired = await matchingRow(
					provider,
					rows.filter((r) => r.state === 'retired'),
				);
				throw new SecretsError(
					'WRONG_MASTER_KEY',
					retired
						? `The master key from ${provider.source} was retired by a key rotation on ${retired.row.retired_at}. ` +
							'Start with the new master key; nothing was changed.'
						: `The master key from ${provider.source} does not match the secrets store at ${driver.location}. ` +
							'Check that it is the key this store was created with; nothing was changed.',
				);
			}
			await migrate(driver);
			return {
				master: match.key,
				masterKeyId: match.row.id,
				keyring: new Keyring(match.key, match.row.id),
			};
		}
	}
	if (!create) {
		throw new SecretsError(
			'STORE_NOT_INITIALIZED',
			`No secrets store at ${driver.location} yet. Create it with \`n8n-secrets init\`.`,
		);
	}
	await migrate(driver);
	const salt = provider.needsSalt ? randomBytes(16) : null;
	const master = await provider.open(salt);
	const id = randomUUID();
	await driver.transaction(async (tx) => {
		// Another process may have initialized the store while we derived the key.
		if ((await masterKeys.all(tx)).length === 0)
			await masterKeys.insert(tx, id, master.checkValue, salt, now);
	});
	return openKeys(driver, provider, false, now);
}

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
	await addSigningKey(tx, dataKey, now);
}

async function addSigningKey(tx: SqlExecutor, dataKey: DataKey, now: string): Promise<void> {
	const { publicKey, privateKey } = generateKeyPairSync('ed25519');
	const kid = randomUUID();
	const sealed = dataKey.sealBlob(
		`signing-key|${kid}`,
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

export async function loadDataKey(
	x: SqlExecutor,
	keyring: Keyring,
	tenant: string,
	id: string,
): Promise<DataKey> {
	const cached = keyring.cached(tenant, id);
	if (cached) return cached;
	const row = await dataKeys.get(x, tenant, id);
	if (!row)
		throw new SecretsError(
			'INTEGRITY_ERROR',
			'A data key the store refers to is missing. Restore the store from a backup.',
		);
	return keyring.unwrap(row);
}

export async function activeDataKey(
	x: SqlExecutor,
	keyring: Keyring,
	tenant: string,
): Promise<DataKey> {
	const row = await dataKeys.active(x, tenant);
	if (!row)
		throw new SecretsError('TENANT_NOT_FOUND', `Tenant "${tenant}" does not exist in this store.`);
	return keyring.unwrap(row);
}

export async function loadSigningKey(
	x: SqlExecutor,
	keyring: Keyring,
	tenant: string,
): Promise<{ kid: string; key: KeyObject }> {
	const row = await signingKeys.latest(x, tenant);
	if (!row)
		throw new SecretsError('TENANT_NOT_FOUND', `Tenant "${tenant}" does not exist in this store.`);
	const dataKey = await loadDataKey(x, keyring, tenant, row.dek_id);
	const der = dataKey.openBlob(
		`signing-key|${row.kid}`,
		toBuffer(row.private_iv)!,
		toBuffer(row.private_key)!,
	);
	return { kid: row.kid, key: createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }) };
}

export async function loadVerifyKey(
	x: SqlExecutor,
	tenant: string,
	kid: string,
): Promise<KeyObject | undefined> {
	const row = await signingKeys.get(x, tenant, kid);
	return row ? createPublicKey(row.public_key) : undefined;
}

/** Moves the tenant's signing keys from one data key to another (re-encryption). */
export async function resealSigningKeys(
	tx: SqlExecutor,
	from: DataKey,
	to: DataKey,
): Promise<void> {
	for (const row of await signingKeys.byDek(tx, from.tenant, from.id)) {
		const der = from.openBlob(
			`signing-key|${row.kid}`,
			toBuffer(row.private_iv)!,
			toBuffer(row.private_key)!,
		);
		const sealed = to.sealBlob(`signing-key|${row.kid}`, der);
		await signingKeys.reseal(tx, from.tenant, row.kid, to.id, sealed.iv, sealed.data);
	}
}
