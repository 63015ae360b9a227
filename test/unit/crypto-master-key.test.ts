import { createHmac, randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { type ErrorCode, SecretsError } from '../../src/core/errors';
import {
	fileKeyProvider,
	keyProviderFromEnv,
	passphraseKeyProvider,
	rawKeyProvider,
} from '../../src/crypto/master-key';

const KEY = randomBytes(32);
const KEY_B64 = KEY.toString('base64');
const PASSPHRASE = 'correct horse battery staple';
const aad = Buffer.from('n8n-secrets/dek/v1|acme|k1');

let dir: string;
beforeAll(() => {
	dir = mkdtempSync(join(tmpdir(), 'n8n-secrets-master-key-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** root reads a file whatever its mode: there an unreadable file cannot be made, nor its test. */
const itUnlessRoot: typeof it =
	process.getuid?.() === 0 ? ((() => undefined) as unknown as typeof it) : it;

/** The coded error `fn` threw or rejected with; fails the test when there was none. */
async function failure(fn: () => unknown): Promise<SecretsError> {
	try {
		await fn();
	} catch (err) {
		expect(err).toBeInstanceOf(SecretsError);
		return err as SecretsError;
	}
	throw new Error('expected a SecretsError, nothing was thrown');
}

async function expectCode(
	fn: () => unknown,
	code: ErrorCode,
	...mustNotShow: string[]
): Promise<SecretsError> {
	const err = await failure(fn);
	expect(err.code).toBe(code);
	for (const s of mustNotShow) expect(err.message).not.toContain(s);
	return err;
}

describe('raw key (N8N_SECRETS_MASTER_KEY)', () => {
	it('has the key check value HMAC-SHA256(key, "n8n-secrets/key-check/v1"), stable across opens', async () => {
		const key = await rawKeyProvider(KEY_B64, 'test').open(null);
		const expected = createHmac('sha256', KEY).update('n8n-secrets/key-check/v1').digest();
		expect(key.checkValue).toEqual(expected);
		expect((await rawKeyProvider(` ${KEY_B64}\n`, 'test').open(null)).checkValue).toEqual(expected);
		expect(key.checkValue.equals(KEY)).toBe(false);
	});

	it('gives another key another check value, and cannot unwrap what that key wrapped', async () => {
		const a = await rawKeyProvider(KEY_B64, 'a').open(null);
		const b = await rawKeyProvider(randomBytes(32).toString('base64'), 'b').open(null);
		expect(a.checkValue.equals(b.checkValue)).toBe(false);
		const dek = randomBytes(32);
		const wrapped = a.wrap(dek, aad);
		expect(a.unwrap(wrapped, aad)).toEqual(dek);
		await expectCode(() => b.unwrap(wrapped, aad), 'INTEGRITY_ERROR');
		await expectCode(
			() => a.unwrap(wrapped, Buffer.from('n8n-secrets/dek/v1|globex|k1')),
			'INTEGRITY_ERROR',
		);
	});

	it('wraps as IV (12 bytes) + ciphertext + tag (16 bytes), fresh each time', async () => {
		const key = await rawKeyProvider(KEY_B64, 'test').open(null);
		const dek = randomBytes(32);
		const w1 = key.wrap(dek, aad);
		expect(w1).toHaveLength(12 + 32 + 16);
		expect(w1.equals(key.wrap(dek, aad))).toBe(false);
	});

	it.each([
		['too short', randomBytes(31).toString('base64')],
		['too long', randomBytes(33).toString('base64')],
		['base64url, not base64', Buffer.from(Array(32).fill(0xfb)).toString('base64url')],
		['with a space inside', `${KEY_B64.slice(0, 20)} ${KEY_B64.slice(20)}`],
		['a passphrase', PASSPHRASE],
		['empty', ''],
	])(
		'refuses a key that is %s with MASTER_KEY_MISSING, without echoing it',
		async (_case, text) => {
			const err = await expectCode(
				() => rawKeyProvider(text, 'N8N_SECRETS_MASTER_KEY').open(null),
				'MASTER_KEY_MISSING',
				...(text.trim() ? [text.trim()] : []),
			);
			expect(err.message).toContain('N8N_SECRETS_MASTER_KEY');
			expect(err.message).toContain('openssl rand -base64 32');
		},
	);
});

describe('key file (N8N_SECRETS_MASTER_KEY_FILE)', () => {
	it('reads the key with surrounding whitespace, as the raw key', async () => {
		const path = join(dir, 'key');
		writeFileSync(path, `${KEY_B64}\n`);
		const fromFile = await fileKeyProvider(path).open(null);
		const fromEnv = await rawKeyProvider(KEY_B64, 'env').open(null);
		expect(fromFile.checkValue).toEqual(fromEnv.checkValue);
		expect(fromFile.source).toBe(`file ${path}`);
		expect(fromEnv.unwrap(fromFile.wrap(KEY, aad), aad)).toEqual(KEY);
	});

	it('says a missing file is MASTER_KEY_MISSING, with the path and the errno code', async () => {
		const path = join(dir, 'no-such-file');
		const err = await expectCode(() => fileKeyProvider(path).open(null), 'MASTER_KEY_MISSING');
		expect(err.message).toContain(path);
		expect(err.message).toContain('ENOENT');
	});

	it('refuses a file that is not a key without showing its content', async () => {
		const path = join(dir, 'not-a-key');
		writeFileSync(path, 'this-is-not-a-key-but-could-be-a-secret\n');
		const err = await expectCode(
			() => fileKeyProvider(path).open(null),
			'MASTER_KEY_MISSING',
			'this-is-not-a-key',
		);
		expect(err.message).toContain(path);
	});

	itUnlessRoot('says an unreadable file is MASTER_KEY_MISSING with EACCES', async () => {
		const path = join(dir, 'unreadable');
		writeFileSync(path, KEY_B64);
		chmodSync(path, 0o000);
		const err = await expectCode(() => fileKeyProvider(path).open(null), 'MASTER_KEY_MISSING');
		expect(err.message).toContain('EACCES');
	});
});

describe('passphrase (N8N_SECRETS_PASSPHRASE)', () => {
	const salt = randomBytes(16);

	it('refuses a passphrase under 12 characters at once, without echoing it', async () => {
		await expectCode(
			() => passphraseKeyProvider('short-pass1'),
			'MASTER_KEY_MISSING',
			'short-pass1',
		);
		expect(() => passphraseKeyProvider('x'.repeat(12))).not.toThrow();
	});

	it('needs the store salt, and a store made with a raw key (no salt) is WRONG_MASTER_KEY', async () => {
		const provider = passphraseKeyProvider(PASSPHRASE, 'N8N_SECRETS_PASSPHRASE');
		expect(provider.needsSalt).toBe(true);
		expect(rawKeyProvider(KEY_B64, 'k').needsSalt).toBe(false);
		const err = await expectCode(() => provider.open(null), 'WRONG_MASTER_KEY', PASSPHRASE);
		expect(err.message).toContain('N8N_SECRETS_PASSPHRASE');
	});

	// scrypt at its real cost (about 128 MiB): four derivations, once each.
	it('derives one key per passphrase and salt: same inputs, same key; NFKC-equal text, same key', async () => {
		const a = await passphraseKeyProvider(PASSPHRASE).open(salt);
		const again = await passphraseKeyProvider(PASSPHRASE).open(Buffer.from(salt));
		expect(again.checkValue).toEqual(a.checkValue);
		expect(again.unwrap(a.wrap(KEY, aad), aad)).toEqual(KEY);

		const otherSalt = await passphraseKeyProvider(PASSPHRASE).open(randomBytes(16));
		expect(otherSalt.checkValue.equals(a.checkValue)).toBe(false);

		// U+FB01 (the "fi" ligature) is "fi" under NFKC: typed either way, it is the same passphrase.
		const ligature = await passphraseKeyProvider('\ufb01ne passphrase ok').open(salt);
		const plain = await passphraseKeyProvider('fine passphrase ok').open(salt);
		expect(ligature.checkValue).toEqual(plain.checkValue);
		expect(plain.checkValue.equals(a.checkValue)).toBe(false);
	}, 30_000);
});

describe('keyProviderFromEnv', () => {
	it('picks the variable that is set, for the current and the new key', () => {
		expect(keyProviderFromEnv({ N8N_SECRETS_MASTER_KEY: KEY_B64 }).source).toBe(
			'N8N_SECRETS_MASTER_KEY',
		);
		expect(keyProviderFromEnv({ N8N_SECRETS_MASTER_KEY_FILE: '/k' }).source).toBe(
			'N8N_SECRETS_MASTER_KEY_FILE',
		);
		expect(keyProviderFromEnv({ N8N_SECRETS_PASSPHRASE: PASSPHRASE }).source).toBe(
			'N8N_SECRETS_PASSPHRASE',
		);
		const next = keyProviderFromEnv(
			{ N8N_SECRETS_MASTER_KEY: KEY_B64, N8N_SECRETS_NEW_PASSPHRASE: PASSPHRASE },
			'N8N_SECRETS_NEW_',
		);
		expect(next).toMatchObject({ source: 'N8N_SECRETS_NEW_PASSPHRASE', needsSalt: true });
	});

	it('treats an empty variable as not set', () => {
		const provider = keyProviderFromEnv({
			N8N_SECRETS_MASTER_KEY: '',
			N8N_SECRETS_PASSPHRASE: PASSPHRASE,
		});
		expect(provider.source).toBe('N8N_SECRETS_PASSPHRASE');
	});

	it('refuses two ways at once with INVALID_INPUT naming them, never their values', async () => {
		const err = await expectCode(
			() =>
				keyProviderFromEnv({ N8N_SECRETS_MASTER_KEY: KEY_B64, N8N_SECRETS_PASSPHRASE: PASSPHRASE }),
			'INVALID_INPUT',
			KEY_B64,
			PASSPHRASE,
		);
		expect(err.message).toContain('N8N_SECRETS_MASTER_KEY');
		expect(err.message).toContain('N8N_SECRETS_PASSPHRASE');
	});

	it('says MASTER_KEY_MISSING with the three variables when none is set', async () => {
		const err = await expectCode(
			() => keyProviderFromEnv({}, 'N8N_SECRETS_NEW_'),
			'MASTER_KEY_MISSING',
		);
		for (const v of [
			'N8N_SECRETS_NEW_MASTER_KEY',
			'N8N_SECRETS_NEW_MASTER_KEY_FILE',
			'N8N_SECRETS_NEW_PASSPHRASE',
		])
			expect(err.message).toContain(v);
	});

	it('refuses a short passphrase from the environment when the provider is picked', async () => {
		await expectCode(
			() => keyProviderFromEnv({ N8N_SECRETS_PASSPHRASE: 'tooshort' }),
			'MASTER_KEY_MISSING',
			'tooshort',
		);
	});
});
