import { checked, sealed } from '../row-seals';
import type { SqlExecutor } from '../sql';

/**
 * Re-sealing rows of the tables with a `seal_key` column under the tenant's active data key (after a
 * re-encryption made a new one), and the count of rows of every table that still need a given data
 * key: a key some row still needs is never deleted.
 */
const SEAL_KEY_TABLES = {
	secrets: { where: 'id = ?', ids: (r: Record<string, unknown>) => [r.id] },
	value_lines: {
		where: 'secret_id = ? AND environment = ?',
		ids: (r: Record<string, unknown>) => [r.secret_id, r.environment],
	},
	tokens: { where: 'jti = ?', ids: (r: Record<string, unknown>) => [r.jti] },
} as const;

export const seals = {
	/**
	 * Checks up to `limit` rows of `table` sealed under another key than the active `keyId` and
	 * re-seals them under it; returns how many. `unsealedAreNew`: rows without a seal are sealed as
	 * they are (only when a store written before seals existed is first opened).
	 */
	resealBatch: async (
		x: SqlExecutor,
		table: keyof typeof SEAL_KEY_TABLES,
		tenant: string,
		keyId: string,
		limit: number,
		unsealedAreNew = false,
	): Promise<number> => {
		const rows = await x.all<{ tenant: string; seal: Uint8Array | null } & Record<string, unknown>>(
			`SELECT * FROM ${table} WHERE tenant = ? AND (seal_key IS NULL OR seal_key <> ?) LIMIT ?`,
			[tenant, keyId, limit],
		);
		const t = SEAL_KEY_TABLES[table];
		for (const row of rows) {
			if (!(unsealedAreNew && row.seal === null)) await checked(x, table, row);
			const r = await sealed(x, table, row);
			await x.run(`UPDATE ${table} SET seal = ?, seal_key = ? WHERE tenant = ? AND ${t.where}`, [
				r.seal,
				r.seal_key,
				tenant,
				...(t.ids(row) as string[]),
			]);
		}
		return rows.length;
	},
	/** How many rows still need data key `keyId` (its value, its seal, or the chain head's seal). */
	references: async (x: SqlExecutor, tenant: string, keyId: string) => {
		const r = await x.get<{ n: number }>(
			`SELECT (SELECT COUNT(*) FROM versions WHERE tenant = ? AND dek_id = ?)
          + (SELECT COUNT(*) FROM signing_keys WHERE tenant = ? AND dek_id = ?)
          + (SELECT COUNT(*) FROM secrets WHERE tenant = ? AND seal_key = ?)
          + (SELECT COUNT(*) FROM value_lines WHERE tenant = ? AND seal_key = ?)
          + (SELECT COUNT(*) FROM tokens WHERE tenant = ? AND seal_key = ?)
          + (SELECT COUNT(*) FROM audit_heads WHERE tenant = ? AND dek_id = ?)
          + (SELECT COUNT(*) FROM audit_checkpoints WHERE tenant = ? AND dek_id = ?) AS n`,
			[
				...[tenant, keyId, tenant, keyId, tenant, keyId, tenant, keyId],
				...[tenant, keyId, tenant, keyId, tenant, keyId],
			],
		);
		return Number(r!.n);
	},
};
