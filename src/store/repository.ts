/**
 * Every query the service runs, in one place, each taking the executor of the transaction it belongs to.
 * Every query on tenant data filters by tenant: isolation does not depend on the caller remembering.
 */
import type {
	AuditEvent,
	EnvironmentLine,
	RotationPolicy,
	SecretMetadata,
	SecretType,
	TokenInfo,
	VersionInfo,
	VersionLabel,
} from '../core/model';
import { rotationDueAt } from '../core/rotation';
import type { DataKey, WrappedDataKey } from '../crypto/keyring';
import { computeSeal, describeRow, type SealedTable, sealHolds, tamperedError } from './row-seals';
import { type SqlExecutor, toBuffer } from './sql';

// ---- row seals ----------------------------------------------------------------------------------

/**
 * The keys that make and check row seals (row-seals.ts). The service hands the repository only
 * executors that carry them, so every row of a sealed table read here is checked before it is
 * returned, and every row written here is sealed: no caller can forget either.
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

/** The data key a row's seal is made with: `dek_id` for versions and signing keys, else `seal_key`. */
function sealKeyId(table: SealedTable, row: object): string | null {
	const r = row as { dek_id?: string; seal_key?: string | null };
	return (table === 'versions' || table === 'signing_keys' ? r.dek_id : r.seal_key) ?? null;
}

async function checked<T extends { tenant: string }>(
	x: SqlExecutor,
	table: SealedTable,
	row: T | undefined,
): Promise<T | undefined> {
	if (row === undefined) return undefined;
	const id = sealKeyId(table, row);
	if (!id) throw tamperedError(describeRow(table, row));
	// The description is built only for the error: this runs for every row read.
	if (!sealHolds(await rowKeysOf(x).byId(row.tenant, id), table, row))
		throw tamperedError(describeRow(table, row));
	return row;
}

async function checkedAll<T extends { tenant: string }>(
	x: SqlExecutor,
	table: SealedTable,
	rows: T[],
): Promise<T[]> {
	for (const r of rows) await checked(x, table, r);
	return rows;
}

/** The row with its seal: under its own `dek_id` for versions, the tenant's active key otherwise. */
async function sealed<T extends { tenant: string }>(
	x: SqlExecutor,
	table: SealedTable,
	row: T,
): Promise<T & { seal: Buffer; seal_key: string | null }> {
	const keys = rowKeysOf(x);
	if (table === 'versions') {
		const key = await keys.byId(row.tenant, (row as unknown as { dek_id: string }).dek_id);
		return { ...row, seal: computeSeal(key, table, row), seal_key: null };
	}
	const key = await keys.active(row.tenant);
	const withKey = { ...row, seal_key: key.id };
	return { ...withKey, seal: computeSeal(key, table, withKey) };
}

/** A row as the service builds it: the repository adds the seal. */
export type Unsealed<T> = Omit<T, 'seal' | 'seal_key'> & { seal?: unknown; seal_key?: unknown };

// ---- rows ---------------------------------------------------------------------------------------

export interface SecretRow {
	id: string;
	tenant: string;
	name: string;
	type: SecretType;
	description: string;
	tags: string;
	rotation_policy: RotationPolicy;
	rotation_interval_days: number | null;
	allowed_hosts: string;
	allowed_consumers: string;
	max_versions: number;
	previous_window_days: number;
	created_at: string;
	created_by: string;
	updated_at: string;
	updated_by: string;
	deleted_at: string | null;
	deleted_by: string | null;
	/** The row seal (row-seals.ts) and the id of the data key it is made with. */
	seal: Uint8Array | null;
	seal_key: string | null;
}

export interface LineRow {
	secret_id: string;
	tenant: string;
	environment: string;
	current_version: number | null;
	previous_version: number | null;
	pending_version: number | null;
	latest_version: number;
	current_since: string | null;
	previous_since: string | null;
	seal: Uint8Array | null;
	seal_key: string | null;
}

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

interface AuditRow {
	tenant: string;
	seq: number | string;
	id: string;
	time: string;
	actor: string;
	token_id: string | null;
	action: string;
	secret: string | null;
	environment: string | null;
	version: number | null;
	outcome: string;
	reason: string | null;
	workflow_id: string | null;
	workflow_name: string | null;
	execution_id: string | null;
	node: string | null;
	mode: string | null;
	destination_host: string | null;
	prev_hash: string;
	hash: string;
}

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

export interface AuditHeadRow {
	tenant: string;
	seq: number | string;
	hash: string;
	dek_id: string;
	mac: Uint8Array;
}

// ---- mapping ------------------------------------------------------------------------------------

export function labelsOf(line: LineRow, version: number): VersionLabel[] {
	const labels: VersionLabel[] = [];
	if (line.current_version === version) labels.push('current');
	if (line.previous_version === version) labels.push('previous');
	if (line.pending_version === version) labels.push('pending');
	return labels;
}

/**
 * A line as the API shows it. `currentCreatedAt` is when the current version was written (null
 * without a current version); `nextRotationAt` is filled in by `toMetadata`, which knows the policy.
 */
export function toLine(
	line: LineRow,
	currentExpiresAt: string | null,
	currentCreatedAt: string | null,
): EnvironmentLine {
	return {
		environment: line.environment,
		currentVersion: line.current_version,
		previousVersion: line.previous_version,
		pendingVersion: line.pending_version,
		latestVersion: line.latest_version,
		currentSince: line.current_since,
		previousSince: line.previous_since,
		expiresAt: currentExpiresAt,
		// A line whose current version is gone from the join still starts its interval when it became current.
		currentCreatedAt:
			line.current_version === null ? null : (currentCreatedAt ?? line.current_since),
		nextRotationAt: null,
	};
}

/**
 * A secret's metadata. Each line's `nextRotationAt` is when its current value falls due under the
 * secret's policy (AUTOMATIC: rotated; MANUAL: a reminder); the secret's is the earliest of its lines
 * (the ones the caller may see). Null when the policy has no interval, or nothing is current.
 */
export function toMetadata(row: SecretRow, lines: EnvironmentLine[]): SecretMetadata {
	const settings = { policy: row.rotation_policy, intervalDays: row.rotation_interval_days };
	const withDue = lines.map((l) => {
		const dueAt = rotationDueAt(settings, l.currentCreatedAt);
		return { ...l, nextRotationAt: dueAt === null ? null : new Date(dueAt).toISOString() };
	});
	const next = withDue
		.map((l) => l.nextRotationAt)
		.filter((t): t is string => t !== null)
		.sort()[0];
	return {
		id: row.id,
		name: row.name,
		type: row.type,
		description: row.description,
		tags: JSON.parse(row.tags) as string[],
		rotationPolicy: row.rotation_policy,
		rotationIntervalDays: row.rotation_interval_days,
		allowedHosts: JSON.parse(row.allowed_hosts) as string[],
		allowedConsumers: JSON.parse(row.allowed_consumers) as string[],
		maxVersions: row.max_versions,
		previousWindowDays: row.previous_window_days,
		createdAt: row.created_at,
		createdBy: row.created_by,
		updatedAt: row.updated_at,
		updatedBy: row.updated_by,
		deletedAt: row.deleted_at,
		nextRotationAt: next ?? null,
		environments: withDue,
	};
}

export function toVersionInfo(row: VersionRow, line: LineRow): VersionInfo {
	return {
		version: row.version,
		environment: row.environment,
		labels: labelsOf(line, row.version),
		createdAt: row.created_at,
		createdBy: row.created_by,
		reason: row.reason,
		notBefore: row.not_before,
		expiresAt: row.expires_at,
		destroyedAt: row.destroyed_at,
	};
}

function toAuditEvent(r: AuditRow): AuditEvent {
	return {
		seq: Number(r.seq),
		id: r.id,
		time: r.time,
		tenant: r.tenant,
		actor: r.actor,
		tokenId: r.token_id,
		action: r.action as AuditEvent['action'],
		secret: r.secret,
		environment: r.environment,
		version: r.version === null ? null : Number(r.version),
		outcome: r.outcome as AuditEvent['outcome'],
		reason: r.reason,
		workflowId: r.workflow_id,
		workflowName: r.workflow_name,
		executionId: r.execution_id,
		node: r.node,
		mode: r.mode,
		destinationHost: r.destination_host,
		prevHash: r.prev_hash,
		hash: r.hash,
	};
}

export function toTokenInfo(r: TokenRow): TokenInfo {
	return {
		jti: r.jti,
		tenant: r.tenant,
		subject: r.subject,
		role: r.role,
		scopes: JSON.parse(r.scopes) as TokenInfo['scopes'],
		environments: JSON.parse(r.environments) as string[],
		secrets: JSON.parse(r.secrets) as string[],
		createdAt: r.created_at,
		createdBy: r.created_by,
		expiresAt: r.expires_at,
		revokedAt: r.revoked_at,
	};
}

// ---- keys and tenants ---------------------------------------------------------------------------

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

export const tenants = {
	exists: async (x: SqlExecutor, id: string) =>
		(await x.get<{ id: string }>('SELECT id FROM tenants WHERE id = ?', [id])) !== undefined,
	insert: (x: SqlExecutor, id: string, now: string) =>
		x.run('INSERT INTO tenants (id, created_at) VALUES (?, ?)', [id, now]),
	all: (x: SqlExecutor) => x.all<{ id: string }>('SELECT id FROM tenants ORDER BY id'),
};

interface DataKeyRow {
	tenant: string;
	id: string;
	master_key_id: string;
	wrapped: Uint8Array;
	state: 'active' | 'retiring';
}

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
	seal: Uint8Array | null;
}

export const signingKeys = {
	get: (x: SqlExecutor, tenant: string, kid: string) =>
		x.get<SigningKeyRow>('SELECT * FROM signing_keys WHERE tenant = ? AND kid = ?', [tenant, kid]),
	latest: (x: SqlExecutor, tenant: string) =>
		x.get<SigningKeyRow>(
			'SELECT * FROM signing_keys WHERE tenant = ? ORDER BY created_at DESC LIMIT 1',
			[tenant],
		),
	byDek: (x: SqlExecutor, tenant: string, dekId: string) =>
		x.all<SigningKeyRow>('SELECT * FROM signing_keys WHERE tenant = ? AND dek_id = ?', [
			tenant,
			dekId,
		]),
	insert: (
		x: SqlExecutor,
		r: Omit<SigningKeyRow, 'private_iv' | 'private_key' | 'seal'> & {
			private_iv: Buffer;
			private_key: Buffer;
			seal: Buffer;
		},
	) =>
		x.run(
			'INSERT INTO signing_keys (tenant, kid, public_key, dek_id, private_iv, private_key, created_at, seal) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
			[r.tenant, r.kid, r.public_key, r.dek_id, r.private_iv, r.private_key, r.created_at, r.seal],
		),
	reseal: (
		x: SqlExecutor,
		tenant: string,
		kid: string,
		dekId: string,
		iv: Buffer,
		data: Buffer,
		seal: Buffer,
	) =>
		x.run(
			'UPDATE signing_keys SET dek_id = ?, private_iv = ?, private_key = ?, seal = ? WHERE tenant = ? AND kid = ?',
			[dekId, iv, data, seal, tenant, kid],
		),
	all: (x: SqlExecutor, tenant: string) =>
		x.all<SigningKeyRow>('SELECT * FROM signing_keys WHERE tenant = ?', [tenant]),
};

// ---- tokens -------------------------------------------------------------------------------------

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
	insert: async (x: SqlExecutor, info: TokenInfo) => {
		const t = await sealed(x, 'tokens', {
			jti: info.jti,
			tenant: info.tenant,
			subject: info.subject,
			role: info.role,
			scopes: JSON.stringify(info.scopes),
			environments: JSON.stringify(info.environments),
			secrets: JSON.stringify(info.secrets),
			created_at: info.createdAt,
			created_by: info.createdBy,
			expires_at: info.expiresAt,
			revoked_at: info.revokedAt,
		});
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
	list: async (x: SqlExecutor, tenant: string) =>
		(
			await checkedAll(
				x,
				'tokens',
				await x.all<TokenRow>('SELECT * FROM tokens WHERE tenant = ? ORDER BY created_at, jti', [
					tenant,
				]),
			)
		).map(toTokenInfo),
};

// ---- secrets, lines and versions ----------------------------------------------------------------

/** The most ids one `IN (...)` list holds (well under SQLite's and PostgreSQL's parameter limits). */
const ID_LIST_MAX = 1024;

/**
 * `ids` (at least one) padded with its last id to a power of two from 8: PostgreSQL prepares each
 * distinct statement text once per connection, so a few list lengths keep that to a few statements.
 */
function paddedIds(ids: readonly string[]): string[] {
	let n = 8;
	while (n < ids.length) n *= 2;
	const out = ids.slice();
	while (out.length < n) out.push(ids[ids.length - 1]);
	return out;
}

export const secrets = {
	byName: async (x: SqlExecutor, tenant: string, name: string) =>
		checked(
			x,
			'secrets',
			await x.get<SecretRow>('SELECT * FROM secrets WHERE tenant = ? AND name = ?', [tenant, name]),
		),
	insert: async (x: SqlExecutor, unsealed: Unsealed<SecretRow>) => {
		const r = await sealed(x, 'secrets', unsealed);
		await x.run(
			`INSERT INTO secrets (id, tenant, name, type, description, tags, rotation_policy, rotation_interval_days,
        allowed_hosts, allowed_consumers, max_versions, previous_window_days, created_at, created_by, updated_at, updated_by,
        deleted_at, deleted_by, seal, seal_key)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			[
				r.id,
				r.tenant,
				r.name,
				r.type,
				r.description,
				r.tags,
				r.rotation_policy,
				r.rotation_interval_days,
				r.allowed_hosts,
				r.allowed_consumers,
				r.max_versions,
				r.previous_window_days,
				r.created_at,
				r.created_by,
				r.updated_at,
				r.updated_by,
				r.deleted_at,
				r.deleted_by,
				r.seal,
				r.seal_key,
			],
		);
		await secrets.writeTags(x, r);
	},
	/** Seals and writes every column a change can touch; `update` also rewrites the tags. */
	save: async (x: SqlExecutor, unsealed: Unsealed<SecretRow>) => {
		const r = await sealed(x, 'secrets', unsealed);
		return x.run(
			`UPDATE secrets SET description = ?, tags = ?, rotation_policy = ?, rotation_interval_days = ?, allowed_hosts = ?,
        allowed_consumers = ?, max_versions = ?, previous_window_days = ?, updated_at = ?, updated_by = ?,
        deleted_at = ?, deleted_by = ?, seal = ?, seal_key = ?
       WHERE tenant = ? AND id = ?`,
			[
				r.description,
				r.tags,
				r.rotation_policy,
				r.rotation_interval_days,
				r.allowed_hosts,
				r.allowed_consumers,
				r.max_versions,
				r.previous_window_days,
				r.updated_at,
				r.updated_by,
				r.deleted_at,
				r.deleted_by,
				r.seal,
				r.seal_key,
				r.tenant,
				r.id,
			],
		);
	},
	update: async (x: SqlExecutor, r: Unsealed<SecretRow>) => {
		await secrets.save(x, r);
		await x.run('DELETE FROM secret_tags WHERE secret_id = ?', [r.id]);
		await secrets.writeTags(x, r);
	},
	/** Records who changed the secret last (a value, a label): read, checked, re-sealed. */
	touch: async (x: SqlExecutor, tenant: string, id: string, now: string, by: string) => {
		const row = await secrets.byId(x, tenant, id);
		if (row) await secrets.save(x, { ...row, updated_at: now, updated_by: by });
	},
	setDeleted: async (
		x: SqlExecutor,
		tenant: string,
		id: string,
		at: string | null,
		by: string | null,
	) => {
		const row = await secrets.byId(x, tenant, id);
		if (row) await secrets.save(x, { ...row, deleted_at: at, deleted_by: by });
	},
	byId: async (x: SqlExecutor, tenant: string, id: string) =>
		checked(
			x,
			'secrets',
			await x.get<SecretRow>('SELECT * FROM secrets WHERE tenant = ? AND id = ?', [tenant, id]),
		),
	writeTags: async (x: SqlExecutor, r: Unsealed<SecretRow>) => {
		for (const tag of JSON.parse(r.tags) as string[]) {
			await x.run('INSERT INTO secret_tags (secret_id, tenant, tag) VALUES (?, ?, ?)', [
				r.id,
				r.tenant,
				tag,
			]);
		}
	},
	remove: async (x: SqlExecutor, tenant: string, id: string) => {
		// Children first: PostgreSQL and SQLite agree on this order whatever their cascade settings.
		await x.run('DELETE FROM versions WHERE tenant = ? AND secret_id = ?', [tenant, id]);
		await x.run('DELETE FROM value_lines WHERE tenant = ? AND secret_id = ?', [tenant, id]);
		await x.run('DELETE FROM secret_tags WHERE tenant = ? AND secret_id = ?', [tenant, id]);
		await x.run('DELETE FROM secrets WHERE tenant = ? AND id = ?', [tenant, id]);
	},
	/** Keyset page ordered by name; the caller filters by token patterns and asks again if needed. */
	page: (
		x: SqlExecutor,
		tenant: string,
		f: {
			after: string;
			prefix?: string;
			tag?: string;
			type?: string;
			environment?: string;
			includeDeleted?: boolean;
			limit: number;
		},
	) => {
		const where = ['s.tenant = ?', 's.name > ?'];
		const params: (string | number)[] = [tenant, f.after];
		if (f.prefix) {
			where.push('substr(s.name, 1, ?) = ?');
			params.push(f.prefix.length, f.prefix);
		}
		if (f.type) {
			where.push('s.type = ?');
			params.push(f.type);
		}
		if (!f.includeDeleted) where.push('s.deleted_at IS NULL');
		if (f.tag) {
			where.push('EXISTS (SELECT 1 FROM secret_tags t WHERE t.secret_id = s.id AND t.tag = ?)');
			params.push(f.tag);
		}
		if (f.environment) {
			where.push(
				'EXISTS (SELECT 1 FROM value_lines l WHERE l.secret_id = s.id AND l.environment = ?)',
			);
			params.push(f.environment);
		}
		params.push(f.limit);
		return (
			x
				.all<SecretRow>(
					`SELECT s.* FROM secrets s WHERE ${where.join(' AND ')} ORDER BY s.name LIMIT ?`,
					params,
				)
				.then((rows) => checkedAll(x, 'secrets', rows))
				// secret_tags is an index of the sealed `tags`: a tag added to it behind the store's back
				// does not put a secret into a filtered list.
				.then((rows) =>
					f.tag ? rows.filter((r) => (JSON.parse(r.tags) as string[]).includes(f.tag!)) : rows,
				)
		);
	},
	allLive: async (x: SqlExecutor, tenant: string) =>
		checkedAll(
			x,
			'secrets',
			await x.all<SecretRow>(
				'SELECT * FROM secrets WHERE tenant = ? AND deleted_at IS NULL ORDER BY name',
				[tenant],
			),
		),
	deletedBefore: async (x: SqlExecutor, tenant: string, before: string) =>
		checkedAll(
			x,
			'secrets',
			await x.all<SecretRow>(
				'SELECT * FROM secrets WHERE tenant = ? AND deleted_at IS NOT NULL AND deleted_at < ? ORDER BY name',
				[tenant, before],
			),
		),
};

export const lines = {
	get: async (x: SqlExecutor, tenant: string, secretId: string, environment: string) =>
		checked(
			x,
			'value_lines',
			await x.get<LineRow>(
				'SELECT * FROM value_lines WHERE tenant = ? AND secret_id = ? AND environment = ?',
				[tenant, secretId, environment],
			),
		),
	ofSecret: async (x: SqlExecutor, tenant: string, secretId: string) =>
		checkedAll(
			x,
			'value_lines',
			await x.all<LineRow>(
				'SELECT * FROM value_lines WHERE tenant = ? AND secret_id = ? ORDER BY environment',
				[tenant, secretId],
			),
		),
	/**
	 * Every line of the given secrets, each with its current version's expiry, in one statement per
	 * 1,024 secrets (a page of a listing is one): a statement per secret and per line made a page of 50
	 * cost a hundred round trips on PostgreSQL. Ordered by environment, as `ofSecret`.
	 */
	ofSecrets: async (x: SqlExecutor, tenant: string, secretIds: readonly string[]) => {
		const out: {
			line: LineRow;
			currentExpiresAt: string | null;
			currentCreatedAt: string | null;
		}[] = [];
		for (let from = 0; from < secretIds.length; from += ID_LIST_MAX) {
			const ids = paddedIds(secretIds.slice(from, from + ID_LIST_MAX));
			const rows = await x.all<
				LineRow & { current_expires_at: string | null; current_created_at: string | null }
			>(
				`SELECT l.*, v.expires_at AS current_expires_at, v.created_at AS current_created_at FROM value_lines l
       LEFT JOIN versions v ON v.tenant = l.tenant AND v.secret_id = l.secret_id AND v.environment = l.environment
         AND v.version = l.current_version
       WHERE l.tenant = ? AND l.secret_id IN (${ids.map(() => '?').join(', ')}) ORDER BY l.environment`,
				[tenant, ...ids],
			);
			for (const { current_expires_at, current_created_at, ...line } of rows) {
				await checked(x, 'value_lines', line);
				out.push({
					line,
					currentExpiresAt: current_expires_at,
					currentCreatedAt: current_created_at,
				});
			}
		}
		return out;
	},
	/**
	 * Every line of the tenant with its current version's expiry and creation time. The line is
	 * checked; the two version columns are not (their row's seal would need the whole row): what
	 * they decide (an expiry alert, a rotation's due date) is re-checked on the sealed version
	 * before any value is served.
	 */
	allOfTenant: async (x: SqlExecutor, tenant: string) =>
		checkedAll(
			x,
			'value_lines',
			await x.all<LineRow & { expires_at: string | null; current_created_at: string | null }>(
				`SELECT l.*, v.expires_at, v.created_at AS current_created_at FROM value_lines l
       LEFT JOIN versions v ON v.secret_id = l.secret_id AND v.environment = l.environment AND v.version = l.current_version
       WHERE l.tenant = ?`,
				[tenant],
			),
		),
	upsert: async (x: SqlExecutor, unsealed: Unsealed<LineRow>) => {
		const l = await sealed(x, 'value_lines', unsealed);
		return x.run(
			`INSERT INTO value_lines (secret_id, tenant, environment, current_version, previous_version, pending_version, latest_version, current_since, previous_since, seal, seal_key)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (secret_id, environment) DO UPDATE SET current_version = excluded.current_version,
         previous_version = excluded.previous_version, pending_version = excluded.pending_version,
         latest_version = excluded.latest_version, current_since = excluded.current_since, previous_since = excluded.previous_since,
         seal = excluded.seal, seal_key = excluded.seal_key`,
			[
				l.secret_id,
				l.tenant,
				l.environment,
				l.current_version,
				l.previous_version,
				l.pending_version,
				l.latest_version,
				l.current_since,
				l.previous_since,
				l.seal,
				l.seal_key,
			],
		);
	},
};

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
};

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

// ---- audit --------------------------------------------------------------------------------------

export const audit = {
	head: (x: SqlExecutor, tenant: string, lock: boolean) =>
		x.get<AuditHeadRow>(`SELECT * FROM audit_heads WHERE tenant = ?${lock ? ' FOR UPDATE' : ''}`, [
			tenant,
		]),
	writeHead: (
		x: SqlExecutor,
		h: { tenant: string; seq: number; hash: string; dekId: string; mac: Buffer },
	) =>
		x.run(
			`INSERT INTO audit_heads (tenant, seq, hash, dek_id, mac) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (tenant) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, dek_id = excluded.dek_id, mac = excluded.mac`,
			[h.tenant, h.seq, h.hash, h.dekId, h.mac],
		),
	insert: (x: SqlExecutor, e: AuditEvent) =>
		x.run(
			`INSERT INTO audit_events (tenant, seq, id, time, actor, token_id, action, secret, environment, version, outcome, reason,
        workflow_id, workflow_name, execution_id, node, mode, destination_host, prev_hash, hash)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			[
				e.tenant,
				e.seq,
				e.id,
				e.time,
				e.actor,
				e.tokenId,
				e.action,
				e.secret,
				e.environment,
				e.version,
				e.outcome,
				e.reason,
				e.workflowId,
				e.workflowName,
				e.executionId,
				e.node,
				e.mode,
				e.destinationHost,
				e.prevHash,
				e.hash,
			],
		),
	/** The newest stored event (none, or one), to chain on from when the head cannot be trusted. */
	last: async (x: SqlExecutor, tenant: string) =>
		(
			await x.all<AuditRow>(
				'SELECT * FROM audit_events WHERE tenant = ? ORDER BY seq DESC LIMIT 1',
				[tenant],
			)
		).map(toAuditEvent),
	/** Events in sequence order, for verification, in bounded batches. */
	range: async (x: SqlExecutor, tenant: string, afterSeq: number, limit: number) =>
		(
			await x.all<AuditRow>(
				'SELECT * FROM audit_events WHERE tenant = ? AND seq > ? ORDER BY seq LIMIT ?',
				[tenant, afterSeq, limit],
			)
		).map(toAuditEvent),
	query: async (
		x: SqlExecutor,
		tenant: string,
		f: {
			secret?: string;
			action?: string;
			actor?: string;
			tokenId?: string;
			outcome?: string;
			workflowId?: string;
			executionId?: string;
			since?: string;
			until?: string;
			afterSeq?: number;
			beforeSeq?: number;
			limit: number;
		},
	) => {
		const where = ['tenant = ?'];
		const params: (string | number)[] = [tenant];
		const eq: [string, string | undefined][] = [
			['secret', f.secret],
			['action', f.action],
			['actor', f.actor],
			['token_id', f.tokenId],
			['outcome', f.outcome],
			['workflow_id', f.workflowId],
			['execution_id', f.executionId],
		];
		for (const [col, v] of eq) {
			if (v !== undefined) {
				where.push(`${col} = ?`);
				params.push(v);
			}
		}
		if (f.since) {
			where.push('time >= ?');
			params.push(f.since);
		}
		if (f.until) {
			where.push('time < ?');
			params.push(f.until);
		}
		if (f.afterSeq !== undefined) {
			where.push('seq > ?');
			params.push(f.afterSeq);
		}
		if (f.beforeSeq !== undefined) {
			where.push('seq < ?');
			params.push(f.beforeSeq);
		}
		// Polling (afterSeq) reads forward; browsing reads newest first.
		const order = f.afterSeq !== undefined ? 'ASC' : 'DESC';
		params.push(f.limit);
		const rows = await x.all<AuditRow>(
			`SELECT * FROM audit_events WHERE ${where.join(' AND ')} ORDER BY seq ${order} LIMIT ?`,
			params,
		);
		return rows.map(toAuditEvent);
	},
};

export const journals = {
	offset: async (x: SqlExecutor, file: string) =>
		Number(
			(
				await x.get<{ ingested_to: number }>(
					'SELECT ingested_to FROM audit_journals WHERE file = ?',
					[file],
				)
			)?.ingested_to ?? 0,
		),
	setOffset: (x: SqlExecutor, file: string, offset: number) =>
		x.run(
			'INSERT INTO audit_journals (file, ingested_to) VALUES (?, ?) ON CONFLICT (file) DO UPDATE SET ingested_to = excluded.ingested_to',
			[file, offset],
		),
	forget: (x: SqlExecutor, file: string) =>
		x.run('DELETE FROM audit_journals WHERE file = ?', [file]),
	/** Every file the database knows, with how far it was read and whether it is done with. */
	all: (x: SqlExecutor) =>
		x.all<{ file: string; ingested_to: number | string; state: 'open' | 'final' | 'legacy' }>(
			'SELECT file, ingested_to, state FROM audit_journals ORDER BY file',
		),
	/** A new file is known before its first record is acknowledged (see AuditJournal.ensureFile). */
	register: (x: SqlExecutor, file: string) =>
		x.run(
			"INSERT INTO audit_journals (file, ingested_to, state) VALUES (?, 0, 'open') ON CONFLICT (file) DO NOTHING",
			[file],
		),
	/** Every record of the file is chained: it may be deleted once this commits, and never read again. */
	finalize: (x: SqlExecutor, file: string, offset: number) =>
		x.run(
			"INSERT INTO audit_journals (file, ingested_to, state) VALUES (?, ?, 'final') ON CONFLICT (file) DO UPDATE SET ingested_to = excluded.ingested_to, state = 'final'",
			[file, offset],
		),
};

export interface AuditCheckpointRow {
	tenant: string;
	seq: number | string;
	hash: string;
	prev_seq: number | string;
	archived_at: string;
	archive_file: string;
	archive_sha256: string;
	dek_id: string;
	mac: Uint8Array;
}

/** Where the stored chain starts once its beginning has been archived (see audit-archive.ts). */
export const auditCheckpoints = {
	latest: (x: SqlExecutor, tenant: string) =>
		x.get<AuditCheckpointRow>(
			'SELECT * FROM audit_checkpoints WHERE tenant = ? ORDER BY seq DESC LIMIT 1',
			[tenant],
		),
	get: (x: SqlExecutor, tenant: string, seq: number) =>
		x.get<AuditCheckpointRow>('SELECT * FROM audit_checkpoints WHERE tenant = ? AND seq = ?', [
			tenant,
			seq,
		]),
	all: (x: SqlExecutor, tenant: string) =>
		x.all<AuditCheckpointRow>('SELECT * FROM audit_checkpoints WHERE tenant = ? ORDER BY seq', [
			tenant,
		]),
	insert: (x: SqlExecutor, r: Omit<AuditCheckpointRow, 'mac'> & { mac: Buffer }) =>
		x.run(
			`INSERT INTO audit_checkpoints (tenant, seq, hash, prev_seq, archived_at, archive_file, archive_sha256, dek_id, mac)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			[
				r.tenant,
				Number(r.seq),
				r.hash,
				Number(r.prev_seq),
				r.archived_at,
				r.archive_file,
				r.archive_sha256,
				r.dek_id,
				r.mac,
			],
		),
	reseal: (x: SqlExecutor, tenant: string, seq: number, dekId: string, mac: Buffer) =>
		x.run('UPDATE audit_checkpoints SET dek_id = ?, mac = ? WHERE tenant = ? AND seq = ?', [
			dekId,
			mac,
			tenant,
			seq,
		]),
	/** The first event at or after `fromSeq` whose time is `time` or later: where an archive stops. */
	firstAtOrAfter: async (x: SqlExecutor, tenant: string, fromSeq: number, time: string) => {
		const row = await x.get<{ seq: number | string | null }>(
			'SELECT MIN(seq) AS seq FROM audit_events WHERE tenant = ? AND seq >= ? AND time >= ?',
			[tenant, fromSeq, time],
		);
		return row?.seq === null || row?.seq === undefined ? null : Number(row.seq);
	},
	/** Archived events still in the table (a prune cut short), at most `limit` of them at a time. */
	pruneBatch: (x: SqlExecutor, tenant: string, throughSeq: number, limit: number) =>
		x.run(
			'DELETE FROM audit_events WHERE tenant = ? AND seq IN (SELECT seq FROM audit_events WHERE tenant = ? AND seq <= ? ORDER BY seq LIMIT ?)',
			[tenant, tenant, throughSeq, limit],
		),
};

// ---- key rotation lease -------------------------------------------------------------------------

export interface RotationLeaseRow {
	tenant: string;
	run_id: string;
	holder: string;
	actor: string;
	started_at: string;
	heartbeat_at: string;
}

/** One re-encryption per tenant at a time, across processes (see reencryptTenant). */
export const rotationLeases = {
	get: (x: SqlExecutor, tenant: string) =>
		x.get<RotationLeaseRow>('SELECT * FROM key_rotations WHERE tenant = ?', [tenant]),
	take: (x: SqlExecutor, r: RotationLeaseRow) =>
		x.run(
			`INSERT INTO key_rotations (tenant, run_id, holder, actor, started_at, heartbeat_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (tenant) DO UPDATE SET run_id = excluded.run_id, holder = excluded.holder, actor = excluded.actor,
         started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at`,
			[r.tenant, r.run_id, r.holder, r.actor, r.started_at, r.heartbeat_at],
		),
	heartbeat: (x: SqlExecutor, tenant: string, runId: string, now: string) =>
		x.run('UPDATE key_rotations SET heartbeat_at = ? WHERE tenant = ? AND run_id = ?', [
			now,
			tenant,
			runId,
		]),
	release: (x: SqlExecutor, tenant: string, runId: string) =>
		x.run('DELETE FROM key_rotations WHERE tenant = ? AND run_id = ?', [tenant, runId]),
};
