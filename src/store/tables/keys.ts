/**
 * The key tables: master keys (check values only, never a key), each tenant's wrapped data keys, and
 * each tenant's token signing keys (private key encrypted under a data key, row sealed with it).
 */
import type { WrappedDataKey } from '../../crypto/keyring';
import { checked, checkedAll, sealed, type Unsealed } from '../row-seals';
import { type SqlExecutor, toBuffer } from '../sql';

export interface MasterKeyRow {
	id: string;
	check_value: Uint8Array;
	kdf_salt: Uint8Array | null;
	state: 'active' | 'retired';
	created_at: string;
	retired_at: string | null;
}

export const masterKeys = {
	all: (x: SqlExecutor) => x.all<MasterKeyRow>('SELECT * FROM master_keys ORDER BY created_at'),
	insert: (x: SqlExecutor, id: string, checkValue: Buffer, salt: Buffer | null, now: string) =>
		x.run(
			"INSERT INTO master_keys (id, check_value, kdf_salt, state, created_at) VALUES (?, ?, ?, 'active', ?)",
			[id, checkValue, salt, now],
		),
	retireAllBut: (x: SqlExecutor, id: string, now: string) =>
		x.run(
			"UPDATE master_keys SET state = 'retired', retired_at = ? WHERE id <> ? AND state = 'active'",
			[now, id],
		),
};

interface DataKeyRow {
	tenant: string;
	id: string;
	master_key_id: string;
	wrapped: Uint8Array;
	state: 'active' | 'retiring';
}

/** The row as the keyring unwraps it (a key, not a domain object: it stays beside its table). */
function toWrapped(r: DataKeyRow): WrappedDataKey {
	return {
		tenant: r.tenant,
		id: r.id,
		masterKeyId: r.master_key_id,
		wrapped: toBuffer(r.wrapped)!,
	};
}

export const dataKeys = {
	get: async (x: SqlExecutor, tenant: string, id: string) => {
		const r = await x.get<DataKeyRow>('SELECT * FROM data_keys WHERE tenant = ? AND id = ?', [
			tenant,
			id,
		]);
		return r && toWrapped(r);
	},
	active: async (x: SqlExecutor, tenant: string) => {
		const r = await x.get<DataKeyRow>(
			"SELECT * FROM data_keys WHERE tenant = ? AND state = 'active'",
			[tenant],
		);
		return r && toWrapped(r);
	},
	all: async (x: SqlExecutor) =>
		(await x.all<DataKeyRow>('SELECT * FROM data_keys ORDER BY tenant, created_at')).map(toWrapped),
	insert: (x: SqlExecutor, k: WrappedDataKey, now: string) =>
		x.run(
			"INSERT INTO data_keys (tenant, id, master_key_id, wrapped, state, created_at) VALUES (?, ?, ?, ?, 'active', ?)",
			[k.tenant, k.id, k.masterKeyId, k.wrapped, now],
		),
	rewrap: (x: SqlExecutor, k: WrappedDataKey) =>
		x.run('UPDATE data_keys SET master_key_id = ?, wrapped = ? WHERE tenant = ? AND id = ?', [
			k.masterKeyId,
			k.wrapped,
			k.tenant,
			k.id,
		]),
	retireActive: (x: SqlExecutor, tenant: string) =>
		x.run("UPDATE data_keys SET state = 'retiring' WHERE tenant = ? AND state = 'active'", [
			tenant,
		]),
	retiring: async (x: SqlExecutor, tenant: string) =>
		(
			await x.all<DataKeyRow>("SELECT * FROM data_keys WHERE tenant = ? AND state = 'retiring'", [
				tenant,
			])
		).map(toWrapped),
	remove: (x: SqlExecutor, tenant: string, id: string) =>
		x.run('DELETE FROM data_keys WHERE tenant = ? AND id = ?', [tenant, id]),
};

export interface SigningKeyRow {
	tenant: string;
	kid: string;
	public_key: string;
	dek_id: string;
	private_iv: Uint8Array;
	private_key: Uint8Array;
	created_at: string;
	/** Sealed with the data key `dek_id` names, which also encrypts the private key. */
	seal: Uint8Array | null;
}

/**
 * Signing keys are sealed like the other sealed tables: a public key swapped in by someone with write
 * access to the database would otherwise let them sign tokens of their own.
 */
export const signingKeys = {
	get: async (x: SqlExecutor, tenant: string, kid: string) =>
		checked(
			x,
			'signing_keys',
			await x.get<SigningKeyRow>('SELECT * FROM signing_keys WHERE tenant = ? AND kid = ?', [
				tenant,
				kid,
			]),
		),
	latest: async (x: SqlExecutor, tenant: string) =>
		checked(
			x,
			'signing_keys',
			await x.get<SigningKeyRow>(
				'SELECT * FROM signing_keys WHERE tenant = ? ORDER BY created_at DESC LIMIT 1',
				[tenant],
			),
		),
	byDek: async (x: SqlExecutor, tenant: string, dekId: string) =>
		checkedAll(
			x,
			'signing_keys',
			await x.all<SigningKeyRow>('SELECT * FROM signing_keys WHERE tenant = ? AND dek_id = ?', [
				tenant,
				dekId,
			]),
		),
	insert: async (x: SqlExecutor, unsealed: Unsealed<SigningKeyRow>) => {
		const r = await sealed(x, 'signing_keys', unsealed);
		return x.run(
			'INSERT INTO signing_keys (tenant, kid, public_key, dek_id, private_iv, private_key, created_at, seal) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
			[r.tenant, r.kid, r.public_key, r.dek_id, r.private_iv, r.private_key, r.created_at, r.seal],
		);
	},
	/** Seals and writes a key moved to another data key (`dek_id`, with its private key re-encrypted). */
	save: async (x: SqlExecutor, unsealed: Unsealed<SigningKeyRow>) => {
		const r = await sealed(x, 'signing_keys', unsealed);
		return x.run(
			'UPDATE signing_keys SET dek_id = ?, private_iv = ?, private_key = ?, seal = ? WHERE tenant = ? AND kid = ?',
			[r.dek_id, r.private_iv, r.private_key, r.seal, r.tenant, r.kid],
		);
	},
	/** Seals the tenant's rows that have no seal (only when a store from before seals is first opened). */
	sealUnsealed: async (x: SqlExecutor, tenant: string) => {
		const rows = await x.all<SigningKeyRow>(
			'SELECT * FROM signing_keys WHERE tenant = ? AND seal IS NULL',
			[tenant],
		);
		for (const r of rows) await signingKeys.save(x, r);
		return rows.length;
	},
};
