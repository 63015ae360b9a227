/**
 * Row seals: what decides which value is served and who may get it is not only in the ciphertext's
 * AAD (tenant, secret id, environment, version) but in plain columns: a secret's name and binding,
 * an environment line's labels, a version's validity dates, a token's revocation. Someone with write
 * access to the database could swap two names or clear `revoked_at` without touching a ciphertext.
 *
 * So every such row carries a seal: an HMAC, under a key derived from one of the tenant's data keys,
 * over every column of the row (and the table's name, so a row cannot pass as another table's). A
 * row is checked whenever it is read, before anything it says is used; an edited, swapped or
 * re-assigned row is INTEGRITY_ERROR. Without the master key a seal cannot be recomputed.
 *
 * What a seal cannot catch: a whole row deleted (read as "not found", which refuses rather than
 * serves), and an older copy of a row put back with its own valid seal (a rollback by someone who
 * kept a copy of the database). docs/ARCHITECTURE.md lists both.
 */
import { SecretsError } from '../core/errors';
import { hmac, macEquals } from '../crypto/aead';
import type { DataKey } from '../crypto/keyring';
import { type SqlExecutor, toBuffer } from './sql';

/** The columns each sealed table's seal covers, in a fixed order. */
export const SEALED_COLUMNS = {
	secrets: [
		'id',
		'tenant',
		'name',
		'type',
		'description',
		'tags',
		'rotation_policy',
		'rotation_interval_days',
		'allowed_hosts',
		'allowed_consumers',
		'max_versions',
		'previous_window_days',
		'created_at',
		'created_by',
		'updated_at',
		'updated_by',
		'deleted_at',
		'deleted_by',
	],
	value_lines: [
		'secret_id',
		'tenant',
		'environment',
		'current_version',
		'previous_version',
		'pending_version',
		'latest_version',
		'current_since',
		'previous_since',
	],
	versions: [
		'secret_id',
		'tenant',
		'environment',
		'version',
		'dek_id',
		'created_at',
		'created_by',
		'reason',
		'not_before',
		'expires_at',
		'destroyed_at',
	],
	tokens: [
		'jti',
		'tenant',
		'subject',
		'role',
		'scopes',
		'environments',
		'secrets',
		'created_at',
		'created_by',
		'expires_at',
		'revoked_at',
	],
	signing_keys: ['tenant', 'kid', 'public_key', 'dek_id', 'created_at'],
} as const;

export type SealedTable = keyof typeof SEALED_COLUMNS;

/** Tables whose seal key is named by a `seal_key` column; the others use the row's own `dek_id`. */
export const SEAL_KEY_COLUMN: Record<SealedTable, 'seal_key' | 'dek_id'> = {
	secrets: 'seal_key',
	value_lines: 'seal_key',
	tokens: 'seal_key',
	versions: 'dek_id',
	signing_keys: 'dek_id',
};

type Row = Record<string, unknown>;

function canonical(value: unknown): unknown {
	// pg hands BIGINT and INTEGER back as numbers (see the driver), node:sqlite as numbers too;
	// a bigint from elsewhere is written the same way.
	return typeof value === 'bigint' ? Number(value) : (value ?? null);
}

function computeSeal(key: DataKey, table: SealedTable, row: object): Buffer {
	const r = row as Row;
	const fields = SEALED_COLUMNS[table].map((c) => canonical(r[c]));
	return hmac(key.rowKey, Buffer.from(JSON.stringify([`n8n-secrets/row/v1/${table}`, ...fields])));
}

/** The id of the data key a row's seal is made with (null: the row was never sealed). */
function sealKeyOf(table: SealedTable, row: object): string | null {
	return ((row as Row)[SEAL_KEY_COLUMN[table]] as string | null | undefined) ?? null;
}

export function tamperedError(what: string): SecretsError {
	return new SecretsError(
		'INTEGRITY_ERROR',
		`The stored ${what} failed its integrity check: the database was changed outside n8n-secrets, ` +
			'and nothing was served or changed. Run `n8n-secrets audit verify`, find out who had write access ' +
			'to the database, and restore the store from a backup.',
	);
}

/** Whether `row` carries the seal `key` gives it. */
function sealHolds(key: DataKey, table: SealedTable, row: object): boolean {
	const stored = toBuffer((row as Row).seal as Uint8Array | null | undefined);
	return stored !== null && macEquals(computeSeal(key, table, row), stored);
}

/** What a row is, for messages: names and ids only, never a value. */
function describeRow(table: SealedTable, row: object): string {
	const r = row as Row;
	switch (table) {
		case 'secrets':
			return `record of secret "${String(r.name)}"`;
		case 'value_lines':
			return `labels of a secret's ${String(r.environment)} value line`;
		case 'versions':
			return `record of version ${String(r.version)} of a secret's ${String(r.environment)} value`;
		case 'tokens':
			return `record of access token ${String(r.jti)}`;
		case 'signing_keys':
			return `token signing key ${String(r.kid)} of tenant "${String(r.tenant)}"`;
	}
}

// ---- the choke point ----------------------------------------------------------------------------

/**
 * The keys that make and check row seals. The service hands the tables only executors that carry
 * them (KeyedDriver, keyedExecutor in service/keyed-driver.ts), and every table module reads and
 * writes the rows of a sealed table through `checked` and `sealed` below: every row read is checked
 * before it is returned, every row written is sealed, and no caller can forget either.
 */
export interface RowKeys {
	/** The tenant's active data key: new seals on `seal_key` tables are made with it. */
	active(tenant: string): Promise<DataKey>;
	byId(tenant: string, id: string): Promise<DataKey>;
}

export type SealedExecutor = SqlExecutor & { readonly rowKeys?: RowKeys };

/** An executor that seals and checks rows with `keys`. */
export function withRowKeys(x: SqlExecutor, keys: RowKeys): SealedExecutor {
	return {
		get: (sql, params) => x.get(sql, params),
		all: (sql, params) => x.all(sql, params),
		run: (sql, params) => x.run(sql, params),
		rowKeys: keys,
	};
}

function rowKeysOf(x: SqlExecutor): RowKeys {
	const keys = (x as SealedExecutor).rowKeys;
	// A programming error, never a user's: a sealed table read or written without its keys.
	if (!keys) throw new Error('internal: a sealed table was reached without row keys');
	return keys;
}

/** `row` (undefined: none was found) once its seal holds; INTEGRITY_ERROR otherwise. */
export async function checked<T extends { tenant: string }>(
	x: SqlExecutor,
	table: SealedTable,
	row: T | undefined,
): Promise<T | undefined> {
	if (row === undefined) return undefined;
	const id = sealKeyOf(table, row);
	if (!id) throw tamperedError(describeRow(table, row));
	// The description is built only for the error: this runs for every row read.
	if (!sealHolds(await rowKeysOf(x).byId(row.tenant, id), table, row))
		throw tamperedError(describeRow(table, row));
	return row;
}

export async function checkedAll<T extends { tenant: string }>(
	x: SqlExecutor,
	table: SealedTable,
	rows: T[],
): Promise<T[]> {
	for (const r of rows) await checked(x, table, r);
	return rows;
}

/**
 * The row with its seal: under the row's own `dek_id` for versions and signing keys (`seal_key`
 * stays null), under the tenant's active key (named in `seal_key`) otherwise.
 */
export async function sealed<T extends { tenant: string }>(
	x: SqlExecutor,
	table: SealedTable,
	row: T,
): Promise<T & { seal: Buffer; seal_key: string | null }> {
	const keys = rowKeysOf(x);
	if (SEAL_KEY_COLUMN[table] === 'dek_id') {
		const id = sealKeyOf(table, row);
		if (!id) throw new Error(`internal: a ${table} row was sealed without its dek_id`);
		return {
			...row,
			seal: computeSeal(await keys.byId(row.tenant, id), table, row),
			seal_key: null,
		};
	}
	const key = await keys.active(row.tenant);
	const withKey = { ...row, seal_key: key.id };
	return { ...withKey, seal: computeSeal(key, table, withKey) };
}

/** A row as the service builds it: the table module adds the seal. */
export type Unsealed<T> = Omit<T, 'seal' | 'seal_key'> & { seal?: unknown; seal_key?: unknown };
