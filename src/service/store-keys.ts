/**
 * Opening a store: schema, master key check, and the one-time sealing of rows from before row seals.
 * Everything here runs before any operation, and a wrong master key stops it before a single row is
 * written.
 */
import { randomBytes, randomUUID } from 'node:crypto';

import { SecretsError } from '../core/errors';
import { macEquals } from '../crypto/aead';
import { Keyring } from '../crypto/keyring';
import type { KeyProvider, MasterKey } from '../crypto/master-key';
import { SCHEMA_VERSION, migrate, schemaVersion } from '../store/migrations';
import {
	dataKeys,
	masterKeys,
	type MasterKeyRow,
	seals,
	signingKeys,
	tenants,
	versions,
} from '../store/repository';
import { type SqlDriver, toBuffer } from '../store/sql';
import { keyedExecutor } from './keyed-driver';

// Loading keys and the keyed executors, and signing keys, have modules of their own; their names are
// importable from here as before.
export { activeDataKey, KeyedDriver, keyedExecutor, loadDataKey } from './keyed-driver';
export { createTenant, loadSigningKey, loadVerifyKey, resealSigningKeys } from './signing-keys';

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
			count += await versions.sealUnsealed(tx, tenant);
			count += await signingKeys.sealUnsealed(tx, tenant);
		}
		await tx.run("INSERT INTO meta (key, value) VALUES ('row_seals', '1')");
		return count;
	});
}
