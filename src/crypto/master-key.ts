/**
 * The master key (KEK) wraps each tenant's data keys. It comes from the host, never from the database:
 * base64 in an environment variable, a file, or a passphrase stretched with scrypt. A `KeyProvider`
 * hands out a `MasterKey` that can only wrap, unwrap and prove which key it is, so an HSM (PKCS#11)
 * provider can implement the same interface without ever exporting the key.
 */
import { readFileSync } from 'node:fs';
import { type KeyObject, scrypt as scryptCb } from 'node:crypto';
import { promisify } from 'node:util';

import { SecretsError } from '../core/errors';
import { KEY_BYTES, hmac, open, seal, secretKey } from './aead';

const scrypt = promisify(scryptCb) as (
	password: string,
	salt: Buffer,
	keylen: number,
	options: { N: number; r: number; p: number; maxmem: number },
) => Promise<Buffer>;

export interface MasterKey {
	/** Where the key came from, for messages: never the key itself. */
	readonly source: string;
	/** A deterministic fingerprint stored beside the data so a wrong key fails before any write. */
	readonly checkValue: Buffer;
	wrap(dataKey: Buffer, aad: Buffer): Buffer;
	unwrap(wrapped: Buffer, aad: Buffer): Buffer;
}

export interface KeyProvider {
	readonly source: string;
	/** True when the provider needs the store's salt (passphrases). */
	readonly needsSalt: boolean;
	open(salt: Buffer | null): Promise<MasterKey>;
}

const CHECK_LABEL = Buffer.from('n8n-secrets/key-check/v1');

class RawMasterKey implements MasterKey {
	readonly checkValue: Buffer;
	private readonly key: KeyObject;

	constructor(
		key: Buffer,
		readonly source: string,
	) {
		this.key = secretKey(key);
		this.checkValue = hmac(this.key, CHECK_LABEL);
	}

	wrap(dataKey: Buffer, aad: Buffer): Buffer {
		const sealed = seal(this.key, dataKey, aad);
		return Buffer.concat([sealed.iv, sealed.data]);
	}

	unwrap(wrapped: Buffer, aad: Buffer): Buffer {
		return open(this.key, { iv: wrapped.subarray(0, 12), data: wrapped.subarray(12) }, aad);
	}
}

function decodeKey(text: string, source: string): Buffer {
	const trimmed = text.trim();
	const key = Buffer.from(trimmed, 'base64');
	if (key.length !== KEY_BYTES || !/^[A-Za-z0-9+/]+={0,2}$/.test(trimmed)) {
		// No usable key was given: the same code as no key at all, whatever the store expects.
		throw new SecretsError(
			'MASTER_KEY_MISSING',
			`The master key from ${source} is not a key: it must be ${KEY_BYTES} random bytes in base64 ` +
				'(44 characters; create one with: openssl rand -base64 32). A passphrase goes in ' +
				'N8N_SECRETS_PASSPHRASE instead.',
		);
	}
	return key;
}

export function rawKeyProvider(base64: string, source: string): KeyProvider {
	return {
		source,
		needsSalt: false,
		open: async () => new RawMasterKey(decodeKey(base64, source), source),
	};
}

export function fileKeyProvider(path: string, source = `file ${path}`): KeyProvider {
	return {
		source,
		needsSalt: false,
		open: async () => {
			let text: string;
			try {
				text = readFileSync(path, 'utf8');
			} catch (err) {
				throw new SecretsError(
					'MASTER_KEY_MISSING',
					`Cannot read the master key file ${path}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}.`,
				);
			}
			return new RawMasterKey(decodeKey(text, source), source);
		},
	};
}

/** scrypt N=2^17, r=8, p=1: about 128 MiB and a few hundred milliseconds, once per process start. */
export const SCRYPT_PARAMS = { N: 2 ** 17, r: 8, p: 1, maxmem: 256 * 1024 * 1024 };

export function passphraseKeyProvider(passphrase: string, source = 'passphrase'): KeyProvider {
	if (passphrase.length < 12) {
		throw new SecretsError(
			'MASTER_KEY_MISSING',
			`The passphrase from ${source} is too short to be a master key: at least 12 characters.`,
		);
	}
	return {
		source,
		needsSalt: true,
		open: async (salt) => {
			if (!salt)
				throw new SecretsError(
					'WRONG_MASTER_KEY',
					`The master key from ${source} is a passphrase, but this store was created with a raw key ` +
						'(N8N_SECRETS_MASTER_KEY or N8N_SECRETS_MASTER_KEY_FILE); nothing was changed.',
				);
			const key = await scrypt(passphrase.normalize('NFKC'), salt, KEY_BYTES, SCRYPT_PARAMS);
			return new RawMasterKey(key, source);
		},
	};
}

/**
 * Picks the key provider from the environment. `prefix` is `N8N_SECRETS_` for the key in use and
 * `N8N_SECRETS_NEW_` for the key a rotation moves to.
 */
export function keyProviderFromEnv(
	env: NodeJS.ProcessEnv = process.env,
	prefix = 'N8N_SECRETS_',
): KeyProvider {
	const keyVar = `${prefix}MASTER_KEY`;
	const fileVar = `${prefix}MASTER_KEY_FILE`;
	const passVar = `${prefix}PASSPHRASE`;
	const given = [keyVar, fileVar, passVar].filter((v) => env[v] !== undefined && env[v] !== '');
	if (given.length > 1) {
		throw new SecretsError('INVALID_INPUT', `Set only one of ${given.join(', ')}.`);
	}
	if (env[keyVar]) return rawKeyProvider(env[keyVar], keyVar);
	if (env[fileVar]) return fileKeyProvider(env[fileVar], fileVar);
	if (env[passVar]) return passphraseKeyProvider(env[passVar], passVar);
	throw new SecretsError(
		'MASTER_KEY_MISSING',
		`No master key: set ${keyVar} (32 bytes, base64: openssl rand -base64 32), ${fileVar} ` +
			`(a file holding that) or ${passVar}.`,
	);
}
