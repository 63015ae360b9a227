import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';

import { SecretsError, isCode } from '../../src/core/errors';
import type { VersionSelector } from '../../src/core/model';
import type { SecretsService } from '../../src/service/secrets-service';
import { createTestStore, type TestStore } from '../helpers/store';

let t: TestStore;
let svc: SecretsService;
let admin: { token: string };

beforeEach(async () => {
	t = await createTestStore();
	svc = t.service;
	admin = t.admin;
});

afterEach(() => t.cleanup());

const ENV = 'production';
const DAY_MS = 86_400_000;

/** Awaits a call that must fail and returns its SecretsError, so a test can read code and message. */
async function failure(call: Promise<unknown>): Promise<SecretsError> {
	try {
		await call;
	} catch (err) {
		expect(err).toBeInstanceOf(SecretsError);
		return err as SecretsError;
	}
	throw new Error('expected a SecretsError, the call succeeded');
}

async function valueOf(name: string, selector?: VersionSelector): Promise<string> {
	return (await svc.reveal(admin, { name, environment: ENV, selector })).value;
}

async function versionsOf(name: string, environment = ENV) {
	return svc.listVersions(admin, { name, environment });
}

async function auditOf(secret: string) {
	return (await svc.listAudit(admin, { secret, limit: 1000 })).items.reverse();
}

/** A real self-signed certificate from openssl, valid for 30 days from the moment it is made. */
function selfSignedCertificate(): { pem: string; notAfter: string } {
	const keyPath = join(t.dir, 'key.pem');
	const certPath = join(t.dir, 'cert.pem');
	execFileSync(
		'openssl',
		[
			'req',
			'-x509',
			'-newkey',
			'rsa:2048',
			'-nodes',
			'-days',
			'30',
			'-subj',
			'/CN=test',
			'-keyout',
			keyPath,
			'-out',
			certPath,
		],
		{ stdio: 'pipe' },
	);
	const endDate = execFileSync(
		'openssl',
		['x509', '-in', certPath, '-noout', '-enddate', '-dateopt', 'iso_8601'],
		{ encoding: 'utf8' },
	);
	// "notAfter=2026-12-23 23:20:33Z"
	const notAfter = new Date(
		endDate
			.trim()
			.replace(/^notAfter=/, '')
			.replace(' ', 'T'),
	);
	return { pem: readFileSync(certPath, 'utf8'), notAfter: notAfter.toISOString() };
}

describe('creating a secret', () => {
	it('creates a secret without a value: metadata only, nothing to use yet', async () => {
		const meta = await svc.createSecret(admin, {
			name: 'stripe-key',
			type: 'API_KEY',
			description: 'Stripe live key',
		});

		expect(meta).toMatchObject({ name: 'stripe-key', type: 'API_KEY', environments: [] });
		expect(await versionsOf('stripe-key')).toEqual([]);
		await expect(svc.use(admin, { name: 'stripe-key', environment: ENV })).rejects.toMatchObject({
			code: 'SECRET_NOT_FOUND',
		});
	});

	it('creates a secret with an initial value as version 1, current', async () => {
		const meta = await svc.createSecret(admin, {
			name: 'stripe-key',
			type: 'API_KEY',
			environment: ENV,
			value: 'sk_live_first',
		});

		expect(meta.environments).toEqual([
			expect.objectContaining({ environment: ENV, currentVersion: 1, latestVersion: 1 }),
		]);
		expect(await svc.use(admin, { name: 'stripe-key', environment: ENV })).toMatchObject({
			version: 1,
			value: 'sk_live_first',
			type: 'API_KEY',
		});
		expect((await versionsOf('stripe-key')).map((v) => [v.version, v.labels])).toEqual([
			[1, ['current']],
		]);
		expect(await auditOf('stripe-key')).toEqual([
			expect.objectContaining({ action: 'create', environment: ENV, version: 1 }),
			expect.objectContaining({ action: 'use', version: 1 }),
		]);
	});

	it.each(['', 'has space', 'a/b', 'dot.name', 'ünicode', 'x'.repeat(129)])(
		'refuses the name %j as invalid input',
		async (name) => {
			await expect(svc.createSecret(admin, { name, type: 'CUSTOM' })).rejects.toMatchObject({
				code: 'INVALID_INPUT',
			});
		},
	);

	it('accepts 128 letters, digits, "-" and "_"', async () => {
		const name = `A-b_9${'z'.repeat(123)}`;
		await expect(svc.createSecret(admin, { name, type: 'CUSTOM' })).resolves.toMatchObject({
			name,
		});
	});

	it('treats names as case-sensitive: Stripe-Key and stripe-key are two secrets', async () => {
		await svc.createSecret(admin, { name: 'stripe-key', environment: ENV, value: 'lower' });
		await svc.createSecret(admin, { name: 'Stripe-Key', environment: ENV, value: 'upper' });

		expect(await valueOf('stripe-key')).toBe('lower');
		expect(await valueOf('Stripe-Key')).toBe('upper');
		await expect(svc.use(admin, { name: 'STRIPE-KEY', environment: ENV })).rejects.toMatchObject({
			code: 'SECRET_NOT_FOUND',
		});
	});

	it('refuses a second secret of the same name and keeps the first one as it was', async () => {
		await svc.createSecret(admin, { name: 'stripe-key', environment: ENV, value: 'original' });

		await expect(
			svc.createSecret(admin, { name: 'stripe-key', environment: ENV, value: 'intruder' }),
		).rejects.toMatchObject({ code: 'SECRET_EXISTS' });
		expect(await valueOf('stripe-key')).toBe('original');
		expect(await versionsOf('stripe-key')).toHaveLength(1);
	});
});

describe('type checks', () => {
	it('takes a real PEM certificate and makes its notAfter the version expiry', async () => {
		const cert = selfSignedCertificate();
		// The certificate is valid from the moment openssl made it: run the store's clock from there.
		t.clock.ms = Date.now();

		await svc.createSecret(admin, {
			name: 'tls-cert',
			type: 'CERTIFICATE',
			environment: ENV,
			value: cert.pem,
		});

		const [v1] = await versionsOf('tls-cert');
		expect(v1.expiresAt).toBe(cert.notAfter);
		const used = await svc.use(admin, { name: 'tls-cert', environment: ENV });
		expect(used.value).toBe(cert.pem);
		expect(used.expiresAt).toBe(cert.notAfter);

		t.clock.ms = Date.parse(cert.notAfter) + 1000;
		await expect(svc.use(admin, { name: 'tls-cert', environment: ENV })).rejects.toMatchObject({
			code: 'SECRET_EXPIRED',
		});
	});

	it('refuses a CERTIFICATE that is not PEM, without echoing the value', async () => {
		const value = 'MIIBszCCAVmgAwIBAgIUnotapem';
		const err = await failure(
			svc.createSecret(admin, { name: 'tls-cert', type: 'CERTIFICATE', environment: ENV, value }),
		);

		expect(err.code).toBe('INVALID_INPUT');
		expect(err.message).toMatch(/PEM/);
		expect(err.message).not.toContain(value);
		await expect(svc.getSecret(admin, 'tls-cert')).rejects.toMatchObject({
			code: 'SECRET_NOT_FOUND',
		});
	});

	it.each([
		['a connection string', 'postgres://app:hunter2-db-pass@db/main'],
		['a JSON array', '["hunter2-db-pass"]'],
		['a JSON string', '"hunter2-db-pass"'],
	])('refuses %s as a DATABASE_CREDENTIAL, without echoing it', async (_what, value) => {
		const err = await failure(
			svc.createSecret(admin, {
				name: 'db-main',
				type: 'DATABASE_CREDENTIAL',
				environment: ENV,
				value,
			}),
		);

		expect(err.code).toBe('INVALID_INPUT');
		expect(err.message).not.toContain('hunter2-db-pass');
	});

	it('takes a DATABASE_CREDENTIAL that is a JSON object', async () => {
		const value = JSON.stringify({ user: 'app', password: 'hunter2', host: 'db' });
		await svc.createSecret(admin, {
			name: 'db-main',
			type: 'DATABASE_CREDENTIAL',
			environment: ENV,
			value,
		});

		expect(JSON.parse(await valueOf('db-main'))).toEqual({
			user: 'app',
			password: 'hunter2',
			host: 'db',
		});
	});

	it.each([
		['a space', 'sk_live_abc def'],
		['a trailing line break', 'sk_live_abcdef\n'],
		['a tab', 'sk_live_abc\tdef'],
	])('refuses an API_KEY with %s, without echoing it', async (_what, value) => {
		await svc.createSecret(admin, {
			name: 'stripe-key',
			type: 'API_KEY',
			environment: ENV,
			value: 'sk_live_good',
		});

		const err = await failure(svc.setValue(admin, { name: 'stripe-key', environment: ENV, value }));

		expect(err.code).toBe('INVALID_INPUT');
		expect(err.message).not.toContain(value.trim());
		expect(err.message).not.toContain('sk_live_abc');
		expect(await versionsOf('stripe-key')).toHaveLength(1);
		expect(await valueOf('stripe-key')).toBe('sk_live_good');
	});
});

describe('setting values', () => {
	it('makes each new value current and the old current previous, numbering versions 1..n', async () => {
		await svc.createSecret(admin, { name: 'api', environment: ENV, value: 'one' });
		const v2 = await svc.setValue(admin, { name: 'api', environment: ENV, value: 'two' });
		const v3 = await svc.setValue(admin, { name: 'api', environment: ENV, value: 'three' });

		expect(v2).toMatchObject({ version: 2, labels: ['current'] });
		expect(v3).toMatchObject({ version: 3, labels: ['current'] });
		expect((await versionsOf('api')).map((v) => [v.version, v.labels])).toEqual([
			[3, ['current']],
			[2, ['previous']],
			[1, []],
		]);
		expect(await valueOf('api')).toBe('three');
		expect(await valueOf('api', { label: 'previous' })).toBe('two');
		expect(await valueOf('api', { version: 1 })).toBe('one');
		expect(JSON.stringify([v2, v3])).not.toMatch(/two|three/);
	});
});

describe('stage and promote', () => {
	it('serves a staged value only when pinned to pending, until it is promoted', async () => {
		await svc.createSecret(admin, { name: 'api', environment: ENV, value: 'old-key' });

		const staged = await svc.stage(admin, { name: 'api', environment: ENV, value: 'new-key' });
		expect(staged).toMatchObject({ version: 2, labels: ['pending'] });
		expect(await valueOf('api')).toBe('old-key');
		expect(await valueOf('api', { label: 'pending' })).toBe('new-key');
		expect((await versionsOf('api')).map((v) => [v.version, v.labels])).toEqual([
			[2, ['pending']],
			[1, ['current']],
		]);

		const promoted = await svc.promote(admin, { name: 'api', environment: ENV });
		expect(promoted).toMatchObject({ version: 2, labels: ['current'] });
		expect(await valueOf('api')).toBe('new-key');
		expect(await valueOf('api', { label: 'previous' })).toBe('old-key');
		await expect(
			svc.use(admin, { name: 'api', environment: ENV, selector: { label: 'pending' } }),
		).rejects.toMatchObject({ code: 'VERSION_NOT_FOUND' });
		expect((await versionsOf('api')).map((v) => [v.version, v.labels])).toEqual([
			[2, ['current']],
			[1, ['previous']],
		]);
		expect((await auditOf('api')).map((e) => e.action)).toEqual(
			expect.arrayContaining(['create', 'stage', 'promote']),
		);
	});

	it('refuses to promote when nothing is staged', async () => {
		await svc.createSecret(admin, { name: 'api', environment: ENV, value: 'only' });

		await expect(svc.promote(admin, { name: 'api', environment: ENV })).rejects.toMatchObject({
			code: 'NO_PENDING_VERSION',
		});
		await expect(svc.promote(admin, { name: 'api', environment: 'staging' })).rejects.toMatchObject(
			{ code: 'NO_PENDING_VERSION' },
		);
		expect(await valueOf('api')).toBe('only');
	});
});

describe('rollback', () => {
	it('restores the good value after a bad rotation', async () => {
		await svc.createSecret(admin, { name: 'api', environment: ENV, value: 'good-key' });
		await svc.rotate(admin, { name: 'api', environment: ENV, value: 'bad-key' });
		expect(await valueOf('api')).toBe('bad-key');

		const back = await svc.rollback(admin, { name: 'api', environment: ENV, reason: 'bad key' });

		expect(back).toMatchObject({ version: 1, labels: ['current'] });
		expect((await svc.use(admin, { name: 'api', environment: ENV })).value).toBe('good-key');
		expect((await versionsOf('api')).map((v) => [v.version, v.labels])).toEqual([
			[2, []],
			[1, ['current']],
		]);
		expect(await valueOf('api', { version: 2 })).toBe('bad-key');
		await expect(svc.rollback(admin, { name: 'api', environment: ENV })).rejects.toMatchObject({
			code: 'NO_PREVIOUS_VERSION',
		});
		expect(await valueOf('api')).toBe('good-key');
		expect(await auditOf('api')).toEqual(
			expect.arrayContaining([
				expect.objectContaining({ action: 'rollback', outcome: 'success', version: 1 }),
				expect.objectContaining({ action: 'rollback', outcome: 'failure' }),
			]),
		);
	});
});

describe('rotate', () => {
	it('generates a fresh value of the requested shape', async () => {
		await svc.createSecret(admin, { name: 'webhook', environment: ENV, value: 'a'.repeat(40) });

		const rotated = await svc.rotate(admin, {
			name: 'webhook',
			environment: ENV,
			generate: { length: 40, alphabet: 'hex' },
		});

		expect(rotated).toMatchObject({ version: 2, labels: ['current'] });
		const fresh = await valueOf('webhook');
		expect(fresh).toMatch(/^[0-9a-f]{40}$/);
		expect(fresh).not.toBe('a'.repeat(40));
		expect(JSON.stringify(rotated)).not.toContain(fresh);
		expect(await valueOf('webhook', { label: 'previous' })).toBe('a'.repeat(40));
	});
});

describe('check-and-set', () => {
	it('writes with the latest expectedVersion and refuses a stale one without writing', async () => {
		await svc.createSecret(admin, { name: 'api', environment: ENV, value: 'v1' });
		await svc.setValue(admin, { name: 'api', environment: ENV, value: 'v2', expectedVersion: 1 });

		const err = await failure(
			svc.setValue(admin, { name: 'api', environment: ENV, value: 'stale', expectedVersion: 1 }),
		);

		expect(err.code).toBe('VERSION_CONFLICT');
		expect(err.details).toMatchObject({ expectedVersion: 1, latestVersion: 2 });
		expect(err.message).not.toContain('stale');
		expect((await versionsOf('api')).map((v) => v.version)).toEqual([2, 1]);
		expect(await valueOf('api')).toBe('v2');
	});

	it('lets exactly one of two simultaneous writers win', async () => {
		await svc.createSecret(admin, {
			name: 'api',
			environment: ENV,
			value: 'v1',
			maxVersions: 100,
		});
		const a = await t.open();
		const b = await t.open();
		const latestA = (await a.listVersions(admin, { name: 'api', environment: ENV }))[0].version;
		const latestB = (await b.listVersions(admin, { name: 'api', environment: ENV }))[0].version;
		expect([latestA, latestB]).toEqual([1, 1]);

		const outcomes = await Promise.allSettled([
			a.setValue(admin, { name: 'api', environment: ENV, value: 'from-a', expectedVersion: 1 }),
			b.setValue(admin, { name: 'api', environment: ENV, value: 'from-b', expectedVersion: 1 }),
		]);

		const won = outcomes.filter((o) => o.status === 'fulfilled');
		const lost = outcomes.filter((o) => o.status === 'rejected');
		expect(won).toHaveLength(1);
		expect(lost).toHaveLength(1);
		expect((lost[0] as PromiseRejectedResult).reason).toMatchObject({ code: 'VERSION_CONFLICT' });
		const versions = await versionsOf('api');
		expect(versions.map((v) => v.version)).toEqual([2, 1]);
		const winner = outcomes[0].status === 'fulfilled' ? 'from-a' : 'from-b';
		expect(await valueOf('api')).toBe(winner);
	});

	it('loses no write when two services retry their conflicts on the same file', async () => {
		await svc.createSecret(admin, {
			name: 'api',
			environment: ENV,
			value: 'initial',
			maxVersions: 100,
		});
		const writers = { a: await t.open(), b: await t.open() };
		const perWriter = 20;
		let conflicts = 0;

		const writeAll = async (who: 'a' | 'b'): Promise<void> => {
			const s = writers[who];
			for (let i = 0; i < perWriter; i++) {
				for (;;) {
					const [latest] = await s.listVersions(admin, { name: 'api', environment: ENV });
					// A real client does something between reading and writing; without this pause one
					// writer's chain of promises would run to its end before the other got a turn.
					await nextTurn();
					try {
						await s.setValue(admin, {
							name: 'api',
							environment: ENV,
							value: `${who}-${i}`,
							expectedVersion: latest.version,
						});
						break;
					} catch (err) {
						if (!isCode(err, 'VERSION_CONFLICT')) throw err;
						conflicts++;
					}
				}
			}
		};
		await Promise.all([writeAll('a'), writeAll('b')]);

		// The writers did collide, and every collision was refused and audited, not overwritten.
		expect(conflicts).toBeGreaterThan(0);
		const refused = (await svc.listAudit(admin, { secret: 'api', outcome: 'failure', limit: 1000 }))
			.items;
		expect(refused).toHaveLength(conflicts);
		expect(refused.every((e) => e.reason === 'VERSION_CONFLICT')).toBe(true);

		const versions = await versionsOf('api');
		expect(versions.map((v) => v.version)).toEqual(
			Array.from({ length: 2 * perWriter + 1 }, (_, k) => 2 * perWriter + 1 - k),
		);
		const values: string[] = [];
		for (let n = 2; n <= 2 * perWriter + 1; n++) values.push(await valueOf('api', { version: n }));
		const expected = ['a', 'b'].flatMap((who) =>
			Array.from({ length: perWriter }, (_, i) => `${who}-${i}`),
		);
		expect([...values].sort()).toEqual([...expected].sort());
		expect(new Set(values).size).toBe(2 * perWriter);
		// Each writer's own values land in the order it wrote them.
		for (const who of ['a', 'b']) {
			expect(values.filter((v) => v.startsWith(`${who}-`))).toEqual(
				Array.from({ length: perWriter }, (_, i) => `${who}-${i}`),
			);
		}
		expect(await svc.verifyAudit(admin)).toMatchObject({ ok: true });
	});
});

describe('retention', () => {
	it('destroys the oldest unlabeled versions beyond maxVersions, keeping current and previous', async () => {
		await svc.createSecret(admin, {
			name: 'api',
			environment: ENV,
			value: 'value-1',
			maxVersions: 3,
		});
		for (let n = 2; n <= 6; n++)
			await svc.setValue(admin, { name: 'api', environment: ENV, value: `value-${n}` });

		const versions = await versionsOf('api');
		expect(versions.map((v) => [v.version, v.labels, v.destroyedAt !== null])).toEqual([
			[6, ['current'], false],
			[5, ['previous'], false],
			[4, [], false],
			[3, [], true],
			[2, [], true],
			[1, [], true],
		]);
		for (const n of [1, 2, 3]) {
			await expect(
				svc.use(admin, { name: 'api', environment: ENV, selector: { version: n } }),
			).rejects.toMatchObject({ code: 'VERSION_DESTROYED' });
		}
		expect(await valueOf('api', { version: 4 })).toBe('value-4');
		expect(await valueOf('api', { label: 'previous' })).toBe('value-5');
		expect(await valueOf('api')).toBe('value-6');

		// Destroyed means erased on disk, not just hidden: the ciphertext column is empty.
		const rows = (await t.sql(
			'SELECT version, CASE WHEN ciphertext IS NULL THEN 1 ELSE 0 END AS erased FROM versions WHERE environment = ? ORDER BY version',
			ENV,
		)) as { version: number; erased: number }[];
		expect(rows.map((r) => [Number(r.version), Number(r.erased)])).toEqual([
			[1, 1],
			[2, 1],
			[3, 1],
			[4, 0],
			[5, 0],
			[6, 0],
		]);
	});

	it('lets previous expire after its window, and maintenance destroys it', async () => {
		await svc.createSecret(admin, {
			name: 'api',
			environment: ENV,
			value: 'old-key',
			previousWindowDays: 7,
		});
		await svc.setValue(admin, { name: 'api', environment: ENV, value: 'new-key' });

		t.clock.advanceDays(6);
		expect(await valueOf('api', { label: 'previous' })).toBe('old-key');

		t.clock.advanceDays(2);
		await expect(svc.rollback(admin, { name: 'api', environment: ENV })).rejects.toMatchObject({
			code: 'NO_PREVIOUS_VERSION',
		});
		await expect(
			svc.use(admin, { name: 'api', environment: ENV, selector: { label: 'previous' } }),
		).rejects.toMatchObject({ code: 'VERSION_NOT_FOUND' });
		expect(await valueOf('api')).toBe('new-key');

		const result = await svc.maintenance(admin);

		expect(result.retentionApplied).toBe(1);
		expect((await versionsOf('api')).map((v) => [v.version, v.labels, v.destroyedAt])).toEqual([
			[2, ['current'], null],
			[1, [], t.clock.now().toISOString()],
		]);
		await expect(
			svc.use(admin, { name: 'api', environment: ENV, selector: { version: 1 } }),
		).rejects.toMatchObject({ code: 'VERSION_DESTROYED' });
		expect(await valueOf('api')).toBe('new-key');
	});
});

describe('validity window', () => {
	it('refuses a version whose expiresAt has passed, without echoing the value', async () => {
		const value = 'sk_live_expired_value';
		await svc.createSecret(admin, {
			name: 'api',
			environment: ENV,
			value,
			expiresAt: new Date(t.clock.ms - DAY_MS).toISOString(),
		});

		const err = await failure(svc.use(admin, { name: 'api', environment: ENV }));

		expect(err.code).toBe('SECRET_EXPIRED');
		expect(err.message).not.toContain(value);
		await expect(svc.reveal(admin, { name: 'api', environment: ENV })).rejects.toMatchObject({
			code: 'SECRET_EXPIRED',
		});
	});

	it('stops serving a value once the clock passes its expiresAt', async () => {
		await svc.createSecret(admin, {
			name: 'api',
			environment: ENV,
			value: 'short-lived',
			expiresAt: new Date(t.clock.ms + 2 * DAY_MS).toISOString(),
		});
		expect(await valueOf('api')).toBe('short-lived');

		t.clock.advanceDays(3);

		await expect(svc.use(admin, { name: 'api', environment: ENV })).rejects.toMatchObject({
			code: 'SECRET_EXPIRED',
		});
	});

	it('refuses a version before its notBefore, and serves it once the clock passes it', async () => {
		await svc.createSecret(admin, {
			name: 'api',
			environment: ENV,
			value: 'future-key',
			notBefore: new Date(t.clock.ms + 2 * DAY_MS).toISOString(),
		});

		const err = await failure(svc.use(admin, { name: 'api', environment: ENV }));
		expect(err.code).toBe('SECRET_NOT_YET_VALID');
		expect(err.message).not.toContain('future-key');

		t.clock.advanceDays(3);
		expect((await svc.use(admin, { name: 'api', environment: ENV })).value).toBe('future-key');
	});
});

describe('soft delete', () => {
	it('hides a deleted secret and refuses to use it, until it is restored with its values', async () => {
		await svc.createSecret(admin, { name: 'api', environment: ENV, value: 'v1' });
		await svc.setValue(admin, { name: 'api', environment: ENV, value: 'v2' });

		const deleted = await svc.deleteSecret(admin, 'api', 'no longer used');
		expect(deleted.deletedAt).toBe(t.clock.now().toISOString());

		await expect(svc.use(admin, { name: 'api', environment: ENV })).rejects.toMatchObject({
			code: 'SECRET_DELETED',
		});
		expect((await svc.listSecrets(admin)).items.map((s) => s.name)).toEqual([]);
		expect((await svc.listSecrets(admin, { includeDeleted: true })).items).toEqual([
			expect.objectContaining({ name: 'api', deletedAt: deleted.deletedAt }),
		]);
		await expect(
			svc.createSecret(admin, { name: 'api', environment: ENV, value: 'replacement' }),
		).rejects.toMatchObject({ code: 'SECRET_DELETED' });

		const restored = await svc.restoreSecret(admin, 'api');

		expect(restored.deletedAt).toBeNull();
		expect(await valueOf('api')).toBe('v2');
		expect(await valueOf('api', { label: 'previous' })).toBe('v1');
		expect((await svc.listSecrets(admin)).items.map((s) => s.name)).toEqual(['api']);
		await expect(svc.restoreSecret(admin, 'api')).rejects.toMatchObject({
			code: 'SECRET_NOT_DELETED',
		});
		expect((await auditOf('api')).map((e) => e.action)).toEqual(
			expect.arrayContaining(['delete', 'restore']),
		);
	});

	it('purges only a deleted secret, and then frees its name', async () => {
		await svc.createSecret(admin, { name: 'api', environment: ENV, value: 'old-1' });
		await svc.setValue(admin, { name: 'api', environment: ENV, value: 'old-2' });

		await expect(svc.purgeSecret(admin, 'api')).rejects.toMatchObject({
			code: 'SECRET_NOT_DELETED',
		});
		expect(await valueOf('api')).toBe('old-2');

		await svc.deleteSecret(admin, 'api');
		await svc.purgeSecret(admin, 'api');

		await expect(svc.getSecret(admin, 'api')).rejects.toMatchObject({
			code: 'SECRET_NOT_FOUND',
		});
		await expect(svc.restoreSecret(admin, 'api')).rejects.toMatchObject({
			code: 'SECRET_NOT_FOUND',
		});
		await svc.createSecret(admin, { name: 'api', environment: ENV, value: 'fresh' });
		expect((await versionsOf('api')).map((v) => v.version)).toEqual([1]);
		expect(await valueOf('api')).toBe('fresh');
		await expect(
			svc.use(admin, { name: 'api', environment: ENV, selector: { version: 2 } }),
		).rejects.toMatchObject({ code: 'VERSION_NOT_FOUND' });
		expect((await auditOf('api')).map((e) => e.action)).toEqual(
			expect.arrayContaining(['delete', 'purge', 'create']),
		);
	});

	it('is purged by maintenance once the recovery window has passed', async () => {
		await svc.createSecret(admin, { name: 'api', environment: ENV, value: 'v1' });
		await svc.createSecret(admin, { name: 'kept', environment: ENV, value: 'k1' });
		await svc.deleteSecret(admin, 'api');

		t.clock.advanceDays(29);
		expect((await svc.maintenance(admin)).purged).toEqual([]);

		t.clock.advanceDays(2);
		expect((await svc.maintenance(admin)).purged).toEqual(['api']);

		await expect(svc.restoreSecret(admin, 'api')).rejects.toMatchObject({
			code: 'SECRET_NOT_FOUND',
		});
		expect(await valueOf('kept')).toBe('k1');
		const purges = (await svc.listAudit(admin, { action: 'purge' })).items;
		expect(purges).toEqual([
			expect.objectContaining({
				secret: 'api',
				outcome: 'success',
				reason: expect.stringContaining('recovery window'),
			}),
		]);
		expect(await svc.verifyAudit(admin)).toMatchObject({ ok: true });
	});
});

describe('updating metadata', () => {
	it('changes tags, description and allowed hosts, and audits it as update', async () => {
		await svc.createSecret(admin, {
			name: 'stripe-key',
			type: 'API_KEY',
			environment: ENV,
			value: 'sk_live_x',
			tags: ['payments'],
			description: 'old',
		});

		const updated = await svc.updateSecret(admin, {
			name: 'stripe-key',
			description: 'Stripe live key, owned by billing',
			tags: ['payments', 'team:billing'],
			allowedHosts: ['api.stripe.com'],
		});

		expect(updated).toMatchObject({
			description: 'Stripe live key, owned by billing',
			tags: ['payments', 'team:billing'],
			allowedHosts: ['api.stripe.com'],
		});
		expect(await svc.getSecret(admin, 'stripe-key')).toMatchObject({
			description: 'Stripe live key, owned by billing',
			tags: ['payments', 'team:billing'],
			allowedHosts: ['api.stripe.com'],
		});
		expect(
			(await svc.listSecrets(admin, { tag: 'team:billing' })).items.map((s) => s.name),
		).toEqual(['stripe-key']);
		// The binding takes effect at once: the key now goes to Stripe only.
		await expect(
			svc.use(admin, { name: 'stripe-key', environment: ENV, destinationHost: 'evil.example.com' }),
		).rejects.toMatchObject({ code: 'DESTINATION_NOT_ALLOWED' });
		expect(
			(
				await svc.use(admin, {
					name: 'stripe-key',
					environment: ENV,
					destinationHost: 'api.stripe.com',
				})
			).value,
		).toBe('sk_live_x');

		const updates = (await svc.listAudit(admin, { secret: 'stripe-key', action: 'update' })).items;
		expect(updates).toEqual([
			expect.objectContaining({
				outcome: 'success',
				reason: 'metadata: description, tags, allowedHosts',
			}),
		]);
		expect(await versionsOf('stripe-key')).toHaveLength(1);
	});
});
