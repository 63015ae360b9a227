/**
 * The GraphQL API against a real `serve` on loopback, with a real GraphQL client (graphql-request):
 * every query and mutation the operation table exposes, with its data checked, and the audit trail
 * the scenario leaves compared event by event with the one the same scenario leaves over REST.
 */
import type { AuditEvent } from '../../src/core/model';
import type { GraphqlOperationName } from '../../src/graphql/outputs';
import { type Answer, type ApiServer, startApiServer } from '../helpers/api-server';
import {
	FIELDS,
	SCENARIO,
	VALUE,
	client,
	comparable,
	restRequest,
	runGraphql,
	runScenario,
} from '../helpers/graphql';
import { createTestStore, type TestStore } from '../helpers/store';

let t: TestStore;
let api: ApiServer;

beforeEach(async () => {
	t = await createTestStore();
	t.clock.ms = Date.now();
	api = await startApiServer(t);
});

afterEach(async () => {
	await api.close();
	await t.cleanup();
});

async function trail(s: TestStore): Promise<AuditEvent[]> {
	const events: AuditEvent[] = [];
	for (let cursor: string | undefined; ; ) {
		const page = await s.service.listAudit(s.admin, { limit: 1000, cursor });
		events.push(...page.items);
		if (!page.nextCursor) return events.sort((a, b) => a.seq - b.seq);
		cursor = page.nextCursor;
	}
}

describe('the scenario over GraphQL', () => {
	it('covers every query and mutation the table exposes', () => {
		expect(new Set(SCENARIO.map((s) => s.op))).toEqual(new Set(FIELDS.map((f) => f.operation)));
	});

	it('runs every operation with its data, and the same audit trail as over REST', async () => {
		const gql = client(api, t.admin.token);
		const a = await runScenario((op, input) => runGraphql(gql, op, input));

		expect(a.whoami).toMatchObject({ subject: 'admin', scopes: ['admin'], tenant: 'default' });
		expect(a.createSecret).toMatchObject({
			name: 'stripe-key',
			type: 'API_KEY',
			tags: ['payments'],
			rotationPolicy: 'MANUAL',
			rotationIntervalDays: 30,
			environments: [{ environment: 'production', currentVersion: 1, latestVersion: 1 }],
		});
		expect(a.listSecrets.items.map((s: Answer) => s.name)).toEqual(['stripe-key']);
		expect(a.listSecrets.nextCursor).toBeNull();
		expect(a.getSecret.id).toBe(a.createSecret.id);
		expect(a.updateSecret).toMatchObject({ description: 'payments', maxVersions: 5 });
		expect(a.setValue).toMatchObject({
			version: 2,
			labels: ['current'],
			expiresAt: expect.any(String),
		});
		expect(a.stage).toMatchObject({ version: 3, labels: ['pending'] });
		expect(a.promote).toMatchObject({ version: 3, labels: ['current'] });
		expect(a.rollback).toMatchObject({ version: 2, labels: ['current'] });
		expect(a.rotate).toMatchObject({ version: 4, labels: ['current'] });
		expect(a.listVersions.map((v: Answer) => v.version)).toEqual([4, 3, 2, 1]);
		expect(a.reveal).toMatchObject({ name: 'stripe-key', version: 1, value: VALUE });
		expect(a.expiring).toEqual([
			expect.objectContaining({ version: 4, expired: false, daysLeft: 9 }),
		]);
		expect(a.dueForRotation).toEqual([]);
		expect(a.stats).toMatchObject({
			secrets: 1,
			byType: { API_KEY: 1 },
			byEnvironment: { production: 1 },
		});
		expect(a.maintenance).toEqual({ purged: [], retentionApplied: expect.any(Number) });
		expect(a.listAudit.items.map((e: Answer) => [e.action, e.outcome])).toEqual([
			['rotate', 'success'],
		]);
		expect(a.verifyAudit).toMatchObject({ ok: true, brokenAt: null });
		expect(a.auditCheckpoint).toMatchObject({ tenant: 'default', signature: expect.any(String) });
		expect(a.listTokens.map((x: Answer) => x.subject)).toContain('admin');
		expect(a.createToken.token).toEqual(expect.any(String));
		expect(a.createToken.info).toMatchObject({
			subject: 'ci',
			role: 'viewer',
			scopes: ['secrets_list'],
		});
		expect(a.revokeToken).toMatchObject({
			jti: a.createToken.info.jti,
			revokedAt: expect.any(String),
		});
		expect(a.deleteSecret.deletedAt).toEqual(expect.any(String));
		expect(a.restoreSecret.deletedAt).toBeNull();
		expect(a.purgeSecret).toEqual({ purged: 'stripe-key' });
		expect(a.rotateDataKeys).toEqual({
			rewrapped: expect.any(Number),
			reencrypted: expect.any(Number),
		});

		// Reveal is audited as reveal, with its outcome and the version revealed.
		const reveals = (await t.service.listAudit(t.admin, { action: 'reveal' })).items;
		expect(reveals).toEqual([
			expect.objectContaining({
				action: 'reveal',
				outcome: 'success',
				secret: 'stripe-key',
				environment: 'production',
				version: 1,
				actor: 'admin',
			}),
		]);

		// The same scenario over REST, on a store of its own, leaves the same trail.
		const twin = await createTestStore();
		twin.clock.ms = t.clock.ms;
		const rest = await startApiServer(twin);
		try {
			await runScenario(async (op: GraphqlOperationName, input) => {
				const r = restRequest(op, input);
				const answer = await rest.call(r.method, r.path, { token: twin.admin.token, body: r.body });
				expect({ op, status: answer.status < 300 ? 'ok' : answer.body }).toEqual({
					op,
					status: 'ok',
				});
				return answer.body;
			});
			expect((await trail(t)).map(comparable)).toEqual((await trail(twin)).map(comparable));
			// The token issued over GraphQL was revoked over GraphQL.
			expect(
				(await api.call('GET', '/api/v1/whoami', { token: a.createToken.token })).body.code,
			).toBe('TOKEN_REVOKED');
		} finally {
			await rest.close();
			await twin.cleanup();
		}
	});

	it('records the n8n context headers in the audit trail, as REST does', async () => {
		await t.service.createSecret(t.admin, {
			name: 'ctx-key',
			environment: 'production',
			value: VALUE,
		});
		const gql = client(api, t.admin.token, {
			'x-n8n-workflow-id': 'wf-42',
			'x-n8n-workflow-name': encodeURIComponent('Payments – nightly'),
			'x-n8n-node': 'Reveal',
		});
		await runGraphql(gql, 'reveal', { name: 'ctx-key', environment: 'production' });
		const [event] = (await t.service.listAudit(t.admin, { action: 'reveal' })).items;
		expect(event).toMatchObject({
			workflowId: 'wf-42',
			workflowName: 'Payments – nightly',
			node: 'Reveal',
			outcome: 'success',
		});
	});
});
