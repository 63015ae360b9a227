/**
 * A token's limits (environments, name patterns, lifetime) hold for everything it does: the tokens
 * it mints, lists and revokes, the audit events and metadata it reads, the secret-wide changes and
 * housekeeping it makes, and the tenant it re-encrypts; and a value goes only where its binding
 * (scheme, host, port) allows and only to a token allowed to receive it.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { exceededLimit, globCovered, hasScope } from '../../src/auth/permissions';
import type { AuditEvent, Principal, Scope } from '../../src/core/model';
import type { CreateTokenInput } from '../../src/core/schemas';
import { SecretsService } from '../../src/service/secrets-service';
import { type Answer, type ApiServer, startApiServer } from '../helpers/api-server';
import { createTestStore, type TestStore } from '../helpers/store';

const DAY = 86_400_000;
const STRIPE_STAGING = 'sk_test_STAGING_canary_41';
const STRIPE_PROD = 'sk_live_PRODUCTION_canary_42';
const PAYROLL = 'payroll-CANARY-43';

let t: TestStore;

beforeEach(async () => {
	t = await createTestStore();
	for (const [name, environment, value] of [
		['stripe-key', 'staging', STRIPE_STAGING],
		['stripe-key', 'production', STRIPE_PROD],
		['payroll-db', 'staging', `${PAYROLL}-staging`],
		['payroll-db', 'production', PAYROLL],
	] as const) {
		if (environment === 'staging')
			await t.service.createSecret(t.admin, { name, type: 'API_KEY', environment, value });
		else await t.service.setValue(t.admin, { name, environment, value });
	}
});

afterEach(() => t.cleanup());

async function issue(
	input: CreateTokenInput,
	by: { token: string } = t.admin,
): Promise<{ token: string; jti: string; expiresAt: string | null }> {
	const { token, info } = await t.service.createToken(by, input);
	return { token, jti: info.jti, expiresAt: info.expiresAt };
}

/** The store admin's `token create --role admin --env staging --secrets 'stripe-*'`. */
const limitedAdmin = (ttl: CreateTokenInput['ttl'] = '90d') =>
	issue({
		subject: 'ci-admin',
		role: 'admin',
		environments: ['staging'],
		secrets: ['stripe-*'],
		ttl,
	});

const failure = (p: Promise<unknown>) =>
	p.then(
		() => ({ code: 'none (it succeeded)' }) as { code: string; message?: string },
		(e: { code: string; message: string }) => e,
	);

async function trail(filter: Parameters<SecretsService['listAudit']>[1] = {}) {
	return (await t.service.listAudit(t.admin, { limit: 1000, ...filter })).items;
}

async function withApi<T>(
	fn: (api: ApiServer) => Promise<T>,
	options: Parameters<typeof startApiServer>[1] = {},
): Promise<T> {
	const api = await startApiServer(t, options);
	try {
		return await fn(api);
	} finally {
		await api.close();
	}
}

describe('the issue: an admin limited to staging + stripe-* mints an admin token', () => {
	it('gets a token limited the same way, which cannot reveal production or payroll-db', async () => {
		const parent = await limitedAdmin();
		await withApi(async (api) => {
			const minted = await api.call('POST', '/api/v1/tokens', {
				token: parent.token,
				body: { subject: 'child-admin', role: 'admin' },
			});
			expect(minted.status).toBe(201);
			expect(minted.body.info).toMatchObject({
				scopes: ['admin'],
				environments: ['staging'],
				secrets: ['stripe-*'],
			});
			expect(Date.parse(minted.body.info.expiresAt)).toBeLessThanOrEqual(
				Date.parse(parent.expiresAt!),
			);
			const child = minted.body.token as string;
			const me = await api.call('GET', '/api/v1/whoami', { token: child });
			expect(me.body).toMatchObject({ environments: ['staging'], secrets: ['stripe-*'] });

			const reveal = (name: string, env: string) =>
				api.call('POST', `/api/v1/secrets/${name}/reveal?env=${env}`, { token: child, body: {} });
			const answers = [];
			for (const [name, env] of [
				['stripe-key', 'production'],
				['payroll-db', 'staging'],
				['payroll-db', 'production'],
			])
				answers.push({ name, env, ...pick(await reveal(name, env)) });
			expect(answers).toEqual([
				{ name: 'stripe-key', env: 'production', status: 403, code: 'ACCESS_DENIED' },
				{ name: 'payroll-db', env: 'staging', status: 403, code: 'ACCESS_DENIED' },
				{ name: 'payroll-db', env: 'production', status: 403, code: 'ACCESS_DENIED' },
			]);
			expect(JSON.stringify(answers)).not.toMatch(/canary|CANARY/);
			const allowed = await reveal('stripe-key', 'staging');
			expect({ status: allowed.status, value: allowed.body.value }).toEqual({
				status: 200,
				value: STRIPE_STAGING,
			});

			// And the child's own children: the limits pass on and on.
			const grandchild = await api.call('POST', '/api/v1/tokens', {
				token: child,
				body: { subject: 'grandchild', role: 'admin', ttl: 'never' },
			});
			expect(grandchild.status).toBe(201);
			expect(grandchild.body.info).toMatchObject({
				environments: ['staging'],
				secrets: ['stripe-*'],
				expiresAt: minted.body.info.expiresAt,
			});
		});
	});
});

describe('minting stays within the minting token', () => {
	it('needs admin: a token with every other scope cannot mint even a viewer', async () => {
		const allButAdmin = await issue({
			subject: 'almost',
			scopes: [
				'secrets:list',
				'secrets:use',
				'secrets:relay',
				'secrets:runtime',
				'secrets:reveal',
				'secrets:write',
				'secrets:delete',
				'audit:read',
			],
		});
		const operator = await issue({ subject: 'op', role: 'operator' });
		for (const by of [allButAdmin, operator])
			expect(
				await failure(t.service.createToken(by, { subject: 'x', role: 'viewer' })),
			).toMatchObject({ code: 'ACCESS_DENIED' });
	});

	it('checks scopes too: a principal without a scope may not hand it on (admin holds them all)', () => {
		// Over the API only admin tokens mint, and admin holds every scope; the check is for any
		// other caller of exceededLimit.
		const p = (scopes: Scope[]): Principal => ({
			tenant: 'default',
			subject: 's',
			jti: 'j',
			scopes,
			environments: [],
			secrets: [],
			expiresAt: null,
		});
		const want = (scopes: Scope[]) => ({ scopes, environments: [], secrets: [], expiresAt: null });
		expect(exceededLimit(p(['secrets:list']), want(['secrets:reveal']))).toContain(
			'secrets:reveal',
		);
		expect(exceededLimit(p(['secrets:use']), want(['secrets:relay']))).toBeNull();
		expect(exceededLimit(p(['secrets:use']), want(['secrets:runtime']))).toContain('runtime');
		expect(exceededLimit(p(['secrets:relay']), want(['secrets:use']))).toContain('secrets:use');
		expect(exceededLimit(p(['admin']), want(['admin', 'secrets:reveal']))).toBeNull();
		expect(hasScope(p(['secrets:use']), 'secrets:reveal')).toBe(false);
	});

	it('lets a limited admin mint any role, limited as it is itself', async () => {
		const parent = await limitedAdmin();
		for (const role of ['revealer', 'operator', 'auditor', 'admin'] as const) {
			const { info } = await t.service.createToken(parent, { subject: `as-${role}`, role });
			expect({ role, environments: info.environments, secrets: info.secrets }).toEqual({
				role,
				environments: ['staging'],
				secrets: ['stripe-*'],
			});
		}
	});

	const envCases: [string[], string[] | null][] = [
		[[], ['staging']],
		[['staging'], ['staging']],
		[['production'], null],
		[['staging', 'production'], null],
		[['*'], null],
	];
	it.each(envCases)(
		'environments %j from a staging admin: %j (null: 403, audited)',
		async (environments, granted) => {
			const parent = await limitedAdmin();
			const before = (await trail({ tokenId: parent.jti, outcome: 'denied' })).length;
			const tokensBefore = (await t.service.listTokens(t.admin)).length;
			const r = await t.service
				.createToken(parent, { subject: 'asked', role: 'viewer', environments })
				.then(
					({ info }) => info.environments,
					(e: { code: string }) => e.code,
				);
			expect(r).toEqual(granted ?? 'ACCESS_DENIED');
			const denials = await trail({ tokenId: parent.jti, outcome: 'denied' });
			expect(denials.length - before).toBe(granted ? 0 : 1);
			if (!granted) {
				expect(denials[0].reason).toContain('token.create');
				expect((await t.service.listTokens(t.admin)).length).toBe(tokensBefore);
			}
		},
	);

	it('lets an admin limited to two environments mint for one of them, and an unlimited one for any', async () => {
		const two = await issue({ subject: 'two', role: 'admin', environments: ['staging', 'dev'] });
		const { info } = await t.service.createToken(two, {
			subject: 'dev-only',
			role: 'user',
			environments: ['dev'],
		});
		expect(info.environments).toEqual(['dev']);
		const any = await t.service.createToken(t.admin, {
			subject: 'prod',
			role: 'user',
			environments: ['production'],
		});
		expect(any.info.environments).toEqual(['production']);
	});

	const globCases: [string[], boolean][] = [
		[['stripe-*'], true],
		[['stripe-live-*'], true],
		[['stripe-?*'], true],
		[['stripe-key'], true],
		[['stripe-?'], true],
		[['*'], false],
		[['stripe*'], false],
		[['str?pe-*'], false],
		[['?tripe-*'], false],
		[['stripe-*', 'payroll-*'], false],
		[['payroll-db'], false],
		[['Stripe-*'], false],
	];
	it.each(globCases)(
		'secrets %j from a stripe-* admin: allowed %s (403 otherwise, over HTTP)',
		async (secrets, allowed) => {
			const parent = await limitedAdmin();
			await withApi(async (api) => {
				const r = await api.call('POST', '/api/v1/tokens', {
					token: parent.token,
					body: { subject: 'asked', role: 'user', secrets },
				});
				if (allowed) {
					expect(r.status).toBe(201);
					expect(r.body.info.secrets).toEqual(secrets);
				} else {
					expect(pick(r)).toEqual({ status: 403, code: 'ACCESS_DENIED' });
					expect(r.body.message).toContain('within its own limits');
				}
			});
		},
	);

	it('lets an admin with two patterns mint within either', async () => {
		const two = await issue({ subject: 'two', role: 'admin', secrets: ['stripe-*', 'payroll-*'] });
		const { info } = await t.service.createToken(two, {
			subject: 'p',
			role: 'user',
			secrets: ['payroll-db', 'stripe-live-?'],
		});
		expect(info.secrets).toEqual(['payroll-db', 'stripe-live-?']);
		await expect(
			t.service.createToken(two, { subject: 'q', role: 'user', secrets: ['*-db'] }),
		).rejects.toMatchObject({ code: 'ACCESS_DENIED' });
	});

	it.each([
		// [inner, outer, covered]
		['stripe-*', 'stripe-*', true],
		['stripe-a', 'stripe-*', true],
		['stripe-?', 'stripe-*', true],
		['stripe-?*', 'stripe-*', true],
		['stripe-**', 'stripe-*', true],
		['stripe-*-x', 'stripe-*', true],
		['anything', '*', true],
		['a*xb', 'a*b', true],
		['stripe-?', 'stripe-?', true],
		['stripe-a', 'stripe-?', true],
		['*', 'stripe-*', false],
		['stripe*', 'stripe-*', false],
		['str?pe-*', 'stripe-*', false],
		['?tripe-a', 'stripe-*', false],
		['stripe-*', 'stripe-?', false],
		['stripe-ab', 'stripe-?', false],
		['stripe-?*', 'stripe-?', false],
		['a*', 'a*b', false],
		['a*b*', 'a*b', false],
		['stripe', 'stripe-*', false],
	] as const)('globCovered(%s, %s) is %s', (inner, outer, covered) => {
		expect(globCovered(inner, outer)).toBe(covered);
	});

	it('clamps the lifetime to the minting token and the clamped token expires with it', async () => {
		const parent = await limitedAdmin('1d');
		const end = Date.parse(parent.expiresAt!);
		const expiry = async (ttl: CreateTokenInput['ttl']) =>
			(await t.service.createToken(parent, { subject: `ttl-${ttl}`, role: 'viewer', ttl })).info
				.expiresAt;
		expect(Date.parse((await expiry('1h'))!)).toBe(t.clock.ms + 3_600_000);
		expect(await expiry('7d')).toBe(parent.expiresAt);
		expect(await expiry('never')).toBe(parent.expiresAt);
		const { token } = await t.service.createToken(parent, {
			subject: 'clamped',
			role: 'viewer',
			ttl: 'never',
		});
		expect((await t.service.listSecrets({ token }, {})).items.length).toBe(1);
		t.clock.ms = end + 1000;
		await expect(t.service.listSecrets({ token }, {})).rejects.toMatchObject({
			code: 'TOKEN_EXPIRED',
		});

		// An unlimited admin's lifetime bounds its tokens too; only a never-expiring one mints such.
		t.clock.ms = end - DAY;
		const storeAdmin = await t.service.whoami(t.admin);
		expect(
			(await t.service.createToken(t.admin, { subject: 'n', role: 'viewer', ttl: 'never' })).info
				.expiresAt,
		).toBe(storeAdmin.expiresAt);
		const forever = await SecretsService.init(
			t.driver(),
			t.key,
			{ tenant: 'forever', ttl: 'never' },
			{ now: t.clock.now },
		);
		try {
			const { info } = await forever.service.createToken(
				{ token: forever.token },
				{ subject: 'n', role: 'viewer', ttl: 'never' },
			);
			expect(info.expiresAt).toBeNull();
		} finally {
			await forever.service.close();
		}
	});
});

describe('listing and revoking tokens stays within the caller', () => {
	it('lists only tokens within its limits, and revokes only those (or itself)', async () => {
		const parent = await limitedAdmin('1d');
		const child = await issue({ subject: 'child', role: 'viewer' }, parent);
		const inside = await issue({
			subject: 'inside',
			role: 'user',
			environments: ['staging'],
			secrets: ['stripe-key'],
			ttl: '1h',
		});
		const outside = {
			storeAdmin: (await t.service.whoami(t.admin)).jti,
			production: (
				await issue({
					subject: 'prod',
					role: 'viewer',
					environments: ['production'],
					secrets: ['stripe-*'],
					ttl: '1h',
				})
			).jti,
			allEnvs: (
				await issue({ subject: 'all-envs', role: 'viewer', secrets: ['stripe-*'], ttl: '1h' })
			).jti,
			payroll: (
				await issue({
					subject: 'payroll',
					role: 'viewer',
					environments: ['staging'],
					secrets: ['payroll-*'],
					ttl: '1h',
				})
			).jti,
			allNames: (
				await issue({ subject: 'all-names', role: 'viewer', environments: ['staging'], ttl: '1h' })
			).jti,
		};
		// Lifetime is no limit on listing and revoking: revoking a token that outlives the caller
		// gives nothing away, and a leaked token must be revocable by an older admin.
		const longer = await issue({
			subject: 'longer',
			role: 'viewer',
			environments: ['staging'],
			secrets: ['stripe-*'],
			ttl: '30d',
		});
		await withApi(async (api) => {
			const listed = await api.call('GET', '/api/v1/tokens', { token: parent.token });
			expect(listed.status).toBe(200);
			expect(listed.body.map((x: Answer) => x.jti).sort()).toEqual(
				[parent.jti, child.jti, inside.jti, longer.jti].sort(),
			);
			const all = (await t.service.listTokens(t.admin)).map((x) => x.jti);
			for (const jti of Object.values(outside)) expect(all).toContain(jti);

			const refused = [];
			for (const [which, jti] of Object.entries(outside))
				refused.push({
					which,
					...pick(await api.call('DELETE', `/api/v1/tokens/${jti}`, { token: parent.token })),
				});
			expect(refused).toEqual(
				Object.keys(outside).map((which) => ({ which, status: 403, code: 'ACCESS_DENIED' })),
			);
			expect((await t.service.listTokens(t.admin)).filter((x) => x.revokedAt)).toEqual([]);
			expect((await trail({ tokenId: parent.jti, outcome: 'denied' })).length).toBe(
				Object.keys(outside).length,
			);
			// The store admin's token still works.
			expect((await api.call('GET', '/api/v1/tokens', { token: t.admin.token })).status).toBe(200);

			for (const jti of [inside.jti, child.jti, longer.jti])
				expect(
					(await api.call('DELETE', `/api/v1/tokens/${jti}`, { token: parent.token })).status,
				).toBe(200);
			expect(pick(await api.call('GET', '/api/v1/whoami', { token: inside.token }))).toEqual({
				status: 401,
				code: 'TOKEN_REVOKED',
			});
			const self = await api.call('DELETE', `/api/v1/tokens/${parent.jti}`, {
				token: parent.token,
			});
			expect(self.status).toBe(200);
			expect(pick(await api.call('GET', '/api/v1/tokens', { token: parent.token }))).toEqual({
				status: 401,
				code: 'TOKEN_REVOKED',
			});
		});
	});
});

describe('revoking in an incident', () => {
	it('lets the store admin revoke a leaked token issued later by a newer admin, though it outlives the old admin', async () => {
		t.clock.advanceDays(10);
		const holder = await SecretsService.init(
			t.driver(),
			t.key,
			{ subject: 'admin2', ttl: '90d' },
			{ now: t.clock.now },
		);
		await holder.service.close();
		const leaked = await issue({ subject: 'leaky', role: 'revealer', ttl: '85d' }, holder);
		// The first admin expires 5 days before the leaked token does.
		expect(Date.parse(leaked.expiresAt!)).toBeGreaterThan(
			Date.parse((await t.service.whoami(t.admin)).expiresAt!),
		);
		expect((await t.service.listTokens(t.admin)).map((x) => x.jti)).toContain(leaked.jti);
		await t.service.revokeToken(t.admin, leaked.jti);
		expect(await failure(t.service.whoami({ token: leaked.token }))).toMatchObject({
			code: 'TOKEN_REVOKED',
		});
	});

	it('answers a limited token the same for an unknown token id as for one outside its limits', async () => {
		const parent = await limitedAdmin('1d');
		const outside = await issue({ subject: 'prod', role: 'viewer', environments: ['production'] });
		const unknown = await failure(
			t.service.revokeToken(parent, '00000000-0000-4000-8000-000000000000'),
		);
		const beyond = await failure(t.service.revokeToken(parent, outside.jti));
		expect(unknown.code).toBe('ACCESS_DENIED');
		expect(beyond.code).toBe('ACCESS_DENIED');
		expect(beyond.message!.replace(outside.jti, 'X')).toBe(
			unknown.message!.replace('00000000-0000-4000-8000-000000000000', 'X'),
		);
		// An unlimited admin is simply told the id is unknown.
		expect(
			await failure(t.service.revokeToken(t.admin, '00000000-0000-4000-8000-000000000000')),
		).toMatchObject({ code: 'INVALID_INPUT' });
	});
});

/** The rule for audit reads, written out independently of the service. */
function auditVisible(
	limits: { environments: string[]; secrets: string[] },
	e: AuditEvent,
): boolean {
	if (
		e.environment !== null &&
		limits.environments.length > 0 &&
		!limits.environments.includes(e.environment)
	)
		return false;
	if (e.secret === null)
		return (
			limits.secrets.length === 0 && (e.environment !== null || limits.environments.length === 0)
		);
	return (
		limits.secrets.length === 0 ||
		limits.secrets.some((g) => new RegExp(`^${g.replace(/\*/g, '.*')}$`).test(e.secret!))
	);
}

describe('audit reads of a limited token', () => {
	beforeEach(async () => {
		await t.service.createSecret(t.admin, { name: 'stripe-live', environment: '*', value: 'x' });
		await t.service.updateSecret(t.admin, { name: 'stripe-key', description: 'secret-wide' });
		const viewer = await issue({ subject: 'viewer', role: 'viewer' });
		// Denials that name an environment but no secret (a relay refused before any reference).
		for (const env of ['staging', 'production'])
			await expect(t.service.authorizeRelay(viewer, env)).rejects.toMatchObject({
				code: 'ACCESS_DENIED',
			});
		// Many events the limited tokens must skip, between the ones they see.
		for (let i = 0; i < 12; i++) {
			await t.service.setValue(t.admin, {
				name: 'payroll-db',
				environment: 'staging',
				value: `p${i}`,
			});
			await t.service.setValue(t.admin, {
				name: 'stripe-key',
				environment: 'production',
				value: `q${i}`,
			});
			if (i % 3 === 0)
				await t.service.setValue(t.admin, {
					name: 'stripe-key',
					environment: 'staging',
					value: `s${i}`,
				});
		}
		await t.service.use(t.admin, { name: 'stripe-key', environment: 'staging' });
		await t.service.use(t.admin, { name: 'payroll-db', environment: 'staging' });
	});

	const limits = [
		{ environments: ['staging'], secrets: ['stripe-*'] },
		{ environments: [], secrets: ['stripe-*'] },
		{ environments: ['staging'], secrets: [] },
	];

	it.each(limits)(
		'shows an auditor limited to %j exactly the events within its limits',
		async (l) => {
			const auditor = await issue({ subject: 'auditor', role: 'auditor', ...l });
			const all = await trail();
			const expected = all.filter((e) => auditVisible(l, e)).map((e) => e.seq);
			expect(expected.length).toBeGreaterThan(3);
			expect(expected.length).toBeLessThan(all.length - 10);
			const seen = (await t.service.listAudit(auditor, { limit: 1000 })).items.map((e) => e.seq);
			expect(seen).toEqual(expected);
			// Filtering by a secret outside the token answers nothing, not the events.
			expect((await t.service.listAudit(auditor, { secret: 'payroll-db' })).items).toEqual(
				l.secrets.length ? [] : expect.any(Array),
			);
		},
	);

	it('still returns full pages, by cursor and by afterSeq, over HTTP too', async () => {
		const l = limits[0];
		const auditor = await issue({ subject: 'auditor', role: 'auditor', ...l });
		const expected = (await trail()).filter((e) => auditVisible(l, e)).map((e) => e.seq);
		for (const limit of [4, 5, expected.length]) {
			const pages: number[][] = [];
			let cursor: string | undefined;
			do {
				const page = await t.service.listAudit(auditor, { limit, cursor });
				pages.push(page.items.map((e) => e.seq));
				cursor = page.nextCursor;
			} while (cursor);
			expect(pages.flat()).toEqual(expected);
			if (limit < expected.length) expect(pages.length).toBeGreaterThan(1);
			expect(pages.slice(0, -1).every((p) => p.length === limit)).toBe(true);
			expect(pages.at(-1)!.length).toBeGreaterThan(0);

			const forward: number[][] = [];
			let after = 0;
			for (;;) {
				const page = await t.service.listAudit(auditor, { limit, afterSeq: after });
				if (page.items.length === 0) break;
				forward.push(page.items.map((e) => e.seq));
				after = page.items.at(-1)!.seq;
			}
			expect(forward.flat()).toEqual([...expected].reverse());
			expect(forward.slice(0, -1).every((p) => p.length === limit)).toBe(true);
		}
		await withApi(async (api) => {
			const r = await api.call('GET', '/api/v1/audit?limit=4', { token: auditor.token });
			expect(r.body.items.map((e: Answer) => e.seq)).toEqual(expected.slice(0, 4));
			expect(r.body.nextCursor).toBe(String(expected[3]));
		});
	});
});

describe('metadata shows only the environments the token may act in', () => {
	beforeEach(async () => {
		await t.service.setValue(t.admin, { name: 'stripe-key', environment: '*', value: 'shared' });
	});

	const envs = (m: Answer) => m.environments.map((e: Answer) => e.environment).sort();

	it('in GET /secrets, GET /secrets/{name} and what create and update return', async () => {
		const operator = await issue({ subject: 'op', role: 'operator', environments: ['staging'] });
		const viewer = await issue({ subject: 'v', role: 'viewer' });
		await withApi(async (api) => {
			const one = await api.call('GET', '/api/v1/secrets/stripe-key', { token: operator.token });
			expect(envs(one.body)).toEqual(['*', 'staging']);
			const list = await api.call('GET', '/api/v1/secrets', { token: operator.token });
			expect(list.body.items.map((m: Answer) => [m.name, envs(m)])).toEqual([
				['payroll-db', ['staging']],
				['stripe-key', ['*', 'staging']],
			]);
			const patched = await api.call('PATCH', '/api/v1/secrets/stripe-key', {
				token: operator.token,
				body: { description: 'd' },
			});
			expect(envs(patched.body)).toEqual(['*', 'staging']);
			const created = await api.call('POST', '/api/v1/secrets', {
				token: operator.token,
				body: { name: 'new-one', environment: 'staging', value: 'n' },
			});
			expect(created.status).toBe(201);
			expect(envs(created.body)).toEqual(['staging']);

			expect(
				envs((await api.call('GET', '/api/v1/secrets/stripe-key', { token: viewer.token })).body),
			).toEqual(['*', 'production', 'staging']);

			const byEnv = [];
			for (const env of ['staging', 'production', '*'])
				byEnv.push({
					env,
					...pick(
						await api.call('GET', `/api/v1/secrets?env=${encodeURIComponent(env)}`, {
							token: operator.token,
						}),
					),
				});
			expect(byEnv).toEqual([
				{ env: 'staging', status: 200, code: undefined },
				{ env: 'production', status: 403, code: 'ACCESS_DENIED' },
				{ env: '*', status: 403, code: 'ACCESS_DENIED' },
			]);
			expect(
				(await api.call('GET', '/api/v1/secrets?env=production', { token: viewer.token })).status,
			).toBe(200);
		});
	});
});

describe('secret-wide changes need every environment the secret has a value in', () => {
	const wide: [string, Record<string, unknown>][] = [
		['allowedHosts', { allowedHosts: ['api.stripe.com'] }],
		['allowedConsumers', { allowedConsumers: ['svc-*'] }],
		['rotationPolicy', { rotationPolicy: 'AUTOMATIC', rotationIntervalDays: 7 }],
		['rotationIntervalDays', { rotationIntervalDays: 30 }],
		['maxVersions', { maxVersions: 5 }],
		['previousWindowDays', { previousWindowDays: 1 }],
		['description with allowedHosts', { description: 'sneaky', allowedHosts: ['*'] }],
	];

	it.each(wide)(
		'refuses a staging-only operator %s on a secret with a production value, and changes nothing',
		async (_field, patch) => {
			const operator = await issue({ subject: 'op', role: 'operator', environments: ['staging'] });
			const before = await t.service.getSecret(t.admin, 'stripe-key');
			await withApi(async (api) => {
				const r = await api.call('PATCH', '/api/v1/secrets/stripe-key', {
					token: operator.token,
					body: patch,
				});
				expect(pick(r)).toEqual({ status: 403, code: 'ACCESS_DENIED' });
			});
			expect(await t.service.getSecret(t.admin, 'stripe-key')).toEqual(before);
			expect((await trail({ tokenId: operator.jti, outcome: 'denied' }))[0]).toMatchObject({
				secret: 'stripe-key',
			});
		},
	);

	it('lets a staging-only operator change description and tags', async () => {
		const operator = await issue({ subject: 'op', role: 'operator', environments: ['staging'] });
		const r = await t.service.updateSecret(operator, {
			name: 'stripe-key',
			description: 'payments',
			tags: ['team:pay'],
		});
		expect(r).toMatchObject({ description: 'payments', tags: ['team:pay'] });
	});

	it('refuses delete, restore and purge to a staging-only admin on a secret with a production value', async () => {
		const staging = await issue({ subject: 'stg', role: 'admin', environments: ['staging'] });
		await expect(t.service.deleteSecret(staging, 'stripe-key')).rejects.toMatchObject({
			code: 'ACCESS_DENIED',
		});
		expect((await t.service.getSecret(t.admin, 'stripe-key')).deletedAt).toBeNull();
		await t.service.deleteSecret(t.admin, 'stripe-key');
		await withApi(async (api) => {
			for (const op of ['restore', 'purge'])
				expect({
					op,
					...pick(
						await api.call('POST', `/api/v1/secrets/stripe-key/${op}`, { token: staging.token }),
					),
				}).toEqual({ op, status: 403, code: 'ACCESS_DENIED' });
		});
		expect((await t.service.getSecret(t.admin, 'stripe-key')).deletedAt).not.toBeNull();
		await t.service.restoreSecret(t.admin, 'stripe-key');
	});

	it('counts the line shared by all environments (*) as one the token does not cover', async () => {
		const operator = await issue({ subject: 'op', role: 'operator', environments: ['staging'] });
		await t.service.createSecret(t.admin, { name: 'shared', environment: 'staging', value: 'a' });
		await t.service.setValue(t.admin, { name: 'shared', environment: '*', value: 'b' });
		await expect(
			t.service.updateSecret(operator, { name: 'shared', allowedHosts: ['api.example.com'] }),
		).rejects.toMatchObject({ code: 'ACCESS_DENIED' });
	});

	it('allows all of it when the secret has values only in the token environments', async () => {
		const staging = await issue({ subject: 'stg', role: 'admin', environments: ['staging'] });
		await t.service.createSecret(t.admin, { name: 'stg-only', environment: 'staging', value: 'a' });
		for (const [, patch] of wide)
			await t.service.updateSecret(staging, { name: 'stg-only', ...patch });
		expect(await t.service.getSecret(t.admin, 'stg-only')).toMatchObject({
			allowedHosts: ['*'],
			maxVersions: 5,
			previousWindowDays: 1,
			rotationIntervalDays: 30,
		});
		await t.service.deleteSecret(staging, 'stg-only');
		await t.service.restoreSecret(staging, 'stg-only');
		await t.service.deleteSecret(staging, 'stg-only');
		await t.service.purgeSecret(staging, 'stg-only');
		await expect(t.service.getSecret(t.admin, 'stg-only')).rejects.toMatchObject({
			code: 'SECRET_NOT_FOUND',
		});
		// And an unlimited operator changes the secret with a production value.
		const operator = await issue({ subject: 'op', role: 'operator' });
		await t.service.updateSecret(operator, { name: 'stripe-key', maxVersions: 7 });
	});
});

describe('steering a value: allowed hosts and consumers need the reveal permission', () => {
	it('refuses an operator that would rebind a secret to its own server and relay it there', async () => {
		const thief: { url: string[] } = { url: [] };
		const server: Server = createServer((req, res) => {
			thief.url.push(String(req.url));
			res.end('{}');
		});
		await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
		const own = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
		try {
			const operator = await issue({ subject: 'op', role: 'operator' });
			for (const patch of [
				{ allowedHosts: [own] },
				{ allowedHosts: ['*'] },
				{ allowedConsumers: ['op'] },
			])
				expect(
					await failure(t.service.updateSecret(operator, { name: 'stripe-key', ...patch })),
				).toMatchObject({
					code: 'ACCESS_DENIED',
					message: expect.stringContaining('secrets:reveal'),
				});
			await withApi(async (api) => {
				const r = await api.call('POST', '/api/v1/relay', {
					token: operator.token,
					body: {
						environment: 'production',
						method: 'GET',
						url: `${own}/e?x=[[secret:stripe-key]]`,
					},
				});
				expect(pick(r)).toEqual({ status: 403, code: 'DESTINATION_NOT_ALLOWED' });
			});
			expect(thief.url).toEqual([]);
			const denials = await trail({ tokenId: operator.jti, outcome: 'denied' });
			expect(denials.filter((e) => e.reason?.includes('without secrets:reveal'))).toHaveLength(3);

			// Who may read the value anyway may decide where it goes.
			const steward = await issue({
				subject: 'steward',
				scopes: ['secrets:list', 'secrets:write', 'secrets:reveal'],
			});
			await t.service.updateSecret(steward, {
				name: 'stripe-key',
				allowedHosts: ['api.stripe.com'],
			});
			await t.service.updateSecret(t.admin, { name: 'stripe-key', allowedConsumers: ['op'] });
			// A revealer without write may not change metadata at all.
			const revealer = await issue({ subject: 'rev', role: 'revealer' });
			expect(
				await failure(
					t.service.updateSecret(revealer, { name: 'stripe-key', allowedHosts: ['*'] }),
				),
			).toMatchObject({ code: 'ACCESS_DENIED' });
		} finally {
			await new Promise((r) => server.close(r));
		}
	});
});

describe('maintenance by a limited admin', () => {
	it('purges and trims only secrets within the token', async () => {
		for (const [name, envs] of [
			['stripe-old', ['staging']],
			['stripe-wide', ['staging', 'production']],
			['payroll-old', ['staging']],
		] as const) {
			for (const env of envs)
				if (env === 'staging')
					await t.service.createSecret(t.admin, { name, environment: env, value: 'v' });
				else await t.service.setValue(t.admin, { name, environment: env, value: 'v' });
			await t.service.deleteSecret(t.admin, name);
		}
		// A previous value in every line of the live secrets, past its 7-day window below.
		for (const [name, env] of [
			['stripe-key', 'staging'],
			['stripe-key', 'production'],
			['payroll-db', 'staging'],
		] as const)
			await t.service.setValue(t.admin, { name, environment: env, value: 'next' });
		const limited = await limitedAdmin();
		t.clock.advanceDays(31);

		expect(await t.service.maintenance(limited)).toEqual({
			purged: ['stripe-old'],
			retentionApplied: 1,
		});
		const deleted = (await t.service.listSecrets(t.admin, { includeDeleted: true })).items
			.filter((s) => s.deletedAt)
			.map((s) => s.name);
		expect(deleted).toEqual(['payroll-old', 'stripe-wide']);
		const destroyed = async (name: string, environment: string) =>
			(await t.service.listVersions(t.admin, { name, environment })).filter((v) => v.destroyedAt)
				.length;
		expect({
			stripeStaging: await destroyed('stripe-key', 'staging'),
			stripeProduction: await destroyed('stripe-key', 'production'),
			payrollStaging: await destroyed('payroll-db', 'staging'),
		}).toEqual({ stripeStaging: 1, stripeProduction: 0, payrollStaging: 0 });

		expect(await t.service.maintenance(t.admin)).toEqual({
			purged: ['payroll-old', 'stripe-wide'],
			retentionApplied: 2,
		});
	});
});

describe('tenant key rotation over the API', () => {
	let acme: SecretsService;
	let acmeAdmin: { token: string };

	beforeEach(async () => {
		const init = await SecretsService.init(
			t.driver(),
			t.key,
			{ tenant: 'acme' },
			{ now: t.clock.now },
		);
		acme = init.service;
		acmeAdmin = { token: init.token };
		await acme.createSecret(acmeAdmin, {
			name: 'acme-key',
			environment: 'production',
			value: 'acme-v1',
		});
		await acme.setValue(acmeAdmin, {
			name: 'acme-key',
			environment: 'production',
			value: 'acme-v2',
		});
	});

	afterEach(() => acme.close());

	const dataKeys = async (tenant: string) =>
		(
			(await t.sql('SELECT id FROM data_keys WHERE tenant = ? ORDER BY id', tenant)) as {
				id: string;
			}[]
		).map((r) => r.id);

	it("re-encrypts only the caller's tenant and audits it only there", async () => {
		const acmeTrail = await acme.listAudit(acmeAdmin, { limit: 1000 });
		const acmeKeys = await dataKeys('acme');
		const ownKeys = await dataKeys('default');
		const me = await t.service.whoami(t.admin);
		await withApi(async (api) => {
			const r = await api.call('POST', '/api/v1/keys/rotate', {
				token: t.admin.token,
				body: { reencrypt: true },
			});
			expect(r).toMatchObject({ status: 200, body: { rewrapped: 0, reencrypted: 4 } });
		});
		expect(await acme.listAudit(acmeAdmin, { limit: 1000 })).toEqual(acmeTrail);
		expect(await dataKeys('acme')).toEqual(acmeKeys);
		expect(await dataKeys('default')).not.toEqual(ownKeys);
		const rotations = await trail({ action: 'key.rotate' });
		expect(rotations).toHaveLength(1);
		expect(rotations[0]).toMatchObject({ actor: me.subject, tokenId: me.jti, tenant: 'default' });
		expect(rotations[0].reason).toContain('4 values');

		expect((await acme.use(acmeAdmin, { name: 'acme-key', environment: 'production' })).value).toBe(
			'acme-v2',
		);
		expect(
			(await t.service.use(t.admin, { name: 'stripe-key', environment: 'production' })).value,
		).toBe(STRIPE_PROD);
		expect((await t.service.verifyAudit(t.admin)).ok).toBe(true);
		expect((await acme.verifyAudit(acmeAdmin)).ok).toBe(true);
	});

	it.each([
		{ environments: ['staging'] },
		{ secrets: ['stripe-*'] },
		{ environments: ['staging'], secrets: ['stripe-*'] },
	])('refuses an admin limited to %j (403), rotating nothing', async (l) => {
		const limited = await issue({ subject: 'lim', role: 'admin', ...l });
		const keys = await dataKeys('default');
		await withApi(async (api) => {
			const r = await api.call('POST', '/api/v1/keys/rotate', {
				token: limited.token,
				body: { reencrypt: true },
			});
			expect(pick(r)).toEqual({ status: 403, code: 'ACCESS_DENIED' });
		});
		expect(await dataKeys('default')).toEqual(keys);
		expect(await trail({ action: 'key.rotate' })).toEqual([]);
	});

	it('leaves the store-wide rotation to the master key holder, audited in every tenant', async () => {
		const r = await t.service.rotateMasterKey({ reencrypt: true });
		expect(r).toEqual({ rewrapped: 0, reencrypted: 6 });
		for (const events of [
			await trail({ action: 'key.rotate' }),
			(await acme.listAudit(acmeAdmin, { action: 'key.rotate' })).items,
		]) {
			expect(events).toHaveLength(1);
			expect(events[0]).toMatchObject({ actor: 'master-key-holder', tokenId: null });
		}
		expect((await acme.use(acmeAdmin, { name: 'acme-key', environment: 'production' })).value).toBe(
			'acme-v2',
		);
		await withApi(async (api) => {
			for (const body of [{}, { reencrypt: false }, { reencrypt: true, newKey: 'x' }])
				expect(
					pick(await api.call('POST', '/api/v1/keys/rotate', { token: t.admin.token, body })),
				).toEqual({ status: 400, code: 'INVALID_INPUT' });
		});
	});
});

describe('use is not reveal over HTTP', () => {
	it('serves /resolve to the runtime role only; in-process use needs only secrets:use', async () => {
		const tokens: Record<string, { token: string }> = {};
		for (const role of ['user', 'runtime', 'relay', 'revealer', 'operator'] as const)
			tokens[role] = await issue({ subject: role, role });
		await withApi(async (api) => {
			const answers: Record<string, unknown> = {};
			for (const [role, { token }] of Object.entries(tokens))
				answers[role] = pick(
					await api.call('POST', '/api/v1/secrets/stripe-key/resolve?env=staging', {
						token,
						body: {},
					}),
				);
			expect(answers).toEqual({
				user: { status: 403, code: 'ACCESS_DENIED' },
				runtime: { status: 200, code: undefined },
				relay: { status: 403, code: 'ACCESS_DENIED' },
				revealer: { status: 403, code: 'ACCESS_DENIED' },
				operator: { status: 403, code: 'ACCESS_DENIED' },
			});
			const runtime = await api.call('POST', '/api/v1/secrets/stripe-key/resolve?env=staging', {
				token: tokens.runtime.token,
				body: {},
			});
			expect(runtime.body.value).toBe(STRIPE_STAGING);
			expect(
				pick(
					await api.call('POST', '/api/v1/secrets/stripe-key/reveal?env=staging', {
						token: tokens.runtime.token,
						body: {},
					}),
				),
			).toEqual({ status: 403, code: 'ACCESS_DENIED' });
		});
		const uses = await trail({ action: 'use', outcome: 'success' });
		expect(uses[0].reason).toContain('sent to the caller over the network');

		const user = tokens.user;
		expect((await t.service.use(user, { name: 'stripe-key', environment: 'staging' })).value).toBe(
			STRIPE_STAGING,
		);
		await expect(
			t.service.resolve(user, { name: 'stripe-key', environment: 'staging' }),
		).rejects.toMatchObject({ code: 'ACCESS_DENIED' });
	});
});

describe('binding by scheme, host and port', () => {
	// [pattern, destination, allowed]
	const table: [string, string, boolean][] = [
		['https://api.x.com', 'https://api.x.com:443', true],
		['https://api.x.com', 'https://api.x.com', true],
		['https://api.x.com', 'HTTPS://API.X.COM:443', true],
		['https://api.x.com', 'http://api.x.com:80', false],
		['https://api.x.com', 'http://api.x.com:443', false],
		['https://api.x.com', 'https://api.x.com:8443', false],
		['https://api.x.com', 'api.x.com', false],
		['https://api.x.com', 'api.x.com:443', false],
		['https://api.x.com', 'https://sub.api.x.com:443', false],
		['https://api.x.com', 'https://api.x.com.evil.com:443', false],
		['https://api.x.com', 'https://api.x.com@evil.com:443', false],
		['api.x.com:8443', 'https://api.x.com:8443', true],
		['api.x.com:8443', 'http://api.x.com:8443', true],
		['api.x.com:8443', 'api.x.com:8443', true],
		['api.x.com:8443', 'https://api.x.com:443', false],
		['api.x.com:8443', 'https://api.x.com', false],
		['api.x.com:8443', 'http://api.x.com:8080', false],
		['api.x.com:8443', 'api.x.com', false],
		['api.x.com', 'https://api.x.com:443', true],
		['api.x.com', 'http://api.x.com:8080', true],
		['api.x.com', 'api.x.com', true],
		['api.x.com', 'API.X.COM.', true],
		['api.x.com', 'https://x.com:443', false],
		['api.x.com', 'https://sub.api.x.com:443', false],
		['api.x.com', 'https://api.x.com.evil.com:443', false],
		['*.x.com', 'https://api.x.com:443', true],
		['*.x.com', 'http://a.b.x.com:8080', true],
		['*.x.com', 'api.x.com', true],
		['*.x.com', 'https://x.com:443', false],
		['*.x.com', 'https://evilx.com:443', false],
		['*.x.com', 'https://x.com.evil.com:443', false],
		['*', 'https://api.x.com:443', true],
		['*', 'http://127.0.0.1:1', true],
		['*', 'anything.example', true],
	];

	it('decides every destination as the table says (service use), refusals audited', async () => {
		const patterns = [...new Set(table.map(([p]) => p))];
		const user = await issue({ subject: 'runner', role: 'user' });
		for (const [i, pattern] of patterns.entries())
			await t.service.createSecret(t.admin, {
				name: `bound-${i}`,
				environment: 'staging',
				value: `bound-value-${i}`,
				allowedHosts: [pattern],
			});
		const got: [string, string, boolean][] = [];
		for (const [pattern, destinationHost] of table) {
			const name = `bound-${patterns.indexOf(pattern)}`;
			const ok = await t.service.use(user, { name, environment: 'staging', destinationHost }).then(
				() => true,
				(e: { code: string }) => {
					expect(e.code).toBe('DESTINATION_NOT_ALLOWED');
					return false;
				},
			);
			got.push([pattern, destinationHost, ok]);
		}
		expect(got).toEqual(table);
		const denials = await trail({ tokenId: user.jti, outcome: 'denied' });
		expect(denials).toHaveLength(table.filter(([, , ok]) => !ok).length);
		expect(denials.map((d) => d.destinationHost)).toContain('http://api.x.com:80');

		// Stored as written out: the scheme's default port made explicit.
		expect(
			(await t.service.getSecret(t.admin, `bound-${patterns.indexOf('https://api.x.com')}`))
				.allowedHosts,
		).toEqual(['https://api.x.com:443']);
		// A bound secret without a destination is refused.
		await expect(
			t.service.use(user, { name: 'bound-0', environment: 'staging' }),
		).rejects.toMatchObject({
			code: 'DESTINATION_NOT_ALLOWED',
		});
	});

	describe('through the relay', () => {
		let upstream: Server;
		let other: Server;
		let port: number;
		let otherPort: number;
		let hits: string[];

		beforeEach(async () => {
			hits = [];
			const listen = async () => {
				const s = createServer((req, res) => {
					hits.push(`${(s.address() as AddressInfo).port} ${req.url}`);
					req.resume();
					req.on('end', () => {
						if (req.url === '/start') {
							res.statusCode = 307;
							res.setHeader('location', `http://127.0.0.1:${otherPort}/stolen`);
						}
						res.end('{}');
					});
				});
				await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
				return s;
			};
			upstream = await listen();
			other = await listen();
			port = (upstream.address() as AddressInfo).port;
			otherPort = (other.address() as AddressInfo).port;
		});

		afterEach(async () => {
			for (const s of [upstream, other]) await new Promise<void>((r) => s.close(() => r()));
		});

		it('sends a secret only to the scheme, host and port it is bound to', async () => {
			const relay = await issue({ subject: 'relay', role: 'relay' });
			const cases: [string[], boolean][] = [
				[[`http://127.0.0.1:${otherPort}`], false],
				[[`127.0.0.1:${otherPort}`], false],
				[[`https://127.0.0.1:${port}`], false],
				[['http://127.0.0.1'], false],
				[['localhost'], false],
				[[`http://127.0.0.1:${port}`], true],
				[[`127.0.0.1:${port}`], true],
				[['127.0.0.1'], true],
				[['*'], true],
				[[], false],
			];
			await t.service.createSecret(t.admin, {
				name: 'relayed',
				environment: 'staging',
				value: 'relayed-VALUE-canary',
			});
			await withApi(async (api) => {
				const got: [string[], boolean][] = [];
				for (const [allowedHosts] of cases) {
					await t.service.updateSecret(t.admin, { name: 'relayed', allowedHosts });
					const before = hits.length;
					const r = await api.call('POST', '/api/v1/relay', {
						token: relay.token,
						body: {
							environment: 'staging',
							method: 'GET',
							url: `http://127.0.0.1:${port}/x`,
							headers: [{ name: 'Authorization', value: 'Bearer [[secret:relayed]]' }],
						},
					});
					if (r.status !== 200) expect(r.body.code).toBe('DESTINATION_NOT_ALLOWED');
					expect(hits.length - before).toBe(r.status === 200 ? 1 : 0);
					expect(JSON.stringify(r.body)).not.toContain('relayed-VALUE-canary');
					got.push([allowedHosts, r.status === 200]);
				}
				expect(got).toEqual(cases);
			});
			expect(hits.every((h) => h.startsWith(`${port} `))).toBe(true);
			expect((await trail({ tokenId: relay.jti, outcome: 'denied' }))[0].destinationHost).toBe(
				`http://127.0.0.1:${port}`,
			);
		});

		it('refuses a redirect to another port of the bound host, before sending anything there', async () => {
			const relay = await issue({ subject: 'relay', role: 'relay' });
			await t.service.createSecret(t.admin, {
				name: 'relayed',
				environment: 'staging',
				value: 'relayed-VALUE-canary',
				allowedHosts: [`http://127.0.0.1:${port}`],
			});
			const body = {
				environment: 'staging',
				method: 'GET',
				url: `http://127.0.0.1:${port}/start`,
				headers: [{ name: 'Authorization', value: 'Bearer [[secret:relayed]]' }],
			};
			await withApi(async (api) => {
				const r = await api.call('POST', '/api/v1/relay', { token: relay.token, body });
				expect(pick(r)).toEqual({ status: 403, code: 'DESTINATION_NOT_ALLOWED' });
				expect(hits).toEqual([`${port} /start`]);
				// Bound by host only, any port of it is allowed: the redirect is followed.
				await t.service.updateSecret(t.admin, { name: 'relayed', allowedHosts: ['127.0.0.1'] });
				const followed = await api.call('POST', '/api/v1/relay', { token: relay.token, body });
				expect(followed.status).toBe(200);
				expect(hits).toEqual([`${port} /start`, `${port} /start`, `${otherPort} /stolen`]);
			});
			expect((await trail({ tokenId: relay.jti, outcome: 'denied' }))[0].destinationHost).toBe(
				`http://127.0.0.1:${otherPort}`,
			);
		});

		it("relays an unbound secret when the operator allows every tenant ('*')", async () => {
			const relay = await issue({ subject: 'relay', role: 'relay' });
			await t.service.createSecret(t.admin, { name: 'loose', environment: 'staging', value: 'l' });
			const body = {
				environment: 'staging',
				method: 'GET',
				url: `http://127.0.0.1:${port}/x`,
				headers: [{ name: 'Authorization', value: 'Bearer [[secret:loose]]' }],
			};
			await withApi(
				async (api) => {
					expect(
						(await api.call('POST', '/api/v1/relay', { token: relay.token, body })).status,
					).toBe(200);
				},
				{ relayUnboundTenants: ['*'] },
			);
			await withApi(async (api) => {
				expect(pick(await api.call('POST', '/api/v1/relay', { token: relay.token, body }))).toEqual(
					{
						status: 403,
						code: 'DESTINATION_NOT_ALLOWED',
					},
				);
			});
			expect(hits).toHaveLength(1);
		});
	});
});

function pick(r: { status: number; body: Answer }): { status: number; code: string | undefined } {
	return { status: r.status, code: r.status >= 400 ? r.body?.code : undefined };
}
