import { closeEmbeddedStores } from '../../src/n8n/connection';
import { N8nHarness, type WorkflowJson } from '../helpers/n8n-harness';
import { createTestStore, type TestStore } from '../helpers/store';
import { type Backend, startBackend } from '../helpers/backend-mode';

let t: TestStore;
let backend: Backend;
let h: N8nHarness;
let credential: { id: string; name: string };

beforeEach(async () => {
	t = await createTestStore();
	backend = await startBackend(t);
	t.clock.ms = Date.now();
	process.env.N8N_SECRETS_DB = t.path;
	process.env.N8N_SECRETS_MASTER_KEY = t.keyBase64;
	h = new N8nHarness();
	const { token } = await t.service.createToken(t.admin, {
		subject: 'watcher',
		scopes: ['secrets:list', 'audit:read'],
		ttl: '1d',
	});
	credential = h.addCredential('secretsStoreApi', 'watcher', {
		...backend.fields,
		token,
		environment: 'production',
	});
});

afterEach(async () => {
	await backend.close();
	await closeEmbeddedStores();
	await t.cleanup();
	delete process.env.N8N_SECRETS_DB;
	delete process.env.N8N_SECRETS_MASTER_KEY;
});

function trigger(parameters: Record<string, unknown>): WorkflowJson {
	return {
		id: `wf-trigger-${String(parameters.event)}`,
		name: 'Watch secrets',
		nodes: [
			{
				id: '1',
				name: 'Secrets Trigger',
				type: 'n8n-nodes-secrets.secretsTrigger',
				typeVersion: 1,
				position: [0, 0],
				parameters: parameters as never,
				credentials: { secretsStoreApi: credential },
			},
		],
		connections: {},
	};
}

const emitted = (r: Awaited<ReturnType<N8nHarness['poll']>>) => (r ? r[0].map((i) => i.json) : []);

describe('Secrets Trigger', () => {
	it('fires once for a secret that will expire, and again only for a new version', async () => {
		const wf = trigger({ event: 'expiring', withinDays: 14 });
		const soon = new Date(Date.now() + 5 * 86_400_000).toISOString();
		await t.service.createSecret(t.admin, {
			name: 'tls-cert',
			environment: 'production',
			value: 'pem',
			expiresAt: soon,
		});
		const first = emitted(await h.poll(wf, 'Secrets Trigger'));
		expect(first).toEqual([
			expect.objectContaining({ event: 'expiring', name: 'tls-cert', version: 1, daysLeft: 4 }),
		]);
		expect(JSON.stringify(first)).not.toContain('"pem"');
		expect(await h.poll(wf, 'Secrets Trigger')).toBeNull();
		await t.service.setValue(t.admin, {
			name: 'tls-cert',
			environment: 'production',
			value: 'pem2',
			expiresAt: soon,
		});
		expect(emitted(await h.poll(wf, 'Secrets Trigger'))).toEqual([
			expect.objectContaining({ name: 'tls-cert', version: 2 }),
		]);
		expect(await h.poll(wf, 'Secrets Trigger')).toBeNull();
	});

	it('fires once per value change and per denial, from the audit trail, without replaying history', async () => {
		await t.service.createSecret(t.admin, { name: 'k', environment: 'production', value: 'v1' });
		const changes = trigger({ event: 'changed' });
		const denials = trigger({ event: 'denied' });
		expect(await h.poll(changes, 'Secrets Trigger')).toBeNull();
		expect(await h.poll(denials, 'Secrets Trigger')).toBeNull();

		await t.service.rotate(t.admin, { name: 'k', environment: 'production', value: 'v2' });
		await t.service.rollback(t.admin, { name: 'k', environment: 'production' });
		const viewer = await t.service.createToken(t.admin, { subject: 'intruder', role: 'viewer' });
		await t.service.use(viewer, { name: 'k', environment: 'production' }).catch(() => undefined);

		expect(emitted(await h.poll(changes, 'Secrets Trigger')).map((e) => e.action)).toEqual([
			'rotate',
			'rollback',
		]);
		expect(await h.poll(changes, 'Secrets Trigger')).toBeNull();
		const denied = emitted(await h.poll(denials, 'Secrets Trigger'));
		expect(denied).toEqual([
			expect.objectContaining({ event: 'denied', action: 'deny', actor: 'intruder', secret: 'k' }),
		]);
		expect(await h.poll(denials, 'Secrets Trigger')).toBeNull();
		expect(JSON.stringify(denied)).not.toMatch(/v1|v2/);
	});

	it('fires "due" once for an AUTOMATIC secret past its interval, and not after it was rotated', async () => {
		const wf = trigger({ event: 'due' });
		await t.service.createSecret(t.admin, {
			name: 'db',
			environment: 'production',
			value: 'p',
			rotationPolicy: 'AUTOMATIC',
			rotationIntervalDays: 30,
		});
		expect(await h.poll(wf, 'Secrets Trigger')).toBeNull();
		// The node's store runs on the real clock: write the values as if 31 days ago.
		t.clock.ms = Date.now() - 31 * 86_400_000;
		await t.service.setValue(t.admin, { name: 'db', environment: 'production', value: 'p-old' });
		for (const [name, rotationPolicy, rotationIntervalDays] of [
			['manual', 'MANUAL', 30],
			['manual-none', 'MANUAL', undefined],
			['on-demand', 'ON_DEMAND', undefined],
		] as const)
			await t.service.createSecret(t.admin, {
				name,
				environment: 'production',
				value: 'v',
				rotationPolicy,
				rotationIntervalDays,
			});
		t.clock.ms = Date.now();
		expect(emitted(await h.poll(wf, 'Secrets Trigger'))).toEqual([
			expect.objectContaining({
				event: 'due',
				name: 'db',
				rotationPolicy: 'AUTOMATIC',
				action: 'rotate',
			}),
		]);
		expect(await h.poll(wf, 'Secrets Trigger')).toBeNull();
		await t.service.rotate(t.admin, {
			name: 'db',
			environment: 'production',
			generate: { length: 24, alphabet: 'alphanumeric' },
		});
		expect(await h.poll(wf, 'Secrets Trigger')).toBeNull();
	});

	it('fires "reminder" once for a MANUAL secret past its interval, never "due"; ON_DEMAND fires neither', async () => {
		const due = trigger({ event: 'due' });
		const reminders = trigger({ event: 'reminder' });
		t.clock.ms = Date.now() - 31 * 86_400_000;
		for (const [name, rotationPolicy, rotationIntervalDays] of [
			['manual', 'MANUAL', 30],
			['manual-none', 'MANUAL', undefined],
			['on-demand', 'ON_DEMAND', undefined],
		] as const)
			await t.service.createSecret(t.admin, {
				name,
				environment: 'production',
				value: 'v',
				rotationPolicy,
				rotationIntervalDays,
			});
		t.clock.ms = Date.now();
		expect(emitted(await h.poll(reminders, 'Secrets Trigger'))).toEqual([
			expect.objectContaining({
				event: 'reminder',
				name: 'manual',
				rotationPolicy: 'MANUAL',
				action: 'remind',
			}),
		]);
		expect(await h.poll(reminders, 'Secrets Trigger')).toBeNull();
		expect(await h.poll(due, 'Secrets Trigger')).toBeNull();
		// A person rotates it: the reminder ends, and fires again only when the new value is due.
		await t.service.setValue(t.admin, { name: 'manual', environment: 'production', value: 'v2' });
		expect(await h.poll(reminders, 'Secrets Trigger')).toBeNull();
	});

	it('shows a sample event on a manual test run without moving the cursor', async () => {
		await t.service.createSecret(t.admin, { name: 'k', environment: 'production', value: 'v1' });
		const wf = trigger({ event: 'changed' });
		expect(emitted(await h.poll(wf, 'Secrets Trigger', 'manual'))).toEqual([
			expect.objectContaining({ action: 'create' }),
		]);
		expect(await h.poll(wf, 'Secrets Trigger')).toBeNull();
	});
});
