/**
 * Rotation policies mean what they say (src/core/rotation.ts): AUTOMATIC needs an interval and is
 * due for the rotation workflow; MANUAL may have one and is then due as a reminder; ON_DEMAND has
 * none and is never due; an interval without a policy is refused. Through the service on both stores,
 * and through the CLI as a user runs it.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DatabaseSync } from 'node:sqlite';

import { Client } from 'pg';

import type { RotationPolicy } from '../../src/core/model';
import type { CreateSecretInput } from '../../src/core/schemas';
import { rawKeyProvider } from '../../src/crypto/master-key';
import { SecretsService } from '../../src/service/secrets-service';
import { PostgresDriver } from '../../src/store/postgres/postgres-driver';
import type { SqlDriver } from '../../src/store/sql';
import { SqliteDriver } from '../../src/store/sqlite/sqlite-driver';
import {
	STORE_KIND,
	TEST_DATABASE_URL,
	TestClock,
	createTestStore,
	pgSql,
	type TestStore,
} from '../helpers/store';

const DAY_MS = 86_400_000;
const CLI = resolve(__dirname, '..', '..', 'dist', 'src', 'cli', 'main.js');

let t: TestStore;

beforeEach(async () => {
	t = await createTestStore();
});

afterEach(() => t.cleanup());

const iso = (ms: number) => new Date(ms).toISOString();

async function create(input: Partial<CreateSecretInput> & { name: string }) {
	return t.service.createSecret(t.admin, {
		environment: 'production',
		value: `value-of-${input.name}`,
		...input,
	});
}

async function rejection(p: Promise<unknown>): Promise<{ code: string; message: string }> {
	try {
		await p;
	} catch (err) {
		return err as { code: string; message: string };
	}
	throw new Error('expected the call to be refused');
}

describe('creating a secret with a rotation policy', () => {
	const accepted: [
		RotationPolicy | undefined,
		number | undefined,
		RotationPolicy,
		number | null,
	][] = [
		['AUTOMATIC', 30, 'AUTOMATIC', 30],
		['MANUAL', 30, 'MANUAL', 30],
		['MANUAL', undefined, 'MANUAL', null],
		['ON_DEMAND', undefined, 'ON_DEMAND', null],
		[undefined, undefined, 'MANUAL', null],
	];

	it.each(accepted)(
		'accepts policy %s with interval %s as %s every %s',
		async (policy, interval, storedPolicy, storedInterval) => {
			const created = await create({
				name: 'k',
				rotationPolicy: policy,
				rotationIntervalDays: interval,
			});
			expect(created).toMatchObject({
				rotationPolicy: storedPolicy,
				rotationIntervalDays: storedInterval,
			});
			expect(await t.service.getSecret(t.admin, 'k')).toMatchObject({
				rotationPolicy: storedPolicy,
				rotationIntervalDays: storedInterval,
			});
		},
	);

	const refused: [string, Partial<CreateSecretInput>, RegExp][] = [
		[
			'AUTOMATIC without an interval',
			{ rotationPolicy: 'AUTOMATIC' },
			/AUTOMATIC rotation needs an interval\. Give rotationIntervalDays/,
		],
		[
			'AUTOMATIC with a null interval',
			{ rotationPolicy: 'AUTOMATIC', rotationIntervalDays: null },
			/AUTOMATIC rotation needs an interval/,
		],
		[
			'ON_DEMAND with an interval',
			{ rotationPolicy: 'ON_DEMAND', rotationIntervalDays: 30 },
			/ON_DEMAND secrets are rotated only when someone asks, so they take no interval/,
		],
		[
			'an interval without a policy',
			{ rotationIntervalDays: 30 },
			/a rotation interval needs a rotation policy that says who rotates\. Add rotationPolicy.*AUTOMATIC.*MANUAL/,
		],
	];

	it.each(refused)('refuses %s with INVALID_INPUT, and creates nothing', async (_, input, msg) => {
		const err = await rejection(create({ name: 'k', ...input }));
		expect(err.code).toBe('INVALID_INPUT');
		expect(err.message).toMatch(msg);
		expect(err.message).not.toContain('value-of-k');
		await expect(t.service.getSecret(t.admin, 'k')).rejects.toMatchObject({
			code: 'SECRET_NOT_FOUND',
		});
	});
});

describe('due, per policy', () => {
	// Every policy with and without an interval, written at the start.
	beforeEach(async () => {
		await create({ name: 'auto-30', rotationPolicy: 'AUTOMATIC', rotationIntervalDays: 30 });
		await create({ name: 'manual-30', rotationPolicy: 'MANUAL', rotationIntervalDays: 30 });
		await create({ name: 'manual', rotationPolicy: 'MANUAL' });
		await create({ name: 'on-demand', rotationPolicy: 'ON_DEMAND' });
	});

	const names = async (rotationPolicy?: RotationPolicy) =>
		(await t.service.dueForRotation(t.admin, { rotationPolicy })).map(
			(d) => `${d.name}:${d.action}`,
		);

	it('is nothing before the interval, then AUTOMATIC to rotate and MANUAL as a reminder', async () => {
		const start = t.clock.ms;
		t.clock.advanceDays(30);
		t.clock.ms -= 1;
		expect(await names()).toEqual([]);
		t.clock.ms += 1;
		expect(await t.service.dueForRotation(t.admin)).toEqual([
			{
				name: 'auto-30',
				type: 'CUSTOM',
				environment: 'production',
				rotationPolicy: 'AUTOMATIC',
				action: 'rotate',
				rotationIntervalDays: 30,
				currentSince: iso(start),
				dueAt: iso(start + 30 * DAY_MS),
				overdueDays: 0,
			},
			{
				name: 'manual-30',
				type: 'CUSTOM',
				environment: 'production',
				rotationPolicy: 'MANUAL',
				action: 'remind',
				rotationIntervalDays: 30,
				currentSince: iso(start),
				dueAt: iso(start + 30 * DAY_MS),
				overdueDays: 0,
			},
		]);
		// Two months later, MANUAL without an interval and ON_DEMAND are still never due.
		t.clock.advanceDays(59);
		expect(await names()).toEqual(['auto-30:rotate', 'manual-30:remind']);
	});

	it('filters by policy: AUTOMATIC is what a rotation job rotates, MANUAL the reminders', async () => {
		t.clock.advanceDays(31);
		expect(await names('AUTOMATIC')).toEqual(['auto-30:rotate']);
		expect(await names('MANUAL')).toEqual(['manual-30:remind']);
		expect(await names('ON_DEMAND')).toEqual([]);
	});

	it('a reminder stays until a person rotates; a rotation clears the AUTOMATIC one', async () => {
		t.clock.advanceDays(31);
		await t.service.rotate(t.admin, {
			name: 'auto-30',
			environment: 'production',
			generate: { length: 32, alphabet: 'alphanumeric' },
		});
		expect(await names()).toEqual(['manual-30:remind']);
		await t.service.setValue(t.admin, {
			name: 'manual-30',
			environment: 'production',
			value: 'rotated by hand',
		});
		expect(await names()).toEqual([]);
	});

	it('counts rotations and reminders apart in stats', async () => {
		t.clock.advanceDays(31);
		expect(await t.service.stats(t.admin)).toMatchObject({ dueForRotation: 1, remindersDue: 1 });
	});
});

describe('nextRotationAt', () => {
	it('is when the current value falls due: per environment line, and the earliest for the secret', async () => {
		const start = t.clock.ms;
		await create({ name: 'k', rotationPolicy: 'AUTOMATIC', rotationIntervalDays: 30 });
		t.clock.advanceDays(10);
		await t.service.setValue(t.admin, { name: 'k', environment: 'staging', value: 's' });
		const meta = await t.service.getSecret(t.admin, 'k');
		expect(meta.nextRotationAt).toBe(iso(start + 30 * DAY_MS));
		expect(
			meta.environments.map((l) => [l.environment, l.currentCreatedAt, l.nextRotationAt]),
		).toEqual([
			['production', iso(start), iso(start + 30 * DAY_MS)],
			['staging', iso(start + 10 * DAY_MS), iso(start + 40 * DAY_MS)],
		]);

		// Rotating production moves the secret's next rotation to staging's.
		await t.service.rotate(t.admin, {
			name: 'k',
			environment: 'production',
			generate: { length: 32, alphabet: 'alphanumeric' },
		});
		expect((await t.service.getSecret(t.admin, 'k')).nextRotationAt).toBe(iso(start + 40 * DAY_MS));

		// A token limited to production sees production's line, and the next rotation there.
		const { token } = await t.service.createToken(t.admin, {
			subject: 'prod-viewer',
			role: 'viewer',
			environments: ['production'],
			ttl: '30d',
		});
		expect((await t.service.getSecret({ token }, 'k')).nextRotationAt).toBe(
			iso(start + 40 * DAY_MS),
		);
		t.clock.advanceDays(1);
		await t.service.rotate(t.admin, {
			name: 'k',
			environment: 'production',
			generate: { length: 32, alphabet: 'alphanumeric' },
		});
		expect((await t.service.getSecret({ token }, 'k')).nextRotationAt).toBe(
			iso(start + 41 * DAY_MS),
		);
		expect((await t.service.getSecret(t.admin, 'k')).nextRotationAt).toBe(iso(start + 40 * DAY_MS));
	});

	it('is the reminder time for MANUAL, and null for ON_DEMAND, no interval or no current value', async () => {
		const start = t.clock.ms;
		await create({ name: 'manual-7', rotationPolicy: 'MANUAL', rotationIntervalDays: 7 });
		await create({ name: 'manual', rotationPolicy: 'MANUAL' });
		await create({ name: 'on-demand', rotationPolicy: 'ON_DEMAND' });
		await t.service.createSecret(t.admin, {
			name: 'empty',
			rotationPolicy: 'AUTOMATIC',
			rotationIntervalDays: 7,
		});
		await t.service.createSecret(t.admin, {
			name: 'staged-only',
			rotationPolicy: 'AUTOMATIC',
			rotationIntervalDays: 7,
		});
		await t.service.stage(t.admin, {
			name: 'staged-only',
			environment: 'production',
			value: 'pending',
		});
		const next = async (name: string) => (await t.service.getSecret(t.admin, name)).nextRotationAt;
		expect(await next('manual-7')).toBe(iso(start + 7 * DAY_MS));
		expect(await next('manual')).toBeNull();
		expect(await next('on-demand')).toBeNull();
		expect(await next('empty')).toBeNull();
		expect(await next('staged-only')).toBeNull();
		const staged = await t.service.getSecret(t.admin, 'staged-only');
		expect(staged.environments[0]).toMatchObject({ currentCreatedAt: null, nextRotationAt: null });
	});

	it('is the same time `due` reports, in the past when overdue, and in every listing', async () => {
		await create({ name: 'k', rotationPolicy: 'AUTOMATIC', rotationIntervalDays: 3 });
		t.clock.advanceDays(5);
		const [due] = await t.service.dueForRotation(t.admin);
		const meta = await t.service.getSecret(t.admin, 'k');
		expect(meta.nextRotationAt).toBe(due.dueAt);
		expect(Date.parse(meta.nextRotationAt!)).toBeLessThan(t.clock.ms);
		const listed = (await t.service.listSecrets(t.admin, {})).items.find((s) => s.name === 'k')!;
		expect(listed.nextRotationAt).toBe(due.dueAt);
		expect(listed.environments).toEqual(meta.environments);
	});

	it('counts from when the value was written: a rollback to an old value leaves it due', async () => {
		const start = t.clock.ms;
		await create({ name: 'k', rotationPolicy: 'AUTOMATIC', rotationIntervalDays: 30 });
		t.clock.advanceDays(31);
		await t.service.rotate(t.admin, {
			name: 'k',
			environment: 'production',
			generate: { length: 32, alphabet: 'alphanumeric' },
		});
		await t.service.rollback(t.admin, { name: 'k', environment: 'production' });
		const meta = await t.service.getSecret(t.admin, 'k');
		expect(meta.environments[0]).toMatchObject({
			currentVersion: 1,
			currentSince: iso(t.clock.ms),
			currentCreatedAt: iso(start),
			nextRotationAt: iso(start + 30 * DAY_MS),
		});
		expect((await t.service.dueForRotation(t.admin)).map((d) => d.name)).toEqual(['k']);
	});

	it('follows a change of the interval or the policy at once', async () => {
		const start = t.clock.ms;
		await create({ name: 'k', rotationPolicy: 'AUTOMATIC', rotationIntervalDays: 30 });
		const update = (patch: Record<string, unknown>) =>
			t.service.updateSecret(t.admin, { name: 'k', ...patch });
		expect((await update({ rotationIntervalDays: 10 })).nextRotationAt).toBe(
			iso(start + 10 * DAY_MS),
		);
		expect((await update({ rotationPolicy: 'MANUAL' })).nextRotationAt).toBe(
			iso(start + 10 * DAY_MS),
		);
		expect((await update({ rotationPolicy: 'ON_DEMAND' })).nextRotationAt).toBeNull();
	});
});

describe('changing the policy of an existing secret', () => {
	const update = (patch: Record<string, unknown>) =>
		t.service.updateSecret(t.admin, { name: 'k', ...patch });

	it('never turns an interval into AUTOMATIC: a MANUAL secret given an interval stays MANUAL', async () => {
		await create({ name: 'k' });
		expect(await update({ rotationIntervalDays: 30 })).toMatchObject({
			rotationPolicy: 'MANUAL',
			rotationIntervalDays: 30,
		});
		t.clock.advanceDays(30);
		expect(await t.service.dueForRotation(t.admin)).toEqual([
			expect.objectContaining({ name: 'k', action: 'remind' }),
		]);
	});

	it('refuses AUTOMATIC without an interval, and keeps the secret as it was', async () => {
		await create({ name: 'k', rotationPolicy: 'MANUAL' });
		const err = await rejection(update({ rotationPolicy: 'AUTOMATIC' }));
		expect(err).toMatchObject({ code: 'INVALID_INPUT' });
		expect(err.message).toContain('AUTOMATIC rotation needs an interval');
		expect(await update({ rotationPolicy: 'AUTOMATIC', rotationIntervalDays: 5 })).toMatchObject({
			rotationPolicy: 'AUTOMATIC',
			rotationIntervalDays: 5,
		});
		// Removing the interval of an AUTOMATIC secret would leave it rotated by nobody.
		expect((await rejection(update({ rotationIntervalDays: null }))).code).toBe('INVALID_INPUT');
		expect(await t.service.getSecret(t.admin, 'k')).toMatchObject({
			rotationPolicy: 'AUTOMATIC',
			rotationIntervalDays: 5,
		});
	});

	it('refuses an interval for an ON_DEMAND secret, naming the policies that take one', async () => {
		await create({ name: 'k', rotationPolicy: 'ON_DEMAND' });
		const err = await rejection(update({ rotationIntervalDays: 30 }));
		expect(err.code).toBe('INVALID_INPUT');
		expect(err.message).toMatch(/take no interval.*choose AUTOMATIC.*or MANUAL/);
		expect(await update({ rotationPolicy: 'AUTOMATIC', rotationIntervalDays: 30 })).toMatchObject({
			rotationPolicy: 'AUTOMATIC',
			rotationIntervalDays: 30,
		});
	});

	it('drops the interval when ON_DEMAND is chosen, and the audit trail says so', async () => {
		await create({ name: 'k', rotationPolicy: 'AUTOMATIC', rotationIntervalDays: 30 });
		expect(await update({ rotationPolicy: 'ON_DEMAND' })).toMatchObject({
			rotationPolicy: 'ON_DEMAND',
			rotationIntervalDays: null,
			nextRotationAt: null,
		});
		const [event] = (await t.service.listAudit(t.admin, { action: 'update', limit: 1 })).items;
		expect(event.reason).toBe('metadata: rotationPolicy, rotationIntervalDays');
		expect(
			(await rejection(update({ rotationPolicy: 'ON_DEMAND', rotationIntervalDays: 3 }))).code,
		).toBe('INVALID_INPUT');
	});

	it('keeps the interval when MANUAL is chosen: the rotations become reminders', async () => {
		await create({ name: 'k', rotationPolicy: 'AUTOMATIC', rotationIntervalDays: 30 });
		await update({ rotationPolicy: 'MANUAL' });
		t.clock.advanceDays(30);
		expect(await t.service.dueForRotation(t.admin, { rotationPolicy: 'AUTOMATIC' })).toEqual([]);
		expect(await t.service.dueForRotation(t.admin, { rotationPolicy: 'MANUAL' })).toEqual([
			expect.objectContaining({ name: 'k', action: 'remind' }),
		]);
	});
});

describe('a store written by the release before policies were checked', () => {
	// test/fixtures/v1-rotation: a schema-1 store made by that release's CLI (store.json says how),
	// holding every combination it accepted. Opening it runs the migrations; reads must keep working.
	const FIXTURE = join(__dirname, '..', 'fixtures', 'v1-rotation');
	const fixture = JSON.parse(readFileSync(join(FIXTURE, 'store.json'), 'utf8')) as {
		masterKey: string;
		adminToken: Record<'sqlite' | 'postgres', string>;
	};
	const clock = new TestClock(Date.parse('2026-11-25T17:00:00.000Z'));
	let old: SecretsService;
	let dropSchema: string | undefined;

	beforeEach(async () => {
		let driver: SqlDriver;
		if (STORE_KIND === 'sqlite') {
			const path = join(t.dir, 'v1.db');
			const db = new DatabaseSync(path);
			db.exec(readFileSync(join(FIXTURE, 'sqlite.sql'), 'utf8'));
			db.close();
			driver = new SqliteDriver(path);
		} else {
			dropSchema = `t_${randomBytes(6).toString('hex')}`;
			const client = new Client({ connectionString: TEST_DATABASE_URL });
			await client.connect();
			try {
				await client.query(
					readFileSync(join(FIXTURE, 'postgres.sql'), 'utf8').replace(/__SCHEMA__/g, dropSchema),
				);
			} finally {
				await client.end();
			}
			driver = new PostgresDriver(TEST_DATABASE_URL, { schema: dropSchema, poolSize: 2 });
		}
		old = await SecretsService.open(driver, rawKeyProvider(fixture.masterKey, 'fixture key'), {
			now: clock.now,
		});
	});

	afterEach(async () => {
		await old?.close();
		if (dropSchema) await pgSql(null, `DROP SCHEMA IF EXISTS ${dropSchema} CASCADE`);
	});

	it('reads every combination: AUTOMATIC with an interval is rotated, MANUAL with one reminded, the rest never due', async () => {
		const admin = { token: fixture.adminToken[STORE_KIND] };
		const meta = async (name: string) => old.getSecret(admin, name);
		const writtenAt = async (name: string) =>
			Date.parse((await meta(name)).environments[0].currentCreatedAt!);
		const written = await writtenAt('old-manual-30');
		expect(await meta('old-interval-only')).toMatchObject({
			rotationPolicy: 'AUTOMATIC',
			rotationIntervalDays: 30,
			nextRotationAt: iso((await writtenAt('old-interval-only')) + 30 * DAY_MS),
		});
		expect(await meta('old-manual-30')).toMatchObject({
			nextRotationAt: iso(written + 30 * DAY_MS),
		});
		for (const name of ['old-auto-none', 'old-on-demand-30', 'old-manual'])
			expect((await meta(name)).nextRotationAt).toBeNull();

		clock.ms = written + 31 * DAY_MS;
		expect(
			(await old.dueForRotation(admin)).map((d) => `${d.name}:${d.rotationPolicy}:${d.action}`),
		).toEqual(['old-interval-only:AUTOMATIC:rotate', 'old-manual-30:MANUAL:remind']);

		// Other metadata still changes without first repairing the policy.
		expect(
			await old.updateSecret(admin, { name: 'old-on-demand-30', description: 'x' }),
		).toMatchObject({ description: 'x', rotationPolicy: 'ON_DEMAND', rotationIntervalDays: 30 });
		// A change of the rotation fields must leave a combination that means what it says.
		const err = await rejection(
			old.updateSecret(admin, { name: 'old-auto-none', rotationPolicy: 'AUTOMATIC' }),
		);
		expect(err.code).toBe('INVALID_INPUT');
		expect(
			await old.updateSecret(admin, { name: 'old-on-demand-30', rotationPolicy: 'ON_DEMAND' }),
		).toMatchObject({ rotationIntervalDays: null });
		expect(
			await old.reveal(admin, { name: 'old-manual-30', environment: 'production' }),
		).toMatchObject({ value: 'old-manual-30-value' });
	});
});

describe('the CLI', () => {
	/** The built `n8n-secrets`, on the real clock, against this store. */
	function cli(args: string[], input = '') {
		const r = spawnSync(process.execPath, [CLI, ...args], {
			env: {
				PATH: process.env.PATH,
				...t.storeEnv,
				N8N_SECRETS_MASTER_KEY: t.keyBase64,
				N8N_SECRETS_TOKEN: t.admin.token,
			},
			input,
			encoding: 'utf8',
		});
		return { code: r.status, out: r.stdout, err: r.stderr };
	}

	it('creates with --rotation-policy, refuses --rotate-every alone, and lists due by action', async () => {
		const refused = cli(
			['secret', 'set', 'k', '--env', 'production', '--value-stdin', '--rotate-every', '30d'],
			'v',
		);
		expect(refused.code).not.toBe(0);
		expect(refused.err).toContain('INVALID_INPUT');
		expect(refused.err).toContain('--rotation-policy');
		expect(cli(['secret', 'get', 'k']).err).toContain('SECRET_NOT_FOUND');

		const demand = cli(
			[
				...['secret', 'set', 'd', '--env', 'production', '--value-stdin'],
				...['--rotation-policy', 'ON_DEMAND', '--rotate-every', '30d'],
			],
			'v',
		);
		expect(demand.err).toContain('take no interval');

		// Written 40 days ago through the service; the CLI runs on the real clock.
		t.clock.ms = Date.now() - 40 * DAY_MS;
		await create({ name: 'auto', rotationPolicy: 'AUTOMATIC', rotationIntervalDays: 30 });
		await create({ name: 'manual', rotationPolicy: 'MANUAL', rotationIntervalDays: 30 });
		await create({ name: 'demand', rotationPolicy: 'ON_DEMAND' });
		const created = cli(
			[
				...['secret', 'set', 'fresh', '--env', 'production', '--value-stdin'],
				...['--rotation-policy', 'AUTOMATIC', '--rotate-every', '90d', '--json'],
			],
			'v',
		);
		expect(created.code).toBe(0);

		const due = JSON.parse(cli(['secret', 'due', '--json']).out) as {
			name: string;
			action: string;
		}[];
		expect(due.map((d) => `${d.name}:${d.action}`)).toEqual(['auto:rotate', 'manual:remind']);
		const auto = JSON.parse(cli(['secret', 'due', '--policy', 'AUTOMATIC', '--json']).out) as {
			name: string;
		}[];
		expect(auto.map((d) => d.name)).toEqual(['auto']);
		const table = cli(['secret', 'due']).out;
		expect(table).toMatch(/ACTION/);
		expect(table).toMatch(/manual\s+production\s+MANUAL\s+remind/);

		const fresh = JSON.parse(cli(['secret', 'get', 'fresh', '--json']).out) as {
			nextRotationAt: string;
			environments: { currentCreatedAt: string }[];
		};
		expect(
			Date.parse(fresh.nextRotationAt) - Date.parse(fresh.environments[0].currentCreatedAt),
		).toBe(90 * DAY_MS);
		expect(cli(['secret', 'get', 'manual']).out).toMatch(
			/rotation: MANUAL every 30d, next reminder /,
		);

		// --rotate-every none removes a MANUAL interval; the policy is never changed by it.
		const none = cli(
			[
				...['secret', 'set', 'manual', '--env', 'production', '--value-stdin'],
				...['--rotate-every', 'none', '--json'],
			],
			'v2',
		);
		expect({ code: none.code, err: none.err }).toEqual({ code: 0, err: '' });
		expect(JSON.parse(none.out)).toMatchObject({ version: 2 });
		expect(await t.service.getSecret(t.admin, 'manual')).toMatchObject({
			rotationPolicy: 'MANUAL',
			rotationIntervalDays: null,
			nextRotationAt: null,
		});
	});
});
