import { SecretsService } from '../../src/service/secrets-service';
import { createTestStore, type TestStore } from '../helpers/store';

let t: TestStore;
let admin: { token: string };

beforeEach(async () => {
	t = await createTestStore();
	admin = t.admin;
	await t.service.createSecret(admin, {
		name: 'stripe-key',
		type: 'API_KEY',
		environment: 'production',
		value: 'sk_live_PERMISSIONS_CANARY',
	});
	await t.service.createSecret(admin, {
		name: 'payroll-db',
		type: 'PASSWORD',
		environment: 'production',
		value: 'payroll-PERMISSIONS-CANARY',
	});
});

afterEach(() => t.cleanup());

async function tokenFor(
	input: Parameters<SecretsService['createToken']>[1],
): Promise<{ token: string; jti: string }> {
	const { token, info } = await t.service.createToken(admin, input);
	return { token, jti: info.jti };
}

const use = (caller: { token: string }, name = 'stripe-key', extra = {}) =>
	t.service.use(caller, { name, environment: 'production', ...extra });

async function auditEvents() {
	return (await t.service.listAudit(admin, { limit: 1000 })).items;
}

describe('role presets', () => {
	it('lets a viewer list names but not use values', async () => {
		const viewer = await tokenFor({ subject: 'dashboard', role: 'viewer' });
		const page = await t.service.listSecrets(viewer, {});
		expect(page.items.map((s) => s.name)).toEqual(['payroll-db', 'stripe-key']);
		await expect(use(viewer)).rejects.toMatchObject({ code: 'ACCESS_DENIED' });
	});

	it('refuses reveal to a use token and audits the denial', async () => {
		const user = await tokenFor({ subject: 'workflow-runner', role: 'user' });
		expect((await use(user)).value).toBe('sk_live_PERMISSIONS_CANARY');
		const err = await t.service
			.reveal(user, { name: 'stripe-key', environment: 'production' })
			.catch((e: unknown) => e);
		expect(err).toMatchObject({ code: 'ACCESS_DENIED' });
		expect(String((err as Error).message)).not.toContain('PERMISSIONS_CANARY');
		const deny = (await auditEvents()).find((e) => e.action === 'deny');
		expect(deny).toMatchObject({
			actor: 'workflow-runner',
			tokenId: user.jti,
			secret: 'stripe-key',
			outcome: 'denied',
		});
		expect(deny!.reason).toContain('reveal');
	});

	it('lets a revealer reveal, audited as reveal with the token and the n8n context', async () => {
		const revealer = await tokenFor({ subject: 'break-glass', role: 'revealer' });
		const context = {
			workflowId: 'wf-42',
			workflowName: 'Rotate Stripe',
			executionId: '1001',
			node: 'Secrets',
			mode: 'manual',
		};
		const r = await t.service.reveal(
			{ token: revealer.token, context },
			{ name: 'stripe-key', environment: 'production' },
		);
		expect(r.value).toBe('sk_live_PERMISSIONS_CANARY');
		const reveal = (await auditEvents()).find((e) => e.action === 'reveal');
		expect(reveal).toMatchObject({
			actor: 'break-glass',
			tokenId: revealer.jti,
			secret: 'stripe-key',
			environment: 'production',
			version: 1,
			outcome: 'success',
			...context,
		});
	});

	it('lets an operator write but not delete', async () => {
		const operator = await tokenFor({ subject: 'rotator', role: 'operator' });
		await t.service.rotate(operator, {
			name: 'stripe-key',
			environment: 'production',
			generate: { length: 32, alphabet: 'alphanumeric' },
		});
		await expect(t.service.deleteSecret(operator, 'stripe-key')).rejects.toMatchObject({
			code: 'ACCESS_DENIED',
		});
		await expect(
			t.service.createToken(operator, { subject: 'x', role: 'admin' }),
		).rejects.toMatchObject({
			code: 'ACCESS_DENIED',
		});
	});

	it('lets an auditor read the trail but not use secrets', async () => {
		const auditor = await tokenFor({ subject: 'auditor', role: 'auditor' });
		expect((await t.service.listAudit(auditor, {})).items.length).toBeGreaterThan(0);
		expect((await t.service.verifyAudit(auditor)).ok).toBe(true);
		await expect(use(auditor)).rejects.toMatchObject({ code: 'ACCESS_DENIED' });
	});

	it('lets an admin do everything', async () => {
		expect((await use(admin)).value).toBe('sk_live_PERMISSIONS_CANARY');
		expect(
			(await t.service.reveal(admin, { name: 'payroll-db', environment: 'production' })).value,
		).toBe('payroll-PERMISSIONS-CANARY');
		await t.service.deleteSecret(admin, 'payroll-db');
		await t.service.restoreSecret(admin, 'payroll-db');
	});
});

describe('secret-name patterns', () => {
	it('denies an out-of-pattern name identically whether it exists or not', async () => {
		const limited = await tokenFor({ subject: 'stripe-only', role: 'user', secrets: ['stripe-*'] });
		expect((await use(limited)).value).toBe('sk_live_PERMISSIONS_CANARY');
		const existing = (await use(limited, 'payroll-db').catch((e: unknown) => e)) as Error & {
			code: string;
		};
		const missing = (await use(limited, 'payroll-xyz').catch((e: unknown) => e)) as Error & {
			code: string;
		};
		expect(existing.code).toBe('ACCESS_DENIED');
		expect(missing.code).toBe(existing.code);
		expect(missing.message.replace('payroll-xyz', 'NAME')).toBe(
			existing.message.replace('payroll-db', 'NAME'),
		);
		const denies = (await auditEvents()).filter((e) => e.action === 'deny');
		expect(denies.map((e) => e.secret).sort()).toEqual(['payroll-db', 'payroll-xyz']);
		expect(new Set(denies.map((e) => e.reason))).toEqual(
			new Set(['use: name outside token patterns']),
		);
	});

	it('limits listing and metadata to matching names', async () => {
		const limited = await tokenFor({
			subject: 'stripe-only',
			role: 'viewer',
			secrets: ['stripe-*'],
		});
		expect((await t.service.listSecrets(limited, {})).items.map((s) => s.name)).toEqual([
			'stripe-key',
		]);
		await expect(t.service.getSecret(limited, 'payroll-db')).rejects.toMatchObject({
			code: 'ACCESS_DENIED',
		});
	});
});

describe('destination binding', () => {
	beforeEach(async () => {
		await t.service.updateSecret(admin, {
			name: 'stripe-key',
			allowedHosts: ['api.stripe.com', '*.stripe.net'],
		});
	});

	it('sends a bound secret only to its hosts', async () => {
		const user = await tokenFor({ subject: 'runner', role: 'user' });
		for (const host of ['api.stripe.com', 'API.Stripe.com.', 'x.stripe.net', 'a.b.stripe.net']) {
			expect((await use(user, 'stripe-key', { destinationHost: host })).value).toBe(
				'sk_live_PERMISSIONS_CANARY',
			);
		}
		for (const host of ['stripe.net', 'evil.com', 'api.stripe.com.evil.com', 'xstripe.net']) {
			const err = (await use(user, 'stripe-key', { destinationHost: host }).catch(
				(e: unknown) => e,
			)) as Error;
			expect(err).toMatchObject({ code: 'DESTINATION_NOT_ALLOWED' });
			expect(err.message).not.toContain('PERMISSIONS_CANARY');
		}
		await expect(use(user)).rejects.toMatchObject({ code: 'DESTINATION_NOT_ALLOWED' });
		const denied = (await auditEvents()).filter((e) => e.action === 'deny');
		expect(denied.map((e) => e.destinationHost)).toEqual(
			expect.arrayContaining(['evil.com', 'stripe.net', 'api.stripe.com.evil.com', 'xstripe.net']),
		);
	});

	it('does not apply to reveal, which needs the stronger permission', async () => {
		const revealer = await tokenFor({ subject: 'break-glass', role: 'revealer' });
		expect(
			(await t.service.reveal(revealer, { name: 'stripe-key', environment: 'production' })).value,
		).toBe('sk_live_PERMISSIONS_CANARY');
	});
});

describe('allowed consumers', () => {
	it('lets only matching token subjects use the secret', async () => {
		await t.service.updateSecret(admin, { name: 'payroll-db', allowedConsumers: ['n8n-prod-*'] });
		const prod = await tokenFor({ subject: 'n8n-prod-1', role: 'user' });
		const alice = await tokenFor({ subject: 'alice', role: 'user' });
		expect((await use(prod, 'payroll-db')).value).toBe('payroll-PERMISSIONS-CANARY');
		await expect(use(alice, 'payroll-db')).rejects.toMatchObject({ code: 'ACCESS_DENIED' });
	});
});

describe('tokens', () => {
	it('refuses an expired token', async () => {
		const short = await tokenFor({ subject: 'short', role: 'user', ttl: '1h' });
		expect((await use(short)).version).toBe(1);
		t.clock.advanceDays(2 / 24);
		await expect(use(short)).rejects.toMatchObject({ code: 'TOKEN_EXPIRED' });
	});

	it('refuses a revoked token on its next call, though its signature was already verified', async () => {
		const user = await tokenFor({ subject: 'runner', role: 'user' });
		expect((await use(user)).version).toBe(1);
		await t.service.revokeToken(admin, user.jti);
		await expect(use(user)).rejects.toMatchObject({ code: 'TOKEN_REVOKED' });
		await expect(t.service.listSecrets(user, {})).rejects.toMatchObject({ code: 'TOKEN_REVOKED' });
		const listed = (await t.service.listTokens(admin)).find((x) => x.jti === user.jti);
		expect(listed!.revokedAt).not.toBeNull();
	});

	it('sees a revocation made by another process on the same store', async () => {
		const user = await tokenFor({ subject: 'runner', role: 'user' });
		expect((await use(user)).version).toBe(1);
		const other = await t.open();
		await other.revokeToken(admin, user.jti);
		await expect(use(user)).rejects.toMatchObject({ code: 'TOKEN_REVOKED' });
	});

	it('refuses forged, edited and garbage tokens', async () => {
		const other = await createTestStore();
		try {
			const foreign = await other.service.createToken(other.admin, {
				subject: 'runner',
				role: 'admin',
			});
			await expect(use({ token: foreign.token })).rejects.toMatchObject({ code: 'TOKEN_INVALID' });
		} finally {
			await other.cleanup();
		}
		const user = await tokenFor({ subject: 'runner', role: 'user' });
		const [h, p, s] = user.token.split('.');
		const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
		const escalated = Buffer.from(JSON.stringify({ ...claims, scp: ['admin'] })).toString(
			'base64url',
		);
		await expect(
			t.service.reveal(
				{ token: `${h}.${escalated}.${s}` },
				{ name: 'stripe-key', environment: 'production' },
			),
		).rejects.toMatchObject({ code: 'TOKEN_INVALID' });
		await expect(use({ token: 'not-a-token' })).rejects.toMatchObject({ code: 'TOKEN_INVALID' });
		await expect(use({ token: '' })).rejects.toMatchObject({ code: 'TOKEN_INVALID' });
	});

	it('does not let a non-admin create tokens, and validates token input', async () => {
		const user = await tokenFor({ subject: 'runner', role: 'user' });
		await expect(t.service.createToken(user, { subject: 'x', role: 'user' })).rejects.toMatchObject(
			{
				code: 'ACCESS_DENIED',
			},
		);
		await expect(
			t.service.createToken(admin, { subject: 'x', role: 'user', scopes: ['secrets:use'] }),
		).rejects.toMatchObject({ code: 'INVALID_INPUT' });
		await expect(t.service.createToken(admin, { subject: 'x' })).rejects.toMatchObject({
			code: 'INVALID_INPUT',
		});
	});

	it('tells a token what it may do', async () => {
		const user = await tokenFor({
			subject: 'runner',
			role: 'user',
			environments: ['staging'],
			secrets: ['stripe-*'],
			ttl: '30d',
		});
		const me = await t.service.whoami(user);
		expect(me).toMatchObject({
			tenant: 'default',
			subject: 'runner',
			jti: user.jti,
			scopes: ['secrets:list', 'secrets:use'],
			environments: ['staging'],
			secrets: ['stripe-*'],
		});
		expect(Date.parse(me.expiresAt!) - t.clock.ms).toBe(30 * 86_400_000);
	});

	it('keeps issued tokens valid across a reopen of the store', async () => {
		const user = await tokenFor({ subject: 'runner', role: 'user' });
		const again = await SecretsService.open(t.driver(), t.key, { now: t.clock.now });
		try {
			expect((await again.use(user, { name: 'stripe-key', environment: 'production' })).value).toBe(
				'sk_live_PERMISSIONS_CANARY',
			);
		} finally {
			await again.close();
		}
	});
});
