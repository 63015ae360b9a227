import { checked, checkedAll, sealed, type Unsealed } from '../row-seals';
import type { SqlExecutor } from '../sql';

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

/** A secret's value line per environment: which version is current, previous and pending. */
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
