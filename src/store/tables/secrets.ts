import type { RotationPolicy, SecretType } from '../../core/model';
import { checked, checkedAll, sealed, type Unsealed } from '../row-seals';
import type { SqlExecutor } from '../sql';

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

const SORT_COLUMNS = {
	name: 's.name',
	updatedAt: 's.updated_at',
	createdAt: 's.created_at',
} as const;

/** Where a keyset page starts: after this name (and, sorted by a time, this time). */
export interface PageKey {
	name: string;
	key?: string;
}

export interface PageFilter {
	after?: PageKey;
	prefix?: string;
	search?: string;
	tag?: string;
	type?: string;
	environment?: string;
	/** live (default), all, or only the soft-deleted. */
	deleted?: 'live' | 'all' | 'only';
	/** Only secrets with a current version that expires at or before this time. */
	expiresBefore?: string;
	/** …and after this time (not yet expired). */
	expiresAfter?: string;
	/**
	 * Only secrets due for rotation: a current version written at or before `before` for a secret
	 * whose rotation interval is `days` (one entry per interval the tenant uses).
	 */
	writtenBefore?: { days: number; before: string }[];
	sort?: string;
	limit: number;
}

/** A secret's record (its values are in value_lines and versions), and `secret_tags`, its tag index. */
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
	/**
	 * A keyset page in the listing's order (by name, or by last change or creation with the name as
	 * tie-break); the caller filters by token patterns and value states and asks again if needed.
	 * Every column searched is in the sealed row, which is checked before it is returned.
	 */
	page: (x: SqlExecutor, tenant: string, f: PageFilter) => {
		const where = ['s.tenant = ?'];
		const params: (string | number)[] = [tenant];
		const sort = f.sort ?? 'name';
		const column = SORT_COLUMNS[sort.replace('-', '') as keyof typeof SORT_COLUMNS];
		const desc = sort.startsWith('-');
		if (f.after !== undefined && f.after.name !== '') {
			if (column === 's.name') {
				where.push(`s.name ${desc ? '<' : '>'} ?`);
				params.push(f.after.name);
			} else {
				where.push(`(${column} ${desc ? '<' : '>'} ? OR (${column} = ? AND s.name > ?))`);
				params.push(f.after.key ?? '', f.after.key ?? '', f.after.name);
			}
		}
		if (f.prefix) {
			where.push('substr(s.name, 1, ?) = ?');
			params.push(f.prefix.length, f.prefix);
		}
		if (f.search) {
			const like = `%${f.search.toLowerCase().replace(/[!%_]/g, '!$&')}%`;
			where.push(
				"(lower(s.name) LIKE ? ESCAPE '!' OR lower(s.description) LIKE ? ESCAPE '!' OR lower(s.tags) LIKE ? ESCAPE '!')",
			);
			params.push(like, like, like);
		}
		if (f.type) {
			where.push('s.type = ?');
			params.push(f.type);
		}
		if (f.deleted === 'only') where.push('s.deleted_at IS NOT NULL');
		else if (f.deleted !== 'all') where.push('s.deleted_at IS NULL');
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
		// Narrowed here, decided by the caller from the checked rows: a current version's expiry, or a
		// rotation policy with an interval.
		// A state of the values: the candidates come from the tenant's lines (far fewer than its secrets
		// when few are in that state) and drive the read; the caller decides from the checked rows.
		let from = 'secrets s';
		const current = `value_lines l JOIN versions v ON v.tenant = l.tenant AND v.secret_id = l.secret_id
          AND v.environment = l.environment AND v.version = l.current_version`;
		if (f.expiresBefore) {
			from = `(SELECT DISTINCT l.secret_id AS id FROM ${current}
          WHERE l.tenant = ? AND v.expires_at IS NOT NULL AND v.expires_at <= ? AND v.expires_at > ?) c
          CROSS JOIN secrets s`;
			where.unshift('s.id = c.id');
			params.unshift(tenant, f.expiresBefore, f.expiresAfter ?? '');
		} else if (f.writtenBefore) {
			const due = f.writtenBefore.map(() => '(r.rotation_interval_days = ? AND v.created_at <= ?)');
			from = `(SELECT DISTINCT l.secret_id AS id FROM ${current} JOIN secrets r ON r.id = l.secret_id
          WHERE l.tenant = ? AND r.rotation_policy <> 'ON_DEMAND' AND (${due.join(' OR ') || 'FALSE'})) c
          CROSS JOIN secrets s`;
			where.unshift('s.id = c.id');
			params.unshift(tenant, ...f.writtenBefore.flatMap((w) => [w.days, w.before]));
		}
		params.push(f.limit);
		const order =
			column === 's.name'
				? `s.name ${desc ? 'DESC' : 'ASC'}`
				: `${column} ${desc ? 'DESC' : 'ASC'}, s.name ASC`;
		return (
			x
				.all<SecretRow>(
					`SELECT s.* FROM ${from} WHERE ${where.join(' AND ')} ORDER BY ${order} LIMIT ?`,
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
	/** The rotation intervals the tenant's secrets use (to list those due, one threshold each). */
	rotationIntervals: async (x: SqlExecutor, tenant: string) =>
		(
			await x.all<{ days: number | string }>(
				`SELECT DISTINCT rotation_interval_days AS days FROM secrets
         WHERE tenant = ? AND rotation_interval_days IS NOT NULL AND rotation_policy <> 'ON_DEMAND'`,
				[tenant],
			)
		).map((r) => Number(r.days)),
	/** Where the next page of a listing in `sort` order starts after `row`. */
	keyOf: (row: SecretRow, sort: string | undefined): PageKey => {
		const column = SORT_COLUMNS[(sort ?? 'name').replace('-', '') as keyof typeof SORT_COLUMNS];
		return column === 's.name'
			? { name: row.name }
			: { key: column === 's.updated_at' ? row.updated_at : row.created_at, name: row.name };
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
