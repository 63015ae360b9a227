/**
 * The service's side of the row seals' one choke point: data keys loaded (and cached unwrapped by the
 * keyring) for the row seals, and the executors that carry them. The service sees the store only
 * through KeyedDriver, so every table read checks, and every write seals, its rows (store/row-seals.ts).
 */
import { SecretsError } from '../core/errors';
import type { DataKey, Keyring } from '../crypto/keyring';
import { dataKeys, type SealedExecutor, withRowKeys } from '../store/repository';
import type {
	Durability,
	SqlDriver,
	SqlExecutor,
	SqlParam,
	TransactionOptions,
} from '../store/sql';

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

/** An executor that seals and checks rows with the data keys of `keyring` (see store/row-seals.ts). */
export function keyedExecutor(x: SqlExecutor, keyring: Keyring): SealedExecutor {
	const active = new Map<string, DataKey>();
	return withRowKeys(x, {
		active: async (tenant) => {
			let k = active.get(tenant);
			if (!k) active.set(tenant, (k = await activeDataKey(x, keyring, tenant)));
			return k;
		},
		byId: (tenant, id) => loadDataKey(x, keyring, tenant, id),
	});
}

/**
 * The store as the service sees it: every executor it hands out (the driver itself for reads, each
 * transaction's) carries the row keys, so the tables seal and check rows on every path.
 */
export class KeyedDriver implements SqlDriver {
	readonly dialect: SqlDriver['dialect'];
	readonly location: string;
	readonly journalDir: string | null;
	readonly rowKeys: SealedExecutor['rowKeys'];

	constructor(
		readonly inner: SqlDriver,
		private readonly keyring: () => Keyring,
	) {
		this.dialect = inner.dialect;
		this.location = inner.location;
		this.journalDir = inner.journalDir;
		this.rowKeys = {
			active: (tenant) => activeDataKey(inner, this.keyring(), tenant),
			byId: (tenant, id) => loadDataKey(inner, this.keyring(), tenant, id),
		};
	}

	get auditAppends(): SqlDriver['auditAppends'] {
		return this.inner.auditAppends;
	}

	/** The inner driver's, live: a read-only SQLite store becomes writable again once fixed. */
	get readOnlyReason(): SqlDriver['readOnlyReason'] {
		return this.inner.readOnlyReason;
	}

	get<T>(sql: string, params?: readonly SqlParam[]): Promise<T | undefined> {
		return this.inner.get<T>(sql, params);
	}

	all<T>(sql: string, params?: readonly SqlParam[]): Promise<T[]> {
		return this.inner.all<T>(sql, params);
	}

	run(sql: string, params?: readonly SqlParam[]): Promise<{ changes: number }> {
		return this.inner.run(sql, params);
	}

	transaction<T>(
		fn: (tx: SqlExecutor) => Promise<T>,
		durability?: Durability,
		options?: TransactionOptions,
	): Promise<T> {
		return this.inner.transaction(
			(tx) => fn(keyedExecutor(tx, this.keyring())),
			durability,
			options,
		);
	}

	changeCounter(): Promise<string | null> {
		return this.inner.changeCounter();
	}

	exec(sql: string): Promise<void> {
		return this.inner.exec(sql);
	}

	close(): Promise<void> {
		return this.inner.close();
	}
}
