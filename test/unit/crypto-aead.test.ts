import { createHmac, createSecretKey, hkdfSync, randomBytes } from 'node:crypto';

import { isCode } from '../../src/core/errors';
import {
	FastHmac,
	KEY_BYTES,
	deriveKey,
	hmac,
	integrityError,
	macEquals,
	open,
	seal,
	secretKey,
} from '../../src/crypto/aead';

const key = secretKey(randomBytes(KEY_BYTES));
const aad = Buffer.from('n8n-secrets/test|tenant|slot');
const plaintext = Buffer.from('sk_live_do-not-print');

/** What `fn` threw; fails the test when it threw nothing. */
function thrown(fn: () => unknown): unknown {
	try {
		fn();
	} catch (err) {
		return err;
	}
	throw new Error('expected an error, nothing was thrown');
}

/** The one error every failed decryption gives, whatever check failed. */
function expectIntegrityError(fn: () => unknown): void {
	const err = thrown(fn);
	expect(isCode(err, 'INTEGRITY_ERROR')).toBe(true);
	expect((err as Error).message).toBe(integrityError().message);
	expect((err as Error).message).not.toContain(plaintext.toString());
}

/** A copy of `buf` with one bit of byte `i` flipped. */
function flipped(buf: Buffer, i: number): Buffer {
	const copy = Buffer.from(buf);
	copy[i] ^= 0x01;
	return copy;
}

describe('seal and open (AES-256-GCM)', () => {
	it('round-trips, with a 12-byte IV and the 16-byte tag after the ciphertext', () => {
		const sealed = seal(key, plaintext, aad);
		expect(sealed.iv).toHaveLength(12);
		expect(sealed.data).toHaveLength(plaintext.length + 16);
		expect(sealed.data.includes(plaintext)).toBe(false);
		expect(open(key, sealed, aad)).toEqual(plaintext);
	});

	it('round-trips an empty value', () => {
		const sealed = seal(key, Buffer.alloc(0), aad);
		expect(sealed.data).toHaveLength(16);
		expect(open(key, sealed, aad)).toEqual(Buffer.alloc(0));
	});

	it('draws a fresh IV each time, so the same value seals differently', () => {
		const a = seal(key, plaintext, aad);
		const b = seal(key, plaintext, aad);
		expect(a.iv.equals(b.iv)).toBe(false);
		expect(a.data.equals(b.data)).toBe(false);
	});

	it('refuses a different AAD, key, or any flipped bit of IV, ciphertext or tag', () => {
		const sealed = seal(key, plaintext, aad);
		expectIntegrityError(() => open(key, sealed, Buffer.from('n8n-secrets/test|tenant|other')));
		expectIntegrityError(() => open(key, sealed, Buffer.alloc(0)));
		expectIntegrityError(() => open(secretKey(randomBytes(KEY_BYTES)), sealed, aad));
		for (let i = 0; i < sealed.iv.length; i++)
			expectIntegrityError(() => open(key, { iv: flipped(sealed.iv, i), data: sealed.data }, aad));
		for (let i = 0; i < sealed.data.length; i++)
			expectIntegrityError(() => open(key, { iv: sealed.iv, data: flipped(sealed.data, i) }, aad));
	});

	it('refuses truncated or extended data and an IV of the wrong length', () => {
		const sealed = seal(key, plaintext, aad);
		for (const data of [
			sealed.data.subarray(0, sealed.data.length - 1),
			sealed.data.subarray(1),
			sealed.data.subarray(0, 15),
			Buffer.alloc(0),
			Buffer.concat([sealed.data, Buffer.from([0])]),
		])
			expectIntegrityError(() => open(key, { iv: sealed.iv, data }, aad));
		for (const iv of [sealed.iv.subarray(0, 11), Buffer.concat([sealed.iv, Buffer.from([0])])])
			expectIntegrityError(() => open(key, { iv, data: sealed.data }, aad));
	});
});

describe('hmac, macEquals and deriveKey', () => {
	const raw = randomBytes(KEY_BYTES);

	it('hmac is HMAC-SHA256 over the parts in order', () => {
		const a = Buffer.from('part-a');
		const b = Buffer.from('part-b');
		const expected = createHmac('sha256', raw).update(a).update(b).digest();
		expect(hmac(secretKey(raw), a, b)).toEqual(expected);
		expect(hmac(secretKey(raw), b, a).equals(expected)).toBe(false);
		expect(hmac(secretKey(randomBytes(KEY_BYTES)), a, b).equals(expected)).toBe(false);
	});

	it('macEquals compares content, and is false for different lengths instead of throwing', () => {
		const mac = hmac(secretKey(raw), plaintext);
		expect(macEquals(mac, Buffer.from(mac))).toBe(true);
		expect(macEquals(mac, flipped(mac, 31))).toBe(false);
		expect(macEquals(mac, mac.subarray(0, 31))).toBe(false);
		expect(macEquals(Buffer.alloc(0), mac)).toBe(false);
	});

	it('deriveKey is HKDF-SHA256 (empty salt) bound to its purpose', () => {
		const derived = deriveKey(raw, 'purpose-a');
		const expected = Buffer.from(hkdfSync('sha256', raw, Buffer.alloc(0), 'purpose-a', 32));
		expect(derived.export()).toEqual(expected);
		expect(deriveKey(raw, 'purpose-a').export()).toEqual(expected);
		expect(deriveKey(raw, 'purpose-b').export().equals(expected)).toBe(false);
		expect(derived.export().equals(raw)).toBe(false);
	});
});

describe('FastHmac', () => {
	it('is HMAC-SHA-256: the same MAC as createHmac for every length, short and long, ASCII and not', () => {
		const key = createSecretKey(randomBytes(32));
		const fast = new FastHmac(key);
		const texts = [
			'',
			'a',
			'é€𝄞',
			'x'.repeat(63),
			'x'.repeat(64),
			'y'.repeat(1024 - 1),
			'z'.repeat(5000),
		];
		for (let i = 0; i < 200; i++) texts.push(randomBytes(i * 7).toString('base64'));
		for (const text of texts)
			expect(fast.mac(text).equals(createHmac('sha256', key).update(text).digest())).toBe(true);
		// A long message used the scratch space: a short one after it is still its own MAC.
		expect(fast.mac('ab').equals(createHmac('sha256', key).update('ab').digest())).toBe(true);
	});

	it('depends on the key', () => {
		const a = new FastHmac(createSecretKey(randomBytes(32)));
		const b = new FastHmac(createSecretKey(randomBytes(32)));
		expect(a.mac('same').equals(b.mac('same'))).toBe(false);
	});
});
