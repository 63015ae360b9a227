import { SecretsService } from '../../src/service/secrets-service';
import { createTestStore, type TestStore } from '../helpers/store';

let t: TestStore;
let a: { token: string };
let b: { token: string };
let tenantB: SecretsService;

beforeEach(async () => {
	t = await createTestStore();
	a = t.admin;
	const init = await SecretsService.init(
		t.driver(),
		t.key,
		{ tenant: 'acme' },
		{ now: t.clock.now },
	);
	tenantB = init.service;
	b = { token: init.token };
	await t.service.createSecret(a, {
		name: 'k',
		type: 'API_KEY',
		environment: 'production',
		value: 'tenant-A-value',
	});
	await t.service.createSecret(a, {
		name: 'only-in-a',
		environment: 'production',
		value: 'a-only',
	});
});

afterEach(async () => {
	await tenantB.close();
	await t.cleanup();
});

describe('tenant isolation', () => {
	it("keeps tenant B's admin out of tenant A's secrets of the same name", async () => {
		expect((await tenantB.whoami(b)).tenant).toBe('acme');
		expect((await tenantB.listSecrets(b, {})).items).toEqual([]);
		await expect(tenantB.use(b, { name: 'k', environment: 'production' })).rejects.toMatchObject({
			code: 'SECRET_NOT_FOUND',
		});
		await expect(
			tenantB.reveal(b, { name: 'only-in-a', environment: 'production' }),
		).rejects.toMatchObject({
			code: 'SECRET_NOT_FOUND',
		});
		await expect(tenantB.deleteSecret(b, 'k')).rejects.toMatchObject({ code: 'SECRET_NOT_FOUND' });
		await expect(
			tenantB.setValue(b, { name: 'k', environment: 'production', value: 'x' }),
		).rejects.toMatchObject({
			code: 'SECRET_NOT_FOUND',
		});

		await tenantB.createSecret(b, {
			name: 'k',
			type: 'API_KEY',
			environment: 'production',
			value: 'tenant-B-value',
		});
		expect((await tenantB.use(b, { name: 'k', environment: 'production' })).value).toBe(
			'tenant-B-value',
		);
		expect((await t.service.use(a, { name: 'k', environment: 'production' })).value).toBe(
			'tenant-A-value',
		);
		expect((await tenantB.listSecrets(b, {})).items.map((s) => s.name)).toEqual(['k']);
	});

	it("keeps each tenant's audit trail to itself", async () => {
		await tenantB.createSecret(b, {
			name: 'k',
			environment: 'production',
			value: 'tenant-B-value',
		});
		await tenantB.use(b, { name: 'k', environment: 'production' });
		const eventsA = (await t.service.listAudit(a, { limit: 1000 })).items;
		const eventsB = (await tenantB.listAudit(b, { limit: 1000 })).items;
		expect(eventsA.every((e) => e.tenant === 'default')).toBe(true);
		expect(eventsB.every((e) => e.tenant === 'acme')).toBe(true);
		expect(eventsB.map((e) => e.action).sort()).toEqual(['create', 'token.create', 'use']);
		expect((await t.service.verifyAudit(a)).ok).toBe(true);
		expect((await tenantB.verifyAudit(b)).ok).toBe(true);
	});

	it('takes the tenant from the token, whichever connection to the store serves it', async () => {
		const userB = await tenantB.createToken(b, { subject: 'b-runner', role: 'user' });
		// Tokens name their tenant; a token is only ever checked against its own tenant's key and rows.
		const seen = await t.service.whoami({ token: userB.token });
		expect(seen.tenant).toBe('acme');
		await expect(
			t.service.use({ token: userB.token }, { name: 'k', environment: 'production' }),
		).rejects.toMatchObject({
			code: 'SECRET_NOT_FOUND',
		});
	});

	it("refuses a ciphertext copied from tenant A's row into tenant B's", async () => {
		await tenantB.createSecret(b, {
			name: 'k',
			type: 'API_KEY',
			environment: 'production',
			value: 'tenant-B-value',
		});
		const rowA = (
			await t.sql(
				"SELECT iv, ciphertext, mac FROM versions WHERE tenant = 'default' AND environment = 'production' AND secret_id = (SELECT id FROM secrets WHERE tenant = 'default' AND name = 'k')",
			)
		)[0] as { iv: Uint8Array; ciphertext: Uint8Array; mac: Uint8Array };
		await t.sql(
			"UPDATE versions SET iv = ?, ciphertext = ?, mac = ? WHERE tenant = 'acme' AND secret_id = (SELECT id FROM secrets WHERE tenant = 'acme' AND name = 'k')",
			rowA.iv,
			rowA.ciphertext,
			rowA.mac,
		);
		const err = (await tenantB
			.use(b, { name: 'k', environment: 'production' })
			.catch((e: unknown) => e)) as Error;
		expect(err).toMatchObject({ code: 'INTEGRITY_ERROR' });
		expect(err.message).not.toContain('tenant-A-value');
		const failure = (await tenantB.listAudit(b, { limit: 1000 })).items.find(
			(e) => e.outcome === 'failure',
		);
		expect(failure).toMatchObject({ action: 'use', secret: 'k', reason: 'INTEGRITY_ERROR' });
	});
});
