import type { SecretMetadata } from '../../src/core/model';
import type { ListSecretsInput } from '../../src/core/schemas';
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
const inDays = (days: number): string => new Date(t.clock.ms + days * DAY_MS).toISOString();

async function names(input: ListSecretsInput, caller = admin): Promise<string[]> {
	return (await svc.listSecrets(caller, input)).items.map((s) => s.name);
}

/** Every page of a listing, following nextCursor: what the Secrets page's paging shows in turn. */
async function allPages(input: ListSecretsInput, caller = admin): Promise<SecretMetadata[]> {
	const out: SecretMetadata[] = [];
	let cursor: string | undefined;
	for (let pages = 0; pages < 1000; pages++) {
		const page = await svc.listSecrets(caller, { ...input, cursor });
		out.push(...page.items);
		if (!page.nextCursor) return out;
		cursor = page.nextCursor;
	}
	throw new Error('the listing never ended');
}

describe('search', () => {
	beforeEach(async () => {
		await svc.createSecret(admin, { name: 'stripe-key', description: 'Payments (LIVE)' });
		await svc.createSecret(admin, { name: 'db-main', tags: ['team:payments'] });
		await svc.createSecret(admin, { name: 'github-token', description: 'CI bot' });
		await svc.createSecret(admin, { name: 'percent_50', description: 'literal 100% off' });
	});

	it('matches a substring of the name anywhere, not only a prefix', async () => {
		expect(await names({ search: 'ub-to' })).toEqual(['github-token']);
	});

	it('matches the description and the tags, whatever the case', async () => {
		expect(await names({ search: 'PAYMENTS' })).toEqual(['db-main', 'stripe-key']);
		expect(await names({ search: 'live' })).toEqual(['stripe-key']);
	});

	it('takes % and _ literally', async () => {
		expect(await names({ search: '%' })).toEqual(['percent_50']);
		expect(await names({ search: 't_5' })).toEqual(['percent_50']);
		expect(await names({ search: 'stripe_key' })).toEqual([]);
	});

	it('combines with the other filters', async () => {
		expect(await names({ search: 'payments', prefix: 'db' })).toEqual(['db-main']);
	});
});

describe('status', () => {
	beforeEach(async () => {
		await svc.createSecret(admin, {
			name: 'cert-soon',
			environment: 'production',
			value: 'pem',
			expiresAt: inDays(10),
		});
		await svc.createSecret(admin, {
			name: 'cert-later',
			environment: 'production',
			value: 'pem',
			expiresAt: inDays(90),
		});
		await svc.createSecret(admin, {
			name: 'cert-gone',
			environment: 'staging',
			value: 'pem',
			expiresAt: inDays(1),
		});
		await svc.createSecret(admin, {
			name: 'rotates',
			environment: 'production',
			value: 'v',
			rotationPolicy: 'AUTOMATIC',
			rotationIntervalDays: 7,
		});
		await svc.createSecret(admin, { name: 'removed', environment: 'production', value: 'v' });
		await svc.deleteSecret(admin, 'removed');
		t.clock.advanceDays(8);
	});

	it('expired, expiring within 30 days, due for rotation and deleted each keep their own', async () => {
		expect(await names({ status: 'expired' })).toEqual(['cert-gone']);
		expect(await names({ status: 'expiring' })).toEqual(['cert-soon']);
		expect(await names({ status: 'due' })).toEqual(['rotates']);
		expect(await names({ status: 'deleted' })).toEqual(['removed']);
		expect(await names({})).not.toContain('removed');
	});

	it('looks at the environment asked for only', async () => {
		expect(await names({ status: 'expired', environment: 'production' })).toEqual([]);
		expect(await names({ status: 'expired', environment: 'staging' })).toEqual(['cert-gone']);
	});

	it('judges only the environments a limited token may see', async () => {
		const { token } = await svc.createToken(admin, {
			subject: 'prod-viewer',
			role: 'viewer',
			environments: ['production'],
		});
		expect(await names({ status: 'expired' }, { token })).toEqual([]);
		expect(await names({ status: 'expiring' }, { token })).toEqual(['cert-soon']);
	});

	it('rotation brings a due secret out of the filter', async () => {
		await svc.rotate(admin, { name: 'rotates', environment: 'production' });
		expect(await names({ status: 'due' })).toEqual([]);
	});
});

describe('sorting and paging', () => {
	const N = 23;
	beforeEach(async () => {
		// Created a minute apart, in an order unlike their names; then some changed later.
		for (let k = 0; k < N; k++) {
			const n = (k * 7) % N;
			await svc.createSecret(admin, { name: `s-${String(n).padStart(2, '0')}` });
			t.clock.ms += 60_000;
		}
		for (const n of ['s-05', 's-17', 's-02']) {
			await svc.updateSecret(admin, { name: n, description: 'changed' });
			t.clock.ms += 60_000;
		}
	});

	it.each([
		['name', (a: SecretMetadata, b: SecretMetadata) => a.name.localeCompare(b.name)],
		['-name', (a: SecretMetadata, b: SecretMetadata) => b.name.localeCompare(a.name)],
		[
			'createdAt',
			(a: SecretMetadata, b: SecretMetadata) =>
				a.createdAt.localeCompare(b.createdAt) || a.name.localeCompare(b.name),
		],
		[
			'-updatedAt',
			(a: SecretMetadata, b: SecretMetadata) =>
				b.updatedAt.localeCompare(a.updatedAt) || a.name.localeCompare(b.name),
		],
		[
			'-createdAt',
			(a: SecretMetadata, b: SecretMetadata) =>
				b.createdAt.localeCompare(a.createdAt) || a.name.localeCompare(b.name),
		],
	] as const)('sorted by %s, pages of 4 show every secret once, in order', async (sort, order) => {
		const shown = await allPages({ sort, limit: 4 });
		expect(shown).toHaveLength(N);
		expect(new Set(shown.map((s) => s.name)).size).toBe(N);
		expect(shown.map((s) => s.name)).toEqual([...shown].sort(order).map((s) => s.name));
	});

	it('the most recently changed come first by -updatedAt', async () => {
		expect((await names({ sort: '-updatedAt', limit: 3 })).slice(0, 3)).toEqual([
			's-02',
			's-17',
			's-05',
		]);
	});

	it('ties in time are broken by name, so paging never skips or repeats', async () => {
		t.clock.ms += 60_000;
		for (const n of ['t-c', 't-a', 't-b']) await svc.createSecret(admin, { name: n });
		const shown = await allPages({ sort: '-createdAt', limit: 2 });
		expect(shown.slice(0, 3).map((s) => s.name)).toEqual(['t-a', 't-b', 't-c']);
		expect(shown).toHaveLength(N + 3);
	});

	it('a token limited to some names gets full pages of only those', async () => {
		const { token } = await svc.createToken(admin, {
			subject: 'some',
			role: 'viewer',
			secrets: ['s-1*'],
		});
		const first = await svc.listSecrets({ token }, { limit: 4, sort: '-name' });
		expect(first.items.map((s) => s.name)).toEqual(['s-19', 's-18', 's-17', 's-16']);
		expect((await allPages({ limit: 4, sort: '-name' }, { token })).length).toBe(10);
	});

	it('refuses a cursor of another order, with a message that says what to do', async () => {
		const page = await svc.listSecrets(admin, { sort: '-updatedAt', limit: 2 });
		await expect(
			svc.listSecrets(admin, { sort: 'name', cursor: page.nextCursor }),
		).rejects.toMatchObject({ code: 'INVALID_INPUT', message: expect.stringMatching(/same sort/) });
	});
});

describe('used by', () => {
	beforeEach(async () => {
		await svc.createSecret(admin, { name: 'stripe-key', environment: 'production', value: 'v' });
		await svc.setValue(admin, { name: 'stripe-key', environment: 'staging', value: 'v2' });
	});

	const useIn = (env: string, context?: Record<string, string>) =>
		svc.use({ ...admin, context }, { name: 'stripe-key', environment: env });

	it('lists each workflow once, newest use first, with its last execution and the count', async () => {
		await useIn('production', { workflowId: 'wf-1', workflowName: 'Charge', executionId: '1' });
		t.clock.ms += 1000;
		await useIn('staging', { workflowId: 'wf-2', workflowName: 'Refund', executionId: '7' });
		t.clock.ms += 1000;
		await useIn('production', { workflowId: 'wf-1', workflowName: 'Charge', executionId: '2' });
		t.clock.ms += 1000;
		await useIn('production');
		const { items } = await svc.secretUsage(admin, { name: 'stripe-key' });
		expect(items).toEqual([
			expect.objectContaining({ workflowId: null, uses: 1 }),
			expect.objectContaining({
				workflowId: 'wf-1',
				workflowName: 'Charge',
				uses: 2,
				lastExecutionId: '2',
				lastEnvironment: 'production',
			}),
			expect.objectContaining({ workflowId: 'wf-2', uses: 1, lastEnvironment: 'staging' }),
		]);
	});

	it('counts successful uses only, and a token limited to staging sees staging uses only', async () => {
		const { token: user } = await svc.createToken(admin, {
			subject: 'wf',
			role: 'user',
			environments: ['staging'],
		});
		await expect(
			svc.use(
				{ token: user, context: { workflowId: 'wf-x' } },
				{
					name: 'stripe-key',
					environment: 'production',
				},
			),
		).rejects.toMatchObject({ code: 'ACCESS_DENIED' });
		await useIn('production', { workflowId: 'wf-1' });
		await useIn('staging', { workflowId: 'wf-2' });
		const { token: auditor } = await svc.createToken(admin, {
			subject: 'stage-auditor',
			role: 'auditor',
			environments: ['staging'],
		});
		expect(
			(await svc.secretUsage({ token: auditor }, { name: 'stripe-key' })).items.map(
				(i) => i.workflowId,
			),
		).toEqual(['wf-2']);
		expect(
			(await svc.secretUsage(admin, { name: 'stripe-key' })).items.map((i) => i.workflowId),
		).toEqual(['wf-2', 'wf-1']);
	});

	it('needs the audit:read permission', async () => {
		const { token } = await svc.createToken(admin, { subject: 'op', role: 'operator' });
		await expect(svc.secretUsage({ token }, { name: 'stripe-key' })).rejects.toMatchObject({
			code: 'ACCESS_DENIED',
			message: expect.stringContaining('audit:read'),
		});
	});
});
