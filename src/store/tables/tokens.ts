import { checked, checkedAll, sealed, type Unsealed } from '../row-seals';
import type { SqlExecutor } from '../sql';

export interface TokenRow {
	jti: string;
	tenant: string;
	subject: string;
	role: string;
	scopes: string;
	environments: string;
	secrets: string;
	created_at: string;
	created_by: string;
	expires_at: string | null;
	revoked_at: string | null;
	seal: Uint8Array | null;
	seal_key: string | null;
}

/**
 * The tokens the store issued (its own JWTs' ids and what they allow; never the token itself).
 * The table speaks rows: repository.ts turns a TokenInfo into a row to insert and lists the rows
 * as TokenInfo (mappers.ts).
 */
export const tokens = {
	get: async (x: SqlExecutor, tenant: string, jti: string) =>
		checked(
			x,
			'tokens',
			await x.get<TokenRow>('SELECT * FROM tokens WHERE tenant = ? AND jti = ?', [tenant, jti]),
		),
	/** When the token was revoked (null: it was not); undefined when the store does not know it. */
	revokedAt: async (x: SqlExecutor, tenant: string, jti: string) => {
		const r = await tokens.get(x, tenant, jti);
		return r === undefined ? undefined : r.revoked_at;
	},
	insert: async (x: SqlExecutor, unsealed: Unsealed<TokenRow>) => {
		const t = await sealed(x, 'tokens', unsealed);
		return x.run(
			'INSERT INTO tokens (jti, tenant, subject, role, scopes, environments, secrets, created_at, created_by, expires_at, revoked_at, seal, seal_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
			[
				t.jti,
				t.tenant,
				t.subject,
				t.role,
				t.scopes,
				t.environments,
				t.secrets,
				t.created_at,
				t.created_by,
				t.expires_at,
				t.revoked_at,
				t.seal,
				t.seal_key,
			],
		);
	},
	/** Seals and writes the revocation state of a row read and checked in the same transaction. */
	save: async (x: SqlExecutor, row: TokenRow) => {
		const t = await sealed(x, 'tokens', row);
		return x.run(
			'UPDATE tokens SET revoked_at = ?, seal = ?, seal_key = ? WHERE tenant = ? AND jti = ?',
			[t.revoked_at, t.seal, t.seal_key, t.tenant, t.jti],
		);
	},
	revoke: async (x: SqlExecutor, tenant: string, jti: string, now: string) => {
		const row = await tokens.get(x, tenant, jti);
		if (!row || row.revoked_at !== null) return { changes: 0 };
		return tokens.save(x, { ...row, revoked_at: now });
	},
	rows: async (x: SqlExecutor, tenant: string) =>
		checkedAll(
			x,
			'tokens',
			await x.all<TokenRow>('SELECT * FROM tokens WHERE tenant = ? ORDER BY created_at, jti', [
				tenant,
			]),
		),
};
