/**
 * Per-tenant data keys (DEKs) and what is derived from them. A DEK is random, wrapped by the master key
 * with AES-256-GCM and bound to its tenant and id, so a wrapped key copied to another tenant does not
 * unwrap. Unwrapped DEKs are cached for the life of the process: they change only when an operator
 * re-encrypts, which adds new key ids rather than changing old ones. Values are never cached.
 */
import { randomBytes, randomUUID } from 'node:crypto';

import type { KeyObject } from 'node:crypto';

import {
	KEY_BYTES,
	deriveKey,
	hmac,
	integrityError,
	macEquals,
	open,
	seal,
	secretKey,
	FastHmac,
} from './aead';
import type { MasterKey } from './master-key';

export interface EncryptedValue {
	iv: Buffer;
	ciphertext: Buffer;
	mac: Buffer;
}

/** Where a value lives; all of it is bound into the ciphertext and the MAC. */
export interface ValueSlot {
	tenant: string;
	secretId: string;
	environment: string;
	version: number;
}

export function valueAad(slot: ValueSlot): Buffer {
	return Buffer.from(
		`n8n-secrets/value/v1|${slot.tenant}|${slot.secretId}|${slot.environment}|${slot.version}`,
	);
}

export function dataKeyAad(tenant: string, id: string): Buffer {
	return Buffer.from(`n8n-secrets/dek/v1|${tenant}|${id}`);
}

const ZERO = Buffer.from([0]);

export class DataKey {
	private readonly key: KeyObject;
	private readonly macKey: KeyObject;
	/** Keys the MAC on the audit chain's head, so a rewritten chain cannot be re-sealed without it. */
	readonly auditKey: KeyObject;
	/** The same audit key, for the seal of every journaled audit record (one per resolution). */
	readonly auditHmac: FastHmac;
	/** Keys the seals on the rows that decide which value is served and to whom (see row-seals.ts). */
	readonly rowKey: KeyObject;

	constructor(
		readonly tenant: string,
		readonly id: string,
		key: Buffer,
	) {
		this.key = secretKey(key);
		this.macKey = deriveKey(key, `n8n-secrets/value-mac/v1|${tenant}`);
		this.auditKey = deriveKey(key, `n8n-secrets/audit-head/v1|${tenant}`);
		this.auditHmac = new FastHmac(this.auditKey);
		this.rowKey = deriveKey(key, `n8n-secrets/row-seal/v1|${tenant}`);
	}

	encryptValue(slot: ValueSlot, plaintext: string): EncryptedValue {
		const aad = valueAad(slot);
		const bytes = Buffer.from(plaintext, 'utf8');
		const sealed = seal(this.key, bytes, aad);
		return { iv: sealed.iv, ciphertext: sealed.data, mac: hmac(this.macKey, aad, ZERO, bytes) };
	}

	/**
	 * Decrypts and checks the MAC; any mismatch is the same INTEGRITY_ERROR. The slot may be given as
	 * its precomputed `valueAad`, which the resolve path keeps with the row it caches.
	 *
	 * `macChecked`: the caller already checked the MAC of these very bytes, read once from the store
	 * and kept since in this process's memory (the resolve cache). GCM still authenticates them on
	 * every call; the MAC is checked on every read from the store.
	 */
	decryptValue(slot: ValueSlot | Buffer, stored: EncryptedValue, macChecked = false): string {
		const aad = Buffer.isBuffer(slot) ? slot : valueAad(slot);
		const bytes = open(this.key, { iv: stored.iv, data: stored.ciphertext }, aad);
		if (!macChecked && !macEquals(hmac(this.macKey, aad, ZERO, bytes), stored.mac))
			throw integrityError();
		return bytes.toString('utf8');
	}

	/** Encrypts key material the store keeps for the tenant (the token signing key). */
	sealBlob(label: string, plaintext: Buffer): { iv: Buffer; data: Buffer } {
		return seal(this.key, plaintext, Buffer.from(`n8n-secrets/blob/v1|${this.tenant}|${label}`));
	}

	openBlob(label: string, iv: Buffer, data: Buffer): Buffer {
		return open(this.key, { iv, data }, Buffer.from(`n8n-secrets/blob/v1|${this.tenant}|${label}`));
	}
}

export interface WrappedDataKey {
	tenant: string;
	id: string;
	masterKeyId: string;
	wrapped: Buffer;
}

export class Keyring {
	private readonly cache = new Map<string, DataKey>();

	constructor(
		private readonly master: MasterKey,
		readonly masterKeyId: string,
	) {}

	/** A fresh random DEK, wrapped by the master key in use. */
	create(tenant: string): { dataKey: DataKey; wrapped: WrappedDataKey } {
		const id = randomUUID();
		const key = randomBytes(KEY_BYTES);
		const wrapped = this.master.wrap(key, dataKeyAad(tenant, id));
		const dataKey = new DataKey(tenant, id, key);
		this.cache.set(`${tenant}/${id}`, dataKey);
		return { dataKey, wrapped: { tenant, id, masterKeyId: this.masterKeyId, wrapped } };
	}

	cached(tenant: string, id: string): DataKey | undefined {
		return this.cache.get(`${tenant}/${id}`);
	}

	unwrap(row: WrappedDataKey, master: MasterKey = this.master): DataKey {
		const cached = this.cache.get(`${row.tenant}/${row.id}`);
		if (cached) return cached;
		const key = master.unwrap(row.wrapped, dataKeyAad(row.tenant, row.id));
		const dataKey = new DataKey(row.tenant, row.id, key);
		this.cache.set(`${row.tenant}/${row.id}`, dataKey);
		return dataKey;
	}

	/** Re-wraps a DEK under another master key (master key rotation); the DEK itself is unchanged. */
	rewrap(row: WrappedDataKey, to: MasterKey, toId: string): WrappedDataKey {
		const key = this.master.unwrap(row.wrapped, dataKeyAad(row.tenant, row.id));
		return { ...row, masterKeyId: toId, wrapped: to.wrap(key, dataKeyAad(row.tenant, row.id)) };
	}
}
