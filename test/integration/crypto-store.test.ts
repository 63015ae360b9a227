import { createHash, randomBytes } from 'node:crypto';

import {
	keyProviderFromEnv,
	passphraseKeyProvider,
	rawKeyProvider,
} from '../../src/crypto/master-key';
import { SecretsService } from '../../src/service/secrets-service';
import { PostgresDriver } from '../../src/store/postgres/postgres-driver';
import type { SqlDriver } from '../../src/store/sql';
import { SqliteDriver } from '../../src/store/sqlite/sqlite-driver';
import { TEST_DATABASE_URL, createTestStore, newMasterKey, type TestStore } from '../helpers/store';

/** Another connection to the store `driver` opened (the first one is closed with its service). */
function reopen(driver: SqlDriver): SqlDriver {
	if (driver instanceof SqliteDriver) return new SqliteDriver(driver.location);
	return new PostgresDriver(TEST_DATABASE_URL, { schema: (driver as PostgresDriver).schema });
}

let t: TestStore;

beforeEach(async () => {
	t = await createTestStore();
});

afterEach(() => t.cleanup());

async function fingerprint(): Promise<string> {
	const h = createHash('sha256');
	for (const bytes of await t.dump()) h.update(bytes);
	return h.digest('hex');
}

async function versionRow(name: string, environment: string, version: number) {
	return (
		await t.sql(
			'SELECT v.* FROM versions v JOIN secrets s ON s.id = v.secret_id WHERE s.name = ? AND v.environment = ? AND v.version = ?',
			name,
			environment,
			version,
		)
	)[0] as { secret_id: string; iv: Uint8Array; ciphertext: Uint8Array; mac: Uint8Array };
}

async function overwriteVersion(
	target: { name: string; environment: string; version: number },
	from: { iv: Uint8Array; ciphertext: Uint8Array; mac: Uint8Array },
) {
	await t.sql(
		'UPDATE versions SET iv = ?, ciphertext = ?, mac = ? WHERE environment = ? AND version = ? AND secret_id = (SELECT id FROM secrets WHERE name = ?)',
		from.iv,
		from.ciphertext,
		from.mac,
		target.environment,
		target.version,
		target.name,
	);
}

describe('encryption at rest', () => {
	it('leaves no plaintext value or token in the database (files, or every PostgreSQL row)', async () => {
		const canaries = Array.from(
			{ length: 5 },
			() => `PLAINTEXT-CANARY-${randomBytes(8).toString('hex')}`,
		);
		for (const [i, value] of canaries.entries()) {
			await t.service.createSecret(t.admin, {
				name: `canary-${i}`,
				environment: 'production',
				value,
			});
			await t.service.setValue(t.admin, {
				name: `canary-${i}`,
				environment: 'staging',
				value: `${value}-staging`,
			});
		}
		const user = await t.service.createToken(t.admin, { subject: 'runner', role: 'user' });
		for (let i = 0; i < canaries.length; i++) {
			await t.service.use(user, { name: `canary-${i}`, environment: 'production' });
		}
		await t.service.ingestJournal();
		const haystacks = await t.dump();
		if (t.kind === 'sqlite') expect(haystacks).toHaveLength(3);
		const forms = (v: string) => [
			v,
			Buffer.from(v).toString('base64'),
			Buffer.from(v).toString('hex'),
		];
		for (const value of canaries.flatMap((c) => [c, `${c}-staging`])) {
			for (const form of forms(value)) {
				for (const bytes of haystacks) expect(bytes.includes(Buffer.from(form))).toBe(false);
			}
		}
		for (const token of [t.admin.token, user.token]) {
			for (const bytes of haystacks) expect(bytes.includes(Buffer.from(token))).toBe(false);
		}
	});
});

describe('integrity', () => {
	beforeEach(async () => {
		await t.service.createSecret(t.admin, {
			name: 'a',
			environment: 'production',
			value: 'value-of-a',
		});
		await t.service.setValue(t.admin, {
			name: 'a',
			environment: 'production',
			value: 'value-of-a-v2',
		});
		await t.service.setValue(t.admin, {
			name: 'a',
			environment: 'staging',
			value: 'value-of-a-staging',
		});
		await t.service.createSecret(t.admin, {
			name: 'b',
			environment: 'production',
			value: 'value-of-b',
		});
	});

	it('refuses a ciphertext copied to another secret', async () => {
		await overwriteVersion(
			{ name: 'b', environment: 'production', version: 1 },
			await versionRow('a', 'production', 1),
		);
		await expect(
			t.service.use(t.admin, { name: 'b', environment: 'production' }),
		).rejects.toMatchObject({
			code: 'INTEGRITY_ERROR',
		});
	});

	it('refuses a ciphertext copied to another version of the same secret', async () => {
		await overwriteVersion(
			{ name: 'a', environment: 'production', version: 2 },
			await versionRow('a', 'production', 1),
		);
		await expect(
			t.service.use(t.admin, { name: 'a', environment: 'production' }),
		).rejects.toMatchObject({
			code: 'INTEGRITY_ERROR',
		});
	});

	it('refuses a ciphertext copied to another environment', async () => {
		await overwriteVersion(
			{ name: 'a', environment: 'staging', version: 1 },
			await versionRow('a', 'production', 1),
		);
		await expect(
			t.service.use(t.admin, { name: 'a', environment: 'staging' }),
		).rejects.toMatchObject({
			code: 'INTEGRITY_ERROR',
		});
	});

	it('refuses a flipped byte in the ciphertext or the MAC, without the value in the message', async () => {
		const row = await versionRow('b', 'production', 1);
		const flipped = Buffer.from(row.ciphertext);
		flipped[0] ^= 1;
		await overwriteVersion(
			{ name: 'b', environment: 'production', version: 1 },
			{ ...row, ciphertext: flipped },
		);
		const err = (await t.service
			.use(t.admin, { name: 'b', environment: 'production' })
			.catch((e: unknown) => e)) as Error;
		expect(err).toMatchObject({ code: 'INTEGRITY_ERROR' });
		expect(err.message).not.toContain('value-of-b');

		const mac = Buffer.from(row.mac);
		mac[5] ^= 0x80;
		await overwriteVersion({ name: 'b', environment: 'production', version: 1 }, { ...row, mac });
		await expect(
			t.service.use(t.admin, { name: 'b', environment: 'production' }),
		).rejects.toMatchObject({
			code: 'INTEGRITY_ERROR',
		});
		const failures = (await t.service.listAudit(t.admin, { outcome: 'failure' })).items;
		expect(failures.map((e) => e.reason)).toEqual(['INTEGRITY_ERROR', 'INTEGRITY_ERROR']);
	});
});

describe('master key', () => {
	it('refuses a wrong master key at open and changes nothing', async () => {
		await t.service.createSecret(t.admin, { name: 'a', environment: 'production', value: 'v' });
		await t.service.close();
		const before = await fingerprint();
		const err = (await SecretsService.open(t.driver(), newMasterKey()).catch(
			(e: unknown) => e,
		)) as Error;
		expect(err).toMatchObject({ code: 'WRONG_MASTER_KEY' });
		expect(err.message).toContain('nothing was changed');
		expect(await fingerprint()).toBe(before);
		await expect(SecretsService.init(t.driver(), newMasterKey())).rejects.toMatchObject({
			code: 'WRONG_MASTER_KEY',
		});
		expect(await fingerprint()).toBe(before);
	});

	it('says clearly when no key or a malformed key is given', () => {
		expect(() => keyProviderFromEnv({})).toThrow(
			expect.objectContaining({ code: 'MASTER_KEY_MISSING' }),
		);
		expect(() =>
			keyProviderFromEnv({ N8N_SECRETS_MASTER_KEY: 'a', N8N_SECRETS_PASSPHRASE: 'b'.repeat(20) }),
		).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
		// A key that is not a key is no usable key: MASTER_KEY_MISSING, like none at all.
		return expect(rawKeyProvider('c2hvcnQ=', 'test').open(null)).rejects.toMatchObject({
			code: 'MASTER_KEY_MISSING',
		});
	});

	it('opens a passphrase store with the same passphrase and refuses another', async () => {
		const empty = await t.emptyDriver();
		const init = await SecretsService.init(
			empty,
			passphraseKeyProvider('correct horse battery staple'),
		);
		await init.service.createSecret(
			{ token: init.token },
			{ name: 'p', environment: 'production', value: 'pv' },
		);
		await init.service.close();
		const again = await SecretsService.open(
			reopen(empty),
			passphraseKeyProvider('correct horse battery staple'),
		);
		expect(
			(await again.reveal({ token: init.token }, { name: 'p', environment: 'production' })).value,
		).toBe('pv');
		await again.close();
		await expect(
			SecretsService.open(reopen(empty), passphraseKeyProvider('wrong horse battery staple')),
		).rejects.toMatchObject({ code: 'WRONG_MASTER_KEY' });
	}, 30_000);

	it('rotates the master key: the old key is retired, the new one opens every value', async () => {
		const values = ['one', 'two', 'three'];
		for (const v of values)
			await t.service.createSecret(t.admin, {
				name: v,
				environment: 'production',
				value: `value-${v}`,
			});
		const next = rawKeyProvider(randomBytes(32).toString('base64'), 'new key');
		const r = await t.service.rotateMasterKey({ newKey: next });
		expect(r.rewrapped).toBe(1);
		await t.service.close();
		const err = (await SecretsService.open(t.driver(), t.key).catch((e: unknown) => e)) as Error;
		expect(err).toMatchObject({ code: 'WRONG_MASTER_KEY' });
		expect(err.message).toContain('retired');
		const reopened = await t.open({}, next);
		for (const v of values) {
			expect((await reopened.reveal(t.admin, { name: v, environment: 'production' })).value).toBe(
				`value-${v}`,
			);
		}
		expect((await reopened.listAudit(t.admin, { action: 'key.rotate' })).items).toHaveLength(1);
	});

	it('replaces the master key and re-encrypts in one call, in a freshly opened process', async () => {
		await t.service.createSecret(t.admin, {
			name: 'k',
			environment: 'production',
			value: 'fresh-value',
		});
		await t.service.close();
		// Nothing is cached in a new process: every data key is unwrapped from its row.
		const fresh = await t.open();
		const next = rawKeyProvider(randomBytes(32).toString('base64'), 'new key');
		const r = await fresh.rotateMasterKey({ newKey: next, reencrypt: true });
		expect(r).toEqual({ rewrapped: 1, reencrypted: 1 });
		await fresh.close();
		const reopened = await t.open({}, next);
		expect((await reopened.reveal(t.admin, { name: 'k', environment: 'production' })).value).toBe(
			'fresh-value',
		);
		expect((await reopened.verifyAudit(t.admin)).ok).toBe(true);
	});

	it('re-encrypts every value under a new data key, resumably after an interruption', async () => {
		for (let i = 0; i < 7; i++) {
			await t.service.createSecret(t.admin, {
				name: `s${i}`,
				environment: 'production',
				value: `value-${i}`,
			});
		}
		const user = await t.service.createToken(t.admin, { subject: 'runner', role: 'user' });
		const dekIds = async () =>
			((await t.sql('SELECT DISTINCT dek_id FROM versions')) as { dek_id: string }[]).map(
				(r) => r.dek_id,
			);
		const before = await dekIds();
		let batches = 0;
		await expect(
			t.service.rotateMasterKey({
				reencrypt: true,
				batchSize: 2,
				onProgress: (p) => {
					if (p.done > 0 && ++batches === 1)
						throw new Error('simulated crash after the first batch');
				},
			}),
		).rejects.toThrow('simulated crash');
		expect(await dekIds()).toHaveLength(2);

		const progress: { done: number; total: number }[] = [];
		const r = await t.service.rotateMasterKey({
			reencrypt: true,
			batchSize: 2,
			onProgress: (p) => progress.push(p),
		});
		expect(r.reencrypted).toBe(5);
		expect(progress[progress.length - 1]).toEqual({ tenant: 'default', done: 5, total: 5 });
		const after = await dekIds();
		expect(after).toHaveLength(1);
		expect(before).not.toContain(after[0]);
		for (let i = 0; i < 7; i++) {
			expect((await t.service.use(user, { name: `s${i}`, environment: 'production' })).value).toBe(
				`value-${i}`,
			);
		}
		expect(
			(await t.service.createToken(t.admin, { subject: 'later', role: 'user' })).token,
		).toBeTruthy();
		expect((await t.service.verifyAudit(t.admin)).ok).toBe(true);
		const reopened = await t.open();
		expect((await reopened.use(user, { name: 's3', environment: 'production' })).value).toBe(
			'value-3',
		);
	});
});

describe('schema', () => {
	it('refuses a store written by a newer release', async () => {
		await t.service.close();
		await t.sql("UPDATE meta SET value = '999' WHERE key = 'schema_version'");
		const err = (await SecretsService.open(t.driver(), t.key).catch((e: unknown) => e)) as Error;
		expect(err).toMatchObject({ code: 'SCHEMA_TOO_NEW' });
		expect(err.message).toContain('Upgrade');
	});

	it('refuses to open a store that was never initialized', async () => {
		await expect(SecretsService.open(await t.emptyDriver(), t.key)).rejects.toMatchObject({
			code: 'STORE_NOT_INITIALIZED',
		});
	});
});
