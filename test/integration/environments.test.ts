import { SecretsError } from '../../src/core/errors';
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

const ENVIRONMENTS = ['development', 'staging', 'production'] as const;

async function failure(call: Promise<unknown>): Promise<SecretsError> {
	try {
		await call;
	} catch (err) {
		expect(err).toBeInstanceOf(SecretsError);
		return err as SecretsError;
	}
	throw new Error('expected a SecretsError, the call succeeded');
}

async function valueIn(environment: string, name = 'stripe-key'): Promise<string> {
	return (await svc.use(admin, { name, environment })).value;
}

async function labelsIn(environment: string, name = 'stripe-key') {
	return (await svc.listVersions(admin, { name, environment })).map((v) => [v.version, v.labels]);
}

/** One secret with a value of its own in each of the three environments. */
async function stripeKeyEverywhere(): Promise<void> {
	await svc.createSecret(admin, {
		name: 'stripe-key',
		type: 'API_KEY',
		environment: 'development',
		value: 'sk_dev_1',
	});
	await svc.setValue(admin, { name: 'stripe-key', environment: 'staging', value: 'sk_stg_1' });
	await svc.setValue(admin, { name: 'stripe-key', environment: 'production', value: 'sk_prd_1' });
}

describe('environments', () => {
	it('resolves the same name to a different value in each environment', async () => {
		await stripeKeyEverywhere();

		for (const env of ENVIRONMENTS) {
			expect(await svc.use(admin, { name: 'stripe-key', environment: env })).toMatchObject({
				environment: env,
				servedFrom: env,
				version: 1,
			});
		}
		expect(await valueIn('development')).toBe('sk_dev_1');
		expect(await valueIn('staging')).toBe('sk_stg_1');
		expect(await valueIn('production')).toBe('sk_prd_1');
		const meta = await svc.getSecret(admin, 'stripe-key');
		expect(meta.environments.map((l) => [l.environment, l.currentVersion])).toEqual([
			['development', 1],
			['production', 1],
			['staging', 1],
		]);
	});

	it('numbers versions per environment: writes in one leave the others at their own version', async () => {
		await stripeKeyEverywhere();

		await svc.setValue(admin, { name: 'stripe-key', environment: 'production', value: 'sk_prd_2' });
		await svc.stage(admin, { name: 'stripe-key', environment: 'production', value: 'sk_prd_3' });
		await svc.promote(admin, { name: 'stripe-key', environment: 'production' });

		expect(await labelsIn('production')).toEqual([
			[3, ['current']],
			[2, ['previous']],
			[1, []],
		]);
		expect(await labelsIn('staging')).toEqual([[1, ['current']]]);
		expect(await labelsIn('development')).toEqual([[1, ['current']]]);
		expect(await valueIn('staging')).toBe('sk_stg_1');
		expect(await valueIn('development')).toBe('sk_dev_1');
		await expect(
			svc.use(admin, { name: 'stripe-key', environment: 'staging', selector: { version: 2 } }),
		).rejects.toMatchObject({ code: 'VERSION_NOT_FOUND' });
	});

	it('rollback restores the previous value in production only', async () => {
		await stripeKeyEverywhere();
		await svc.rotate(admin, { name: 'stripe-key', environment: 'staging', value: 'sk_stg_2' });
		await svc.rotate(admin, { name: 'stripe-key', environment: 'production', value: 'sk_prd_bad' });

		await svc.rollback(admin, { name: 'stripe-key', environment: 'production' });

		expect(await valueIn('production')).toBe('sk_prd_1');
		expect(await valueIn('staging')).toBe('sk_stg_2');
		expect(await valueIn('development')).toBe('sk_dev_1');
		expect(await labelsIn('production')).toEqual([
			[2, []],
			[1, ['current']],
		]);
		expect(await labelsIn('staging')).toEqual([
			[2, ['current']],
			[1, ['previous']],
		]);
		// Staging still has its own rollback to make.
		await svc.rollback(admin, { name: 'stripe-key', environment: 'staging' });
		expect(await valueIn('staging')).toBe('sk_stg_1');
		await expect(
			svc.rollback(admin, { name: 'stripe-key', environment: 'development' }),
		).rejects.toMatchObject({ code: 'NO_PREVIOUS_VERSION' });
	});

	it('pending in one environment is not visible from another', async () => {
		await stripeKeyEverywhere();
		await svc.stage(admin, { name: 'stripe-key', environment: 'staging', value: 'sk_stg_next' });

		expect(
			(
				await svc.use(admin, {
					name: 'stripe-key',
					environment: 'staging',
					selector: { label: 'pending' },
				})
			).value,
		).toBe('sk_stg_next');
		await expect(
			svc.use(admin, {
				name: 'stripe-key',
				environment: 'production',
				selector: { label: 'pending' },
			}),
		).rejects.toMatchObject({ code: 'VERSION_NOT_FOUND' });
		await expect(
			svc.promote(admin, { name: 'stripe-key', environment: 'production' }),
		).rejects.toMatchObject({ code: 'NO_PENDING_VERSION' });
	});
});

describe('no silent fallback', () => {
	it('refuses an environment without a value, until the all-environments value is set', async () => {
		await svc.createSecret(admin, {
			name: 'smtp-password',
			type: 'PASSWORD',
			environment: 'production',
			value: 'prod-smtp-pass',
		});

		const err = await failure(svc.use(admin, { name: 'smtp-password', environment: 'staging' }));
		expect(err.code).toBe('SECRET_NOT_FOUND');
		expect(err.message).not.toContain('prod-smtp-pass');

		await svc.setValue(admin, {
			name: 'smtp-password',
			environment: '*',
			value: 'shared-smtp-pass',
		});

		expect(await svc.use(admin, { name: 'smtp-password', environment: 'staging' })).toMatchObject({
			environment: 'staging',
			servedFrom: '*',
			value: 'shared-smtp-pass',
		});
		expect(
			await svc.use(admin, { name: 'smtp-password', environment: 'production' }),
		).toMatchObject({
			environment: 'production',
			servedFrom: 'production',
			value: 'prod-smtp-pass',
		});
		const uses = (await svc.listAudit(admin, { secret: 'smtp-password', action: 'use' })).items;
		expect(uses).toEqual(
			expect.arrayContaining([
				expect.objectContaining({
					environment: 'staging',
					outcome: 'success',
					reason: 'served from the * line',
				}),
				expect.objectContaining({ environment: 'staging', outcome: 'failure' }),
			]),
		);
	});

	it('prefers the caller environment over the all-environments value once it has its own', async () => {
		await svc.createSecret(admin, {
			name: 'smtp-password',
			type: 'PASSWORD',
			environment: '*',
			value: 'shared-smtp-pass',
		});
		expect(await valueIn('staging', 'smtp-password')).toBe('shared-smtp-pass');

		await svc.setValue(admin, {
			name: 'smtp-password',
			environment: 'staging',
			value: 'staging-smtp-pass',
		});

		expect(await svc.use(admin, { name: 'smtp-password', environment: 'staging' })).toMatchObject({
			servedFrom: 'staging',
			value: 'staging-smtp-pass',
		});
		expect(await valueIn('development', 'smtp-password')).toBe('shared-smtp-pass');
	});
});

describe('environment-limited tokens', () => {
	it('a staging token can use staging but cannot use or write production', async () => {
		await stripeKeyEverywhere();
		const { token } = await svc.createToken(admin, {
			subject: 'staging-bot',
			role: 'operator',
			environments: ['staging'],
		});
		const bot = { token };

		expect((await svc.use(bot, { name: 'stripe-key', environment: 'staging' })).value).toBe(
			'sk_stg_1',
		);
		await svc.setValue(bot, { name: 'stripe-key', environment: 'staging', value: 'sk_stg_2' });
		expect(await valueIn('staging')).toBe('sk_stg_2');

		const useErr = await failure(svc.use(bot, { name: 'stripe-key', environment: 'production' }));
		expect(useErr.code).toBe('ACCESS_DENIED');
		expect(useErr.message).not.toContain('sk_prd_1');
		await expect(
			svc.setValue(bot, { name: 'stripe-key', environment: 'production', value: 'sk_prd_evil' }),
		).rejects.toMatchObject({ code: 'ACCESS_DENIED' });
		await expect(
			svc.rollback(bot, { name: 'stripe-key', environment: 'production' }),
		).rejects.toMatchObject({ code: 'ACCESS_DENIED' });
		await expect(
			svc.setValue(bot, { name: 'stripe-key', environment: '*', value: 'sk_all_evil' }),
		).rejects.toMatchObject({ code: 'ACCESS_DENIED' });

		expect(await valueIn('production')).toBe('sk_prd_1');
		expect(await labelsIn('production')).toEqual([[1, ['current']]]);
		const denials = (await svc.listAudit(admin, { actor: 'staging-bot', outcome: 'denied' })).items;
		expect(denials).toHaveLength(4);
		expect(denials.every((e) => e.action === 'deny')).toBe(true);
		expect(denials.map((e) => e.environment).sort()).toEqual([
			'*',
			'production',
			'production',
			'production',
		]);
	});
});
