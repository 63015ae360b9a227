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
import {
	dataKeys,
	masterKeys,
	type MasterKeyRow,
	type SealedExecutor,
	seals,
	signingKeys,
	tenants,
	type VersionRow,
	versions,
	withRowKeys,
} from '../store/repository';
import { checkSeal, computeSeal, describeRow } from '../store/row-seals';
import {
	type Durability,
	type SqlDriver,
	type SqlExecutor,
	type SqlParam,
	toBuffer,
	type TransactionOptions,
} from '../store/sql';

export interface OpenedKeys {
	master: MasterKey;
	masterKeyId: string;
	keyring: Keyring;
}

/** The kind of master key a row was made with: a passphrase has a scrypt salt, a raw key none. */
function rowKind(row: MasterKeyRow): 'passphrase' | 'raw' {
	return row.kdf_salt ? 'passphrase' : 'raw';
}

function providerKind(provider: KeyProvider): 'passphrase' | 'raw' {
	return provider.needsSalt ? 'passphrase' : 'raw';
}

const KIND_NAMES = {
	passphrase: 'a passphrase (N8N_SECRETS_PASSPHRASE)',
	raw: 'a raw 32-byte key (N8N_SECRETS_MASTER_KEY or N8N_SECRETS_MASTER_KEY_FILE)',
} as const;

/**
 * The row the provider's key opens. Rows of the other kind are skipped: a passphrase cannot be
 * stretched without a salt, and a raw key's check value cannot match a passphrase's.
 */
async function matchingRow(
	provider: KeyProvider,
	rows: MasterKeyRow[],
): Promise<{ key: MasterKey; row: MasterKeyRow } | undefined> {
	for (const row of rows.filter((r) => rowKind(r) === providerKind(provider))) {
		const key = await provider.open(toBuffer(row.kdf_salt));
		if (macEquals(key.checkValue, toBuffer(row.check_value)!)) return { key, row };
		if (!provider.needsSalt) return undefined; // a raw key has one check value, whatever the row
	}
	return undefined;
}

/** Why the provider's key does not open the store, in words that say what key it expects. */
async function wrongKey(
	driver: SqlDriver,
	provider: KeyProvider,
	rows: MasterKeyRow[],
): Promise<SecretsError> {
	const retired = await matchingRow(
		provider,
		rows.filter((r) => r.state === 'retired'),
	);
	if (retired) {
		return new SecretsError(
			'WRONG_MASTER_KEY',
			`The master key from ${provider.source} is a retired key of this store: a key rotation replaced it on ` +
				`${retired.row.retired_at}. Start with the new master key. To resume an interrupted ` +
				'`n8n-secrets key rotate --reencrypt`, run it again with the NEW key as the current key ' +
				'(N8N_SECRETS_MASTER_KEY, _FILE or N8N_SECRETS_PASSPHRASE) and no N8N_SECRETS_NEW_* variable: ' +
				'the master key was already switched, only the re-encryption remains. Nothing was changed.',
			{ details: { reason: 'retired key', retiredAt: retired.row.retired_at } },
		);
	}
	const active = rows.find((r) => r.state === 'active') ?? rows[0];
	const expected = rowKind(active);
	if (expected !== providerKind(provider)) {
		return new SecretsError(
			'WRONG_MASTER_KEY',
			`The secrets store at ${driver.location} was created with ${KIND_NAMES[expected]}, but the master key ` +
				`given is ${KIND_NAMES[providerKind(provider)]} (from ${provider.source}). Give the store's ` +
				`${expected === 'passphrase' ? 'passphrase' : 'key'} instead; nothing was changed.`,
			{ details: { reason: 'wrong kind of key', expected } },
		);
	}
	return new SecretsError(
		'WRONG_MASTER_KEY',
		`The master key from ${provider.source} does not match the secrets store at ${driver.location}, ` +
			`which expects ${KIND_NAMES[expected]}. Check that it is the key this store was created with ` +
			'(or was last rotated to); nothing was changed.',
		{ details: { reason: 'different key', expected } },
	);
}

/** Migrates an older schema; on a store that cannot be written, says that the upgrade needs writing. */
async function upgrade(driver: SqlDriver, found: number): Promise<void> {
	const reason = driver.readOnlyReason;
	if (reason) {
		throw new SecretsError(
			reason.code,
			`${reason.message} This release must first upgrade the store's schema (version ${found} to ` +
				`${SCHEMA_VERSION}), which needs writing: fix that, or use the release that wrote the store.`,
			{ cause: reason, details: reason.details },
		);
	}
	await migrate(driver);
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
			let match: Awaited<ReturnType<typeof matchingRow>>;
			try {
				match = await matchingRow(provider, active);
			} catch (err) {
				// A key that is not a key at all (malformed base64, wrong length): say what the store expects.
				if (err instanceof SecretsError && err.code === 'MASTER_KEY_MISSING' && active[0]) {
					throw new SecretsError(
						'MASTER_KEY_MISSING',
						`${err.message} The secrets store at ${driver.location} expects ${KIND_NAMES[rowKind(active[0])]}.`,
						{ cause: err },
					);
				}
				throw err;
			}
			if (!match) throw await wrongKey(driver, provider, rows);
			// A store at the current schema needs no write to open: a read-only or full store still reads.
			if (found < SCHEMA_VERSION) await upgrade(driver, found);
			const keyring = new Keyring(match.key, match.row.id);
			// Once per store (a read of `meta` after that): rows written before seals are sealed now.
			await sealUnsealedRows(driver, keyring);
			return { master: match.key, masterKeyId: match.row.id, keyring };
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
	const row = {
		tenant: dataKey.tenant,
		kid,
		public_key: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
		dek_id: dataKey.id,
		private_iv: sealed.iv,
		private_key: sealed.data,
		created_at: now,
	};
	await signingKeys.insert(tx, { ...row, seal: computeSeal(dataKey, 'signing_keys', row) });
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
	checkSeal(dataKey, 'signing_keys', row, describeRow('signing_keys', row));
	const der = dataKey.openBlob(
		`signing-key|${row.kid}`,
		toBuffer(row.private_iv)!,
		toBuffer(row.private_key)!,
	);
	return { kid: row.kid, key: createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }) };
}

/**
 * The public key that checks a token's signature. Its row is sealed: a public key swapped in by
 * someone with write access to the database would otherwise let them sign tokens of their own.
 */
export async function loadVerifyKey(
	x: SqlExecutor,
	keyring: Keyring,
	tenant: string,
	kid: string,
): Promise<KeyObject | undefined> {
	const row = await signingKeys.get(x, tenant, kid);
	if (!row) return undefined;
	checkSeal(
		await loadDataKey(x, keyring, tenant, row.dek_id),
		'signing_keys',
		row,
		describeRow('signing_keys', row),
	);
	return createPublicKey(row.public_key);
}

/** Moves the tenant's signing keys from one data key to another (re-encryption). */
export async function resealSigningKeys(
	tx: SqlExecutor,
	from: DataKey,
	to: DataKey,
): Promise<void> {
	for (const row of await signingKeys.byDek(tx, from.tenant, from.id)) {
		checkSeal(from, 'signing_keys', row, describeRow('signing_keys', row));
		const der = from.openBlob(
			`signing-key|${row.kid}`,
			toBuffer(row.private_iv)!,
			toBuffer(row.private_key)!,
		);
		const sealed = to.sealBlob(`signing-key|${row.kid}`, der);
		const seal = computeSeal(to, 'signing_keys', { ...row, dek_id: to.id });
		await signingKeys.reseal(tx, from.tenant, row.kid, to.id, sealed.iv, sealed.data, seal);
	}
}

/**
 * Seals the rows of a store written before row seals existed (schema 1), once, when a release that
 * knows them first opens it with the master key; afterwards a row without a seal is a tampered row.
 * The `meta` flag is what says "done": an attacker who can clear it can also be caught only by the
 * audit trail's own checks (docs/ARCHITECTURE.md, "What the seals do not catch").
 */
export async function sealUnsealedRows(driver: SqlDriver, keyring: Keyring): Promise<number> {
	// Read outside a write transaction first: a read-only store that was sealed long ago opens.
	const flag = "SELECT value FROM meta WHERE key = 'row_seals'";
	if (await driver.get(flag)) return 0;
	return driver.transaction(async (raw) => {
		if (await raw.get(flag)) return 0;
		const tx = keyedExecutor(raw, keyring);
		let count = 0;
		for (const { id: tenant } of await tenants.all(tx)) {
			const active = await dataKeys.active(tx, tenant);
			if (!active) continue;
			for (const table of ['secrets', 'value_lines', 'tokens'] as const)
				count += await seals.resealBatch(tx, table, tenant, keyring.unwrap(active).id, 1e9, true);
			for (const r of await tx.all<VersionRow>(
				'SELECT * FROM versions WHERE tenant = ? AND seal IS NULL',
				[tenant],
			)) {
				await versions.save(tx, r);
				count++;
			}
			for (const r of await signingKeys.all(tx, tenant)) {
				if (r.seal) continue;
				const own = await loadDataKey(tx, keyring, tenant, r.dek_id);
				await tx.run('UPDATE signing_keys SET seal = ? WHERE tenant = ? AND kid = ?', [
					computeSeal(own, 'signing_keys', r),
					tenant,
					r.kid,
				]);
				count++;
			}
		}
		await tx.run("INSERT INTO meta (key, value) VALUES ('row_seals', '1')");
		return count;
	});
}

/** An executor that seals and checks rows with the data keys of `keyring` (see repository.ts). */
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
 * transaction's) carries the row keys, so the repository seals and checks rows on every path.
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
