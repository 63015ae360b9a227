import type { CreateSecretInput } from '../../src/core/schemas';
import { SecretsService } from '../../src/service/secrets-service';
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

const DAY_MS = 86_400_000;

/** An ISO date `days` from the test clock's now. */
const inDays = (days: number): string => new Date(t.clock.ms + days * DAY_MS).toISOString();

async function create(
	input: Partial<CreateSecretInput> & { name: string },
	more: { environment: string; value: string }[] = [],
): Promise<void> {
	await svc.createSecret(admin, { type: 'CUSTOM', ...input });
	for (const line of more) await svc.setValue(admin, { name: input.name, ...line });
}

/** Five secrets of different types, tags and environments. */
async function catalog(): Promise<void> {
	await create({
		name: 'db-main',
		type: 'DATABASE_CREDENTIAL',
		tags: ['db'],
		environment: 'production',
		value: '{"user":"app","password":"pw"}',
	});
	await create(
		{
			name: 'github-token',
			type: 'OAUTH_TOKEN',
			tags: ['ci'],
			environment: 'staging',
			value: 'ghp_staging',
		},
		[{ environment: 'production', value: 'ghp_production' }],
	);
	await create({
		name: 'slack-webhook',
		type: 'WEBHOOK_SECRET',
		tags: ['alerts'],
		environment: 'development',
		value: 'whsec_dev',
	});
	await create({
		name: 'stripe-live',
		type: 'API_KEY',
		tags: ['payments', 'prod'],
		environment: 'production',
		value: 'sk_live_1',
	});
	await create({
		name: 'stripe-test',
		type: 'API_KEY',
		tags: ['payments'],
		environment: 'staging',
		value: 'sk_test_1',
	});
}

async function names(
	input: Parameters<SecretsService['listSecrets']>[1],
	caller = admin,
): Promise<string[]> {
	return (await svc.listSecrets(caller, input)).items.map((s) => s.name);
}

describe('listing secrets', () => {
	it('filters by prefix, tag, type and environment', async () => {
		await catalog();

		expect(await names({})).toEqual([
			'db-main',
			'github-token',
			'slack-webhook',
			'stripe-live',
			'stripe-test',
		]);
		expect(await names({ prefix: 'stripe-' })).toEqual(['stripe-live', 'stripe-test']);
		expect(await names({ prefix: 'Stripe' })).toEqual([]);
		expect(await names({ prefix: 'stripe_' })).toEqual([]);
		expect(await names({ tag: 'payments' })).toEqual(['stripe-live', 'stripe-test']);
		expect(await names({ tag: 'prod' })).toEqual(['stripe-live']);
		expect(await names({ type: 'API_KEY' })).toEqual(['stripe-live', 'stripe-test']);
		expect(await names({ type: 'DATABASE_CREDENTIAL' })).toEqual(['db-main']);
		expect(await names({ environment: 'staging' })).toEqual(['github-token', 'stripe-test']);
		expect(await names({ environment: 'production' })).toEqual([
			'db-main',
			'github-token',
			'stripe-live',
		]);
		expect(await names({ type: 'API_KEY', environment: 'production' })).toEqual(['stripe-live']);
		expect(await names({ tag: 'payments', environment: 'development' })).toEqual([]);
	});

	it('pages through every secret once when following nextCursor', async () => {
		await catalog();

		const pages: string[][] = [];
		let cursor: string | undefined;
		do {
			const page = await svc.listSecrets(admin, { limit: 2, cursor });
			pages.push(page.items.map((s) => s.name));
			cursor = page.nextCursor;
		} while (cursor !== undefined);

		expect(pages).toEqual([
			['db-main', 'github-token'],
			['slack-webhook', 'stripe-live'],
			['stripe-test'],
		]);
		const all = pages.flat();
		expect(new Set(all).size).toBe(all.length);
	});

	it('shows a token limited to stripe-* only the names it matches', async () => {
		await catalog();
		const { token } = await svc.createToken(admin, {
			subject: 'payments-bot',
			role: 'viewer',
			secrets: ['stripe-*'],
		});
		const bot = { token };

		expect(await names({}, bot)).toEqual(['stripe-live', 'stripe-test']);
		expect(await names({ prefix: 'db' }, bot)).toEqual([]);
		expect(await names({ environment: 'production' }, bot)).toEqual(['stripe-live']);

		const first = await svc.listSecrets(bot, { limit: 1 });
		expect(first.items.map((s) => s.name)).toEqual(['stripe-live']);
		const second = await svc.listSecrets(bot, { limit: 1, cursor: first.nextCursor });
		expect(second.items.map((s) => s.name)).toEqual(['stripe-test']);
		expect(second.nextCursor).toBeUndefined();

		await expect(svc.getSecret(bot, 'db-main')).rejects.toMatchObject({ code: 'ACCESS_DENIED' });
	});

	it('never returns values in listings', async () => {
		await catalog();

		const listed = JSON.stringify((await svc.listSecrets(admin)).items);

		for (const value of ['sk_live_1', 'sk_test_1', 'ghp_staging', 'whsec_dev', '"pw"'])
			expect(listed).not.toContain(value);
	});
});

describe('expiring secrets', () => {
	beforeEach(async () => {
		await create({
			name: 'already-expired',
			environment: 'production',
			value: 'x',
			expiresAt: inDays(-1),
		});
		await create({
			name: 'cert-soon',
			environment: 'production',
			value: 'x',
			expiresAt: inDays(5),
		});
		await create({ name: 'cert-later', environment: 'staging', value: 'x', expiresAt: inDays(20) });
		await create({
			name: 'cert-far',
			environment: 'production',
			value: 'x',
			expiresAt: inDays(60),
		});
		await create({ name: 'no-expiry', environment: 'production', value: 'x' });
	});

	it('lists current versions expiring within N days, with days left, and not those later', async () => {
		expect(await svc.expiring(admin, { withinDays: 30 })).toEqual([
			expect.objectContaining({
				name: 'already-expired',
				environment: 'production',
				version: 1,
				expiresAt: inDays(-1),
				daysLeft: -1,
				expired: true,
			}),
			expect.objectContaining({ name: 'cert-soon', daysLeft: 5, expired: false }),
			expect.objectContaining({ name: 'cert-later', environment: 'staging', daysLeft: 20 }),
		]);
		expect((await svc.expiring(admin, { withinDays: 7 })).map((e) => e.name)).toEqual([
			'already-expired',
			'cert-soon',
		]);
		expect(
			(await svc.expiring(admin, { withinDays: 30, environment: 'staging' })).map((e) => e.name),
		).toEqual(['cert-later']);
	});

	it('counts down as time passes and drops a secret once it is rotated to a lasting value', async () => {
		t.clock.advanceDays(10);

		expect(
			(await svc.expiring(admin, { withinDays: 30 })).map((e) => [e.name, e.daysLeft, e.expired]),
		).toEqual([
			['already-expired', -11, true],
			['cert-soon', -5, true],
			['cert-later', 10, false],
		]);

		await svc.rotate(admin, { name: 'cert-soon', environment: 'production', value: 'renewed' });

		expect((await svc.expiring(admin, { withinDays: 30 })).map((e) => e.name)).toEqual([
			'already-expired',
			'cert-later',
		]);
	});

	it('ignores a staged version that expires: only current versions count', async () => {
		await svc.stage(admin, {
			name: 'no-expiry',
			environment: 'production',
			value: 'next',
			expiresAt: inDays(3),
		});

		expect((await svc.expiring(admin, { withinDays: 30 })).map((e) => e.name)).not.toContain(
			'no-expiry',
		);

		await svc.promote(admin, { name: 'no-expiry', environment: 'production' });

		expect((await svc.expiring(admin, { withinDays: 30 })).map((e) => e.name)).toContain(
			'no-expiry',
		);
	});
});

describe('due for rotation', () => {
	beforeEach(async () => {
		await create({
			name: 'rotate-30',
			rotationPolicy: 'AUTOMATIC',
			rotationIntervalDays: 30,
			environment: 'production',
			value: 'a',
		});
		await create({
			name: 'rotate-90',
			rotationPolicy: 'AUTOMATIC',
			rotationIntervalDays: 90,
			environment: 'production',
			value: 'b',
		});
		await create({
			name: 'on-demand',
			rotationPolicy: 'ON_DEMAND',
			environment: 'production',
			value: 'c',
		});
		await create({
			name: 'manual-30',
			rotationPolicy: 'MANUAL',
			rotationIntervalDays: 30,
			environment: 'production',
			value: 'd',
		});
		await create({ name: 'no-interval', environment: 'production', value: 'e' });
		await create({ name: 'no-value', rotationPolicy: 'AUTOMATIC', rotationIntervalDays: 1 });
	});

	it('lists secrets whose interval has passed since their value became current', async () => {
		const start = t.clock.now().toISOString();
		// A viewer is enough for alerting. A token issues none that outlive it, so the master key's
		// holder first issues an admin token that does not expire.
		const holder = await SecretsService.init(
			t.driver(),
			t.key,
			{ subject: 'ops', ttl: 'never' },
			{ now: t.clock.now },
		);
		await holder.service.close();
		const { token } = await svc.createToken(holder, {
			subject: 'alerts',
			role: 'viewer',
			ttl: '1y',
		});
		const alerts = { token };
		expect(await svc.dueForRotation(alerts)).toEqual([]);

		t.clock.advanceDays(29);
		expect(await svc.dueForRotation(alerts)).toEqual([]);

		t.clock.advanceDays(2);
		expect(await svc.dueForRotation(alerts)).toEqual([
			expect.objectContaining({
				name: 'manual-30',
				rotationPolicy: 'MANUAL',
				action: 'remind',
				currentSince: start,
				overdueDays: 1,
			}),
			expect.objectContaining({
				name: 'rotate-30',
				environment: 'production',
				rotationPolicy: 'AUTOMATIC',
				action: 'rotate',
				rotationIntervalDays: 30,
				currentSince: start,
				dueAt: new Date(Date.parse(start) + 30 * DAY_MS).toISOString(),
				overdueDays: 1,
			}),
		]);

		t.clock.advanceDays(60);
		expect((await svc.dueForRotation(alerts)).map((d) => d.name)).toEqual([
			'manual-30',
			'rotate-30',
			'rotate-90',
		]);
	});

	it('clears the due state when the secret is rotated', async () => {
		t.clock.advanceDays(31);
		expect((await svc.dueForRotation(admin)).map((d) => d.name)).toContain('rotate-30');

		await svc.rotate(admin, {
			name: 'rotate-30',
			environment: 'production',
			generate: { length: 32, alphabet: 'alphanumeric' },
		});

		expect((await svc.dueForRotation(admin)).map((d) => d.name)).toEqual(['manual-30']);
		t.clock.advanceDays(30);
		expect((await svc.dueForRotation(admin)).map((d) => d.name)).toEqual([
			'manual-30',
			'rotate-30',
		]);
	});
});

describe('stats', () => {
	it('counts secrets by type and environment, and those due, expiring, expired and deleted', async () => {
		await create(
			{
				name: 'stripe-live',
				type: 'API_KEY',
				environment: 'production',
				value: 'sk_live_1',
				expiresAt: inDays(12),
			},
			[{ environment: 'staging', value: 'sk_test_1' }],
		);
		await create({
			name: 'db-main',
			type: 'DATABASE_CREDENTIAL',
			environment: 'production',
			value: '{"user":"app"}',
			expiresAt: inDays(1),
		});
		await create({
			name: 'hook',
			type: 'WEBHOOK_SECRET',
			environment: 'staging',
			value: 'whsec_1',
			rotationPolicy: 'AUTOMATIC',
			rotationIntervalDays: 1,
		});
		await create({ name: 'old-thing', environment: 'development', value: 'gone' });
		await svc.deleteSecret(admin, 'old-thing');

		t.clock.advanceDays(2);

		expect(await svc.stats(admin)).toEqual({
			secrets: 3,
			deleted: 1,
			byType: { API_KEY: 1, DATABASE_CREDENTIAL: 1, WEBHOOK_SECRET: 1 },
			byEnvironment: { production: 2, staging: 2 },
			dueForRotation: 1,
			remindersDue: 0,
			expiringWithin30Days: 1,
			expired: 1,
		});
	});

	it('counts only what a name-limited token can see', async () => {
		await create({ name: 'stripe-live', type: 'API_KEY', environment: 'production', value: 'k1' });
		await create({ name: 'db-main', type: 'PASSWORD', environment: 'production', value: 'p1' });
		await create({ name: 'stripe-old', type: 'API_KEY', environment: 'staging', value: 'k0' });
		await svc.deleteSecret(admin, 'stripe-old');
		const { token } = await svc.createToken(admin, {
			subject: 'payments-bot',
			role: 'viewer',
			secrets: ['stripe-*'],
		});

		expect(await svc.stats({ token })).toMatchObject({
			secrets: 1,
			deleted: 1,
			byType: { API_KEY: 1 },
			byEnvironment: { production: 1 },
		});
	});
});
