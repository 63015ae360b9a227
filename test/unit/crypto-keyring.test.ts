import { randomBytes, randomUUID } from 'node:crypto';

import { isCode } from '../../src/core/errors';
import {
	DataKey,
	Keyring,
	dataKeyAad,
	valueAad,
	type EncryptedValue,
	type ValueSlot,
	type WrappedDataKey,
} from '../../src/crypto/keyring';
import { rawKeyProvider, type MasterKey } from '../../src/crypto/master-key';

const VALUE = 'sk_live_keyring-test-value';

async function masterKey(): Promise<MasterKey> {
	return rawKeyProvider(randomBytes(32).toString('base64'), 'test key').open(null);
}

function expectIntegrityError(fn: () => unknown): void {
	let err: unknown;
	try {
		fn();
	} catch (e) {
		err = e;
	}
	expect(isCode(err, 'INTEGRITY_ERROR')).toBe(true);
	expect((err as Error).message).not.toContain(VALUE);
}

const slot: ValueSlot = {
	tenant: 'acme',
	secretId: randomUUID(),
	environment: 'production',
	version: 3,
};

describe('AAD', () => {
	it('binds every part of the slot, and the tenant and id of a data key', () => {
		expect(valueAad(slot).toString()).toBe(
			`n8n-secrets/value/v1|acme|${slot.secretId}|production|3`,
		);
		expect(dataKeyAad('acme', 'k1').toString()).toBe('n8n-secrets/dek/v1|acme|k1');
	});
});

describe('DataKey values', () => {
	const dek = new DataKey('acme', 'k1', randomBytes(32));

	it('round-trips a value by slot or by its precomputed AAD, and hides the plaintext', () => {
		const stored = dek.encryptValue(slot, VALUE);
		expect(stored.iv).toHaveLength(12);
		expect(stored.mac).toHaveLength(32);
		expect(stored.ciphertext.includes(Buffer.from(VALUE))).toBe(false);
		expect(dek.decryptValue(slot, stored)).toBe(VALUE);
		expect(dek.decryptValue(valueAad(slot), stored)).toBe(VALUE);
	});

	it('keeps non-ASCII text intact', () => {
		const text = 'pässwörd-🔑-\u0000-end';
		expect(dek.decryptValue(slot, dek.encryptValue(slot, text))).toBe(text);
	});

	it.each<[string, Partial<ValueSlot>]>([
		['another tenant', { tenant: 'other' }],
		['another secret', { secretId: randomUUID() }],
		['another environment', { environment: 'staging' }],
		['another version', { version: 4 }],
	])('does not decrypt a value moved to %s', (_case, change) => {
		const stored = dek.encryptValue(slot, VALUE);
		expectIntegrityError(() => dek.decryptValue({ ...slot, ...change }, stored));
	});

	it('does not decrypt with another data key', () => {
		const stored = dek.encryptValue(slot, VALUE);
		expectIntegrityError(() =>
			new DataKey('acme', 'k2', randomBytes(32)).decryptValue(slot, stored),
		);
	});

	it('refuses a MAC that does not match, even when the ciphertext is intact', () => {
		const stored = dek.encryptValue(slot, VALUE);
		const badMac = Buffer.from(stored.mac);
		badMac[0] ^= 1;
		expectIntegrityError(() => dek.decryptValue(slot, { ...stored, mac: badMac }));
		expectIntegrityError(() => dek.decryptValue(slot, { ...stored, mac: stored.mac.subarray(1) }));
		expectIntegrityError(() => dek.decryptValue(slot, { ...stored, mac: Buffer.alloc(0) }));
	});

	it("refuses another value's MAC: a MAC swapped between two rows is caught", () => {
		const a = dek.encryptValue(slot, VALUE);
		const b = dek.encryptValue(slot, `${VALUE}-other`);
		const swapped: EncryptedValue = { ...a, mac: b.mac };
		expectIntegrityError(() => dek.decryptValue(slot, swapped));
	});

	it('refuses a changed ciphertext', () => {
		const stored = dek.encryptValue(slot, VALUE);
		const ciphertext = Buffer.from(stored.ciphertext);
		ciphertext[0] ^= 1;
		expectIntegrityError(() => dek.decryptValue(slot, { ...stored, ciphertext }));
	});

	it('derives distinct audit and row keys per tenant, neither equal to the data key', () => {
		const raw = randomBytes(32);
		const a = new DataKey('acme', 'k1', raw);
		const b = new DataKey('globex', 'k1', raw);
		const exported = [a.auditKey, a.rowKey, b.auditKey, b.rowKey].map((k) =>
			k.export().toString('hex'),
		);
		expect(new Set([...exported, raw.toString('hex')]).size).toBe(5);
		expect(new DataKey('acme', 'k9', raw).auditKey.export()).toEqual(a.auditKey.export());
	});

	it('seals blobs bound to tenant and label', () => {
		const blob = Buffer.from('-----BEGIN PRIVATE KEY-----');
		const sealed = dek.sealBlob('signing-key', blob);
		expect(dek.openBlob('signing-key', sealed.iv, sealed.data)).toEqual(blob);
		expectIntegrityError(() => dek.openBlob('other-label', sealed.iv, sealed.data));
		const raw = randomBytes(32);
		const mine = new DataKey('acme', 'k1', raw).sealBlob('signing-key', blob);
		expectIntegrityError(() =>
			new DataKey('globex', 'k1', raw).openBlob('signing-key', mine.iv, mine.data),
		);
	});
});

describe('Keyring: wrapped data keys', () => {
	it('creates a random DEK per call and unwraps it in a fresh keyring (no cache)', async () => {
		const master = await masterKey();
		const { dataKey, wrapped } = new Keyring(master, 'mk1').create('acme');
		expect(wrapped).toMatchObject({ tenant: 'acme', id: dataKey.id, masterKeyId: 'mk1' });
		expect(new Keyring(master, 'mk1').create('acme').dataKey.id).not.toBe(dataKey.id);

		const stored = dataKey.encryptValue(slot, VALUE);
		const fresh = new Keyring(master, 'mk1');
		expect(fresh.cached('acme', dataKey.id)).toBeUndefined();
		const unwrapped = fresh.unwrap(wrapped);
		expect(unwrapped.decryptValue(slot, stored)).toBe(VALUE);
		expect(fresh.cached('acme', dataKey.id)).toBe(unwrapped);
		expect(fresh.unwrap(wrapped)).toBe(unwrapped);
	});

	it.each<[string, (w: WrappedDataKey) => WrappedDataKey]>([
		['copied to another tenant', (w) => ({ ...w, tenant: 'globex' })],
		['given another id', (w) => ({ ...w, id: randomUUID() })],
		[
			'with a flipped byte',
			(w) => {
				const wrapped = Buffer.from(w.wrapped);
				wrapped[wrapped.length - 1] ^= 1;
				return { ...w, wrapped };
			},
		],
		['truncated', (w) => ({ ...w, wrapped: w.wrapped.subarray(0, 20) })],
	])('does not unwrap a wrapped DEK %s', async (_case, change) => {
		const master = await masterKey();
		const { wrapped } = new Keyring(master, 'mk1').create('acme');
		expectIntegrityError(() => new Keyring(master, 'mk1').unwrap(change(wrapped)));
	});

	it('does not unwrap under another master key', async () => {
		const { wrapped } = new Keyring(await masterKey(), 'mk1').create('acme');
		const other = new Keyring(await masterKey(), 'mk1');
		expectIntegrityError(() => other.unwrap(wrapped));
	});

	it('rewraps under a new master key without changing the DEK', async () => {
		const oldMaster = await masterKey();
		const newMaster = await masterKey();
		const keyring = new Keyring(oldMaster, 'mk1');
		const { dataKey, wrapped } = keyring.create('acme');
		const stored = dataKey.encryptValue(slot, VALUE);

		const rewrapped = keyring.rewrap(wrapped, newMaster, 'mk2');
		expect(rewrapped).toMatchObject({ tenant: 'acme', id: dataKey.id, masterKeyId: 'mk2' });
		expect(rewrapped.wrapped.equals(wrapped.wrapped)).toBe(false);
		expect(new Keyring(newMaster, 'mk2').unwrap(rewrapped).decryptValue(slot, stored)).toBe(VALUE);
		// An explicit master key overrides the keyring's own, as re-encryption reads old rows.
		expect(
			new Keyring(newMaster, 'mk2').unwrap(wrapped, oldMaster).decryptValue(slot, stored),
		).toBe(VALUE);
		expectIntegrityError(() => new Keyring(oldMaster, 'mk1').unwrap(rewrapped));
	});
});
