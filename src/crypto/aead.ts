/**
 * AES-256-GCM with a 96-bit random IV and a 128-bit tag, and the HMAC and HKDF helpers built on the
 * same keys. Every decryption failure is the same detail-free INTEGRITY_ERROR: which check failed is
 * of use only to an attacker.
 */
import {
	type KeyObject,
	createSecretKey,
	createCipheriv,
	createDecipheriv,
	createHmac,
	hash,
	hkdfSync,
	randomBytes,
	timingSafeEqual,
} from 'node:crypto';

import { SecretsError } from '../core/errors';

export const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;

export interface Sealed {
	iv: Buffer;
	/** Ciphertext followed by the 16-byte GCM tag. */
	data: Buffer;
}

export function seal(key: KeyObject, plaintext: Buffer, aad: Buffer): Sealed {
	const iv = randomBytes(IV_BYTES);
	const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
	cipher.setAAD(aad);
	const data = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
	return { iv, data };
}

export function integrityError(): SecretsError {
	return new SecretsError(
		'INTEGRITY_ERROR',
		'A stored value failed its integrity check and was not used. The database may have been altered; ' +
			'run `n8n-secrets audit verify` and restore the store from a backup.',
	);
}

export function open(key: KeyObject, sealed: Sealed, aad: Buffer): Buffer {
	if (sealed.iv.length !== IV_BYTES || sealed.data.length < TAG_BYTES) throw integrityError();
	try {
		const decipher = createDecipheriv('aes-256-gcm', key, sealed.iv, { authTagLength: TAG_BYTES });
		decipher.setAAD(aad);
		decipher.setAuthTag(sealed.data.subarray(sealed.data.length - TAG_BYTES));
		return Buffer.concat([
			decipher.update(sealed.data.subarray(0, sealed.data.length - TAG_BYTES)),
			decipher.final(),
		]);
	} catch {
		throw integrityError();
	}
}

export function hmac(key: KeyObject, ...parts: Buffer[]): Buffer {
	const h = createHmac('sha256', key);
	for (const p of parts) h.update(p);
	return h.digest();
}

/**
 * HMAC-SHA-256 (RFC 2104) for a key used on every resolution: the padded keys are computed once and
 * each MAC is two one-shot hashes, about half the cost of a `createHmac` object per call.
 */
export class FastHmac {
	private readonly inner: Buffer;
	private readonly outer: Buffer;

	constructor(key: KeyObject) {
		const raw = key.export();
		if (raw.length > 64) throw new Error('FastHmac takes keys of at most 64 bytes');
		// The inner pad leads a scratch buffer the message is written after; the outer one is followed
		// by the inner hash.
		this.inner = Buffer.alloc(64 + 1024, 0x36);
		this.outer = Buffer.alloc(64 + 32, 0x5c);
		for (let i = 0; i < raw.length; i++) {
			this.inner[i] ^= raw[i];
			this.outer[i] ^= raw[i];
		}
		raw.fill(0);
	}

	/** The MAC of `text` (UTF-8). */
	mac(text: string): Buffer {
		let scratch = this.inner;
		if (64 + Buffer.byteLength(text) > scratch.length) {
			scratch = Buffer.alloc(64 + Buffer.byteLength(text));
			this.inner.copy(scratch, 0, 0, 64);
		}
		const n = scratch.write(text, 64, 'utf8');
		hash('sha256', scratch.subarray(0, 64 + n), 'buffer').copy(this.outer, 64);
		return hash('sha256', this.outer, 'buffer');
	}
}

export function macEquals(a: Buffer, b: Buffer): boolean {
	return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Keys are held as KeyObjects: Node converts a raw Buffer key on every cipher or HMAC it creates,
 * which costs several times the cipher itself on the hot path.
 */
export function secretKey(bytes: Buffer): KeyObject {
	return createSecretKey(bytes);
}

/** Derives a purpose-bound subkey so one data key never serves two algorithms. */
export function deriveKey(key: Buffer, info: string): KeyObject {
	return createSecretKey(Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), info, KEY_BYTES)));
}
