import { checked, checkedAll, sealed, type Unsealed } from '../row-seals';
import type { SqlExecutor } from '../sql';

export interface VersionRow {
	secret_id: string;
	tenant: string;
	environment: string;
	version: number;
	dek_id: string;
	iv: Uint8Array | null;
	ciphertext: Uint8Array | null;
	mac: Uint8Array | null;
	created_at: string;
	created_by: string;
	reason: string | null;
	not_before: string | null;
	expires_at: string | null;
	destroyed_at: string | null;
	/** Sealed with the data key `dek_id` names, like the value. */
	seal: Uint8Array | null;
}

export const versions = {
	get: async (
		x: SqlExecutor,
		tenant: string,
		secretId: string,
		environment: string,
		version: number,
	) =>
		checked(
			x,
			'versions',
			await x.get<VersionRow>(
				'SELECT * FROM versions WHERE tenant = ? AND secret_id = ? AND environment = ? AND version = ?',
				[tenant, secretId, environment, version],
			),
		),
	ofLine: async (x: SqlExecutor, tenant: string, secretId: string, environment: string) =>
		checkedAll(
			x,
			'versions',
			await x.all<VersionRow>(
				'SELECT * FROM versions WHERE tenant = ? AND secret_id = ? AND environment = ? ORDER BY version',
				[tenant, secretId, environment],
			),
		),
	insert: async (x: SqlExecutor, unsealed: Unsealed<VersionRow>) => {
		const r = await sealed(x, 'versions', unsealed);
		return x.run(
			`INSERT INTO versions (secret_id, tenant, environment, version, dek_id, iv, ciphertext, mac, created_at, created_by, reason, not_before, expires_at, seal)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			[
				r.secret_id,
				r.tenant,
				r.environment,
				r.version,
				r.dek_id,
				r.iv,
				r.ciphertext,
				r.mac,
				r.created_at,
				r.created_by,
				r.reason,
				r.not_before,
				r.expires_at,
				r.seal,
			],
		);
	},
	/** Seals and writes what destruction and re-encryption change: key, ciphertext, destruction. */
	save: async (x: SqlExecutor, unsealed: Unsealed<VersionRow>) => {
		const r = await sealed(x, 'versions', unsealed);
		return x.run(
			'UPDATE versions SET dek_id = ?, iv = ?, ciphertext = ?, mac = ?, destroyed_at = ?, seal = ? WHERE tenant = ? AND secret_id = ? AND environment = ? AND version = ?',
			[
				r.dek_id,
				r.iv,
				r.ciphertext,
				r.mac,
				r.destroyed_at,
				r.seal,
				r.tenant,
				r.secret_id,
				r.environment,
				r.version,
			],
		);
	},
	/** Retention: the ciphertext is erased for good; the row keeps its metadata, sealed anew. */
	destroy: async (
		x: SqlExecutor,
		tenant: string,
		secretId: string,
		environment: string,
		version: number,
		now: string,
	) => {
		const row = await versions.get(x, tenant, secretId, environment, version);
		if (!row || row.destroyed_at !== null) return;
		await versions.save(x, { ...row, iv: null, ciphertext: null, mac: null, destroyed_at: now });
	},
	/** Rows (destroyed ones too) under a data key other than `dekId`, for resumable re-encryption. */
	notUnder: async (x: SqlExecutor, tenant: string, dekId: string, limit: number) =>
		checkedAll(
			x,
			'versions',
			await x.all<VersionRow>('SELECT * FROM versions WHERE tenant = ? AND dek_id <> ? LIMIT ?', [
				tenant,
				dekId,
				limit,
			]),
		),
	countNotUnder: async (x: SqlExecutor, tenant: string, dekId: string) =>
		Number(
			(await x.get<{ n: number }>(
				'SELECT COUNT(*) AS n FROM versions WHERE tenant = ? AND dek_id <> ?',
				[tenant, dekId],
			))!.n,
		),
	/** Seals the tenant's rows that have no seal (only when a store from before seals is first opened). */
	sealUnsealed: async (x: SqlExecutor, tenant: string) => {
		const rows = await x.all<VersionRow>(
			'SELECT * FROM versions WHERE tenant = ? AND seal IS NULL',
			[tenant],
		);
		for (const r of rows) await versions.save(x, r);
		return rows.length;
	},
};
