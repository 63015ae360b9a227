import type { INode, INodeType } from 'n8n-workflow';

import { Secrets } from '../../nodes/Secrets/Secrets.node';

import { closeEmbeddedStores } from '../../src/n8n/connection';
import { testSecretReferenceAuth, testSecretsStore } from '../../src/n8n/node-support';
import { N8nHarness, manualWorkflow, nodeResult, type WorkflowJson } from '../helpers/n8n-harness';
import { createTestStore, type TestStore } from '../helpers/store';
import { BACKEND_MODE, type Backend, startBackend } from '../helpers/backend-mode';

let t: TestStore;
let backend: Backend;
let h: N8nHarness;
const VALUE = 'sk_live_SECRETS_NODE_value';

beforeEach(async () => {
	t = await createTestStore();
	backend = await startBackend(t);
	t.clock.ms = Date.now();
	process.env.N8N_SECRETS_DB = t.path;
	process.env.N8N_SECRETS_MASTER_KEY = t.keyBase64;
	await t.service.createSecret(t.admin, {
		name: 'stripe-key',
		type: 'API_KEY',
		environment: 'production',
		value: VALUE,
		rotationPolicy: 'AUTOMATIC',
		rotationIntervalDays: 30,
	});
	h = new N8nHarness();
});

afterEach(async () => {
	await backend.close();
	await closeEmbeddedStores();
	await t.cleanup();
	delete process.env.N8N_SECRETS_DB;
	delete process.env.N8N_SECRETS_MASTER_KEY;
});

async function credentialFor(
	role: 'user' | 'operator' | 'revealer' | 'admin',
	environment = 'production',
) {
	const { token } = await t.service.createToken(t.admin, {
		subject: `wf-${role}`,
		role,
		ttl: '1d',
	});
	return h.addCredential('secretsStoreApi', role, { ...backend.fields, token, environment });
}

function workflow(
	parameters: INode['parameters'],
	credential: { id: string; name: string },
	extra: Partial<INode> = {},
): WorkflowJson {
	return manualWorkflow(
		{ id: 'wf-ops', name: 'Secret operations' },
		{
			name: 'Secrets',
			type: 'n8n-nodes-secrets.secrets',
			parameters,
			credentials: { secretsStoreApi: credential },
			...extra,
		},
	);
}

const stripe = { __rl: true, mode: 'list', value: 'stripe-key' };

describe('Secrets node', () => {
	it('lets a use-only token not reveal, and a reveal token reveal, audited with the run', async () => {
		const user = await credentialFor('user');
		const denied = await h.run(
			workflow({ resource: 'secret', operation: 'reveal', secret: stripe }, user),
		);
		const err = nodeResult(denied, 'Secrets').error!;
		expect(err.message).toContain('ACCESS_DENIED');
		expect(JSON.stringify(denied.data)).not.toContain(VALUE);

		const revealer = await credentialFor('revealer');
		const run = await h.run(
			workflow({ resource: 'secret', operation: 'reveal', secret: stripe }, revealer),
		);
		expect(nodeResult(run, 'Secrets').items[0].json).toMatchObject({
			name: 'stripe-key',
			version: 1,
			value: VALUE,
		});
		const reveal = (await t.service.listAudit(t.admin, { action: 'reveal' })).items[0];
		expect(reveal).toMatchObject({
			actor: 'wf-revealer',
			workflowId: 'wf-ops',
			workflowName: 'Secret operations',
			node: 'Secrets',
		});
		expect(reveal.executionId).toBeTruthy();
	});

	it('warns in the node that a created token lands in the execution data, as Reveal does', () => {
		const { properties } = (new Secrets().nodeVersions[1] as INodeType).description;
		const noticesFor = (resource: string, operation: string) =>
			properties.filter(
				(p) =>
					p.type === 'notice' &&
					p.displayOptions?.show?.resource?.includes(resource) &&
					p.displayOptions?.show?.operation?.includes(operation),
			);
		const [reveal] = noticesFor('secret', 'reveal');
		const [create] = noticesFor('token', 'create');
		for (const notice of [reveal, create]) {
			expect(notice.displayName).toContain(
				"into the workflow's data, where everyone who can see executions can read it",
			);
		}
		expect(noticesFor('token', 'revoke')).toEqual([]);
		const operations = properties.find(
			(p) => p.name === 'operation' && p.displayOptions?.show?.resource?.includes('token'),
		)!.options as Array<{ value: string; description?: string }>;
		expect(operations.find((o) => o.value === 'create')?.description).toContain('audited');
	});

	it('creates a token only for an admin, outputs it once, usable and audited with the run', async () => {
		const parameters = {
			resource: 'token',
			operation: 'create',
			subject: 'ci-reader',
			role: 'viewer',
			ttl: '1d',
		};
		const denied = await h.run(workflow(parameters, await credentialFor('operator')));
		expect(nodeResult(denied, 'Secrets').error!.message).toContain('ACCESS_DENIED');
		expect(nodeResult(denied, 'Secrets').items).toEqual([]);

		const run = await h.run(workflow(parameters, await credentialFor('admin')));
		const out = nodeResult(run, 'Secrets').items[0].json as { token: string; jti: string };
		expect(out).toMatchObject({ subject: 'ci-reader', role: 'viewer', createdBy: 'wf-admin' });
		const page = await t.service.listSecrets({ token: out.token }, {});
		expect(page.items.map((i) => i.name)).toEqual(['stripe-key']);

		const created = (await t.service.listAudit(t.admin, { action: 'token.create' })).items.find(
			(e) => e.actor === 'wf-admin',
		);
		expect(created).toMatchObject({ outcome: 'success', workflowId: 'wf-ops', node: 'Secrets' });
		expect(created!.reason).toContain(out.jti);
		expect(JSON.stringify(created)).not.toContain(out.token);
	});

	it('rotates with a generated value that never appears in the output, then rolls back', async () => {
		const operator = await credentialFor('operator');
		const rotated = await h.run(
			workflow(
				{
					resource: 'secret',
					operation: 'rotate',
					secret: stripe,
					valueSource: 'generate',
					length: 40,
					alphabet: 'hex',
				},
				operator,
			),
		);
		const out = nodeResult(rotated, 'Secrets').items[0].json;
		expect(out).toMatchObject({ name: 'stripe-key', version: 2, labels: ['current'] });
		const newValue = (
			await t.service.reveal(t.admin, { name: 'stripe-key', environment: 'production' })
		).value;
		expect(newValue).toMatch(/^[0-9a-f]{40}$/);
		expect(JSON.stringify(rotated.data)).not.toContain(newValue);

		const back = await h.run(
			workflow({ resource: 'secret', operation: 'rollback', secret: stripe }, operator),
		);
		expect(nodeResult(back, 'Secrets').items[0].json).toMatchObject({
			version: 1,
			labels: ['current'],
		});
		expect(
			(await t.service.use(t.admin, { name: 'stripe-key', environment: 'production' })).value,
		).toBe(VALUE);
	});

	it('lists secrets due for rotation and expiring, one item per secret, metadata only', async () => {
		const user = await credentialFor('user');
		t.clock.ms += 0;
		const due = await h.run(workflow({ resource: 'maintenance', operation: 'due' }, user));
		expect(nodeResult(due, 'Secrets').items).toHaveLength(0);
		await t.service.createSecret(t.admin, {
			name: 'cert',
			environment: 'production',
			value: 'cert-value',
			expiresAt: new Date(Date.now() + 5 * 86_400_000).toISOString(),
		});
		const expiring = await h.run(
			workflow({ resource: 'maintenance', operation: 'expiring', withinDays: 14 }, user),
		);
		const items = nodeResult(expiring, 'Secrets').items;
		expect(items.map((i) => i.json.name)).toEqual(['cert']);
		expect(items[0].json).toMatchObject({ environment: 'production', daysLeft: 4, expired: false });
		expect(JSON.stringify(expiring.data)).not.toContain('cert-value');
	});

	describe('rotation policies', () => {
		const createParams = (name: string, rotation: Record<string, unknown>) => ({
			resource: 'secret',
			operation: 'create',
			name,
			type: 'PASSWORD',
			valueSource: 'generate',
			length: 24,
			...rotation,
		});

		it('creates with the policy chosen in the node, and the interval only where the policy has one', async () => {
			const operator = await credentialFor('operator');
			const cases: [string, Record<string, unknown>, Record<string, unknown>][] = [
				[
					'auto',
					{ rotationPolicy: 'AUTOMATIC', rotationIntervalDays: 7 },
					{ rotationPolicy: 'AUTOMATIC', rotationIntervalDays: 7 },
				],
				[
					'manual-remind',
					{ rotationPolicy: 'MANUAL', rotationIntervalDays: 30 },
					{ rotationPolicy: 'MANUAL', rotationIntervalDays: 30 },
				],
				[
					'manual',
					{ rotationPolicy: 'MANUAL', rotationIntervalDays: 0 },
					{ rotationPolicy: 'MANUAL', rotationIntervalDays: null, nextRotationAt: null },
				],
				// The interval field is hidden for ON_DEMAND; a value left in it is not sent.
				[
					'demand',
					{ rotationPolicy: 'ON_DEMAND', rotationIntervalDays: 30 },
					{ rotationPolicy: 'ON_DEMAND', rotationIntervalDays: null, nextRotationAt: null },
				],
				['plain', {}, { rotationPolicy: 'MANUAL', rotationIntervalDays: null }],
			];
			for (const [name, rotation, expected] of cases) {
				const run = await h.run(workflow(createParams(name, rotation), operator));
				expect(nodeResult(run, 'Secrets').error).toBeUndefined();
				expect(nodeResult(run, 'Secrets').items[0].json).toMatchObject({ name, ...expected });
			}
			const auto = await t.service.getSecret(t.admin, 'auto');
			expect(Date.parse(auto.nextRotationAt!)).toBe(
				Date.parse(auto.environments[0].currentCreatedAt!) + 7 * 86_400_000,
			);
		});

		it('refuses AUTOMATIC without an interval with a message that says what to add', async () => {
			const operator = await credentialFor('operator');
			const run = await h.run(
				workflow(
					createParams('auto', { rotationPolicy: 'AUTOMATIC', rotationIntervalDays: 0 }),
					operator,
				),
			);
			const err = nodeResult(run, 'Secrets').error!;
			expect(err.message).toContain('INVALID_INPUT');
			expect(err.message).toContain('AUTOMATIC rotation needs an interval');
			await expect(t.service.getSecret(t.admin, 'auto')).rejects.toMatchObject({
				code: 'SECRET_NOT_FOUND',
			});
		});

		it('updates the policy and interval of an existing secret, and nothing else', async () => {
			const operator = await credentialFor('operator');
			const update = (updateFields: Record<string, string | number>) =>
				h.run(
					workflow(
						{ resource: 'secret', operation: 'update', secret: stripe, updateFields },
						operator,
					),
				);
			let run = await update({ rotationPolicy: 'MANUAL', rotationIntervalDays: 14 });
			expect(nodeResult(run, 'Secrets').items[0].json).toMatchObject({
				name: 'stripe-key',
				rotationPolicy: 'MANUAL',
				rotationIntervalDays: 14,
				allowedHosts: [],
			});
			run = await update({ rotationIntervalDays: 0 });
			expect(nodeResult(run, 'Secrets').items[0].json).toMatchObject({
				rotationPolicy: 'MANUAL',
				rotationIntervalDays: null,
				nextRotationAt: null,
			});
			run = await update({ rotationPolicy: 'AUTOMATIC' });
			expect(nodeResult(run, 'Secrets').error!.message).toContain(
				'AUTOMATIC rotation needs an interval',
			);
			run = await update({ rotationPolicy: 'ON_DEMAND', description: 'rotated when asked' });
			expect(nodeResult(run, 'Secrets').items[0].json).toMatchObject({
				rotationPolicy: 'ON_DEMAND',
				rotationIntervalDays: null,
				description: 'rotated when asked',
			});
			expect(JSON.stringify(run.data)).not.toContain(VALUE);
		});

		it('lists due secrets by policy: AUTOMATIC to rotate, MANUAL as reminders', async () => {
			// Written 40 days ago; the node's store runs on the real clock.
			t.clock.ms = Date.now() - 40 * 86_400_000;
			await t.service.createSecret(t.admin, {
				name: 'manual-30',
				environment: 'production',
				value: 'm',
				rotationPolicy: 'MANUAL',
				rotationIntervalDays: 30,
			});
			await t.service.createSecret(t.admin, {
				name: 'auto-30',
				environment: 'production',
				value: 'a',
				rotationPolicy: 'AUTOMATIC',
				rotationIntervalDays: 30,
			});
			t.clock.ms = Date.now();
			const user = await credentialFor('user');
			const due = async (rotationPolicy?: string) =>
				nodeResult(
					await h.run(
						workflow({ resource: 'maintenance', operation: 'due', rotationPolicy }, user),
					),
					'Secrets',
				).items.map((i) => `${String(i.json.name)}:${String(i.json.action)}`);
			expect(await due()).toEqual(['auto-30:rotate', 'manual-30:remind']);
			expect(await due('AUTOMATIC')).toEqual(['auto-30:rotate']);
			expect(await due('MANUAL')).toEqual(['manual-30:remind']);
		});
	});

	it('keeps going with an error item per failing item when the node continues on fail', async () => {
		const user = await credentialFor('user');
		const run = await h.run(
			workflow(
				{
					resource: 'secret',
					operation: 'get',
					secret: { __rl: true, mode: 'name', value: 'missing' },
				},
				user,
				{
					onError: 'continueRegularOutput',
				},
			),
		);
		const items = nodeResult(run, 'Secrets').items;
		expect(items).toEqual([
			{
				json: { error: expect.stringContaining('missing'), code: 'SECRET_NOT_FOUND' },
				pairedItem: { item: 0 },
			},
		]);
	});

	it('does not echo a value it was given in an error about it', async () => {
		const operator = await credentialFor('operator');
		await t.service.updateSecret(t.admin, { name: 'stripe-key', maxVersions: 10 });
		const run = await h.run(
			workflow(
				{
					resource: 'secret',
					operation: 'setValue',
					secret: stripe,
					value: 'has whitespace SECRETVALUE',
				},
				operator,
			),
		);
		const err = nodeResult(run, 'Secrets').error!;
		expect(err.message).toContain('INVALID_INPUT');
		// The value stands in the node's own parameters, where the user typed it; never in the error.
		const { node: _node, ...errorWithoutNode } = JSON.parse(JSON.stringify(err)) as Record<
			string,
			unknown
		>;
		expect(JSON.stringify(errorWithoutNode)).not.toContain('SECRETVALUE');
		expect(JSON.stringify(nodeResult(run, 'Secrets').items)).not.toContain('SECRETVALUE');
	});
});

describe('Secrets Store credential test', () => {
	const test = (data: Record<string, string>) =>
		testSecretsStore.call({} as never, { id: '1', name: 'c', type: 'secretsStoreApi', data });

	it('accepts a valid token for its environment', async () => {
		const { token } = await t.service.createToken(t.admin, {
			subject: 'n8n',
			role: 'user',
			environments: ['production'],
		});
		expect(await test({ ...backend.fields, token, environment: 'production' })).toEqual({
			status: 'OK',
			message: expect.stringContaining('Connected as n8n'),
		});
	});

	it('says what is wrong: environment, revoked token, unknown store or unreachable server', async () => {
		const { token, info } = await t.service.createToken(t.admin, {
			subject: 'n8n',
			role: 'user',
			environments: ['production'],
		});
		expect(await test({ ...backend.fields, token, environment: 'staging' })).toEqual({
			status: 'Error',
			message: expect.stringContaining('Wrong environment'),
		});
		await t.service.revokeToken(t.admin, info.jti);
		expect(await test({ ...backend.fields, token, environment: 'production' })).toEqual({
			status: 'Error',
			message: expect.stringContaining('revoked'),
		});
		await closeEmbeddedStores();
		if (backend.fields.connection === 'remote') {
			await backend.close();
			expect(await test({ ...backend.fields, token, environment: 'production' })).toEqual({
				status: 'Error',
				message: expect.stringContaining('Server unreachable'),
			});
			return;
		}
		process.env.N8N_SECRETS_DB = `${t.dir}/elsewhere.db`;
		expect(await test({ ...backend.fields, token, environment: 'production' })).toEqual({
			status: 'Error',
			message: expect.stringContaining('Unknown store'),
		});
	});
});

describe('secret picker', () => {
	it('lists the names the token may see, with their version in its environment, filtered as the user types', async () => {
		await t.service.createSecret(t.admin, {
			name: 'stripe-webhook',
			environment: 'staging',
			value: 'whsec',
		});
		await t.service.createSecret(t.admin, {
			name: 'payroll-db',
			environment: 'production',
			value: 'pw',
		});
		const { token } = await t.service.createToken(t.admin, {
			subject: 'builder',
			role: 'user',
			secrets: ['stripe-*'],
		});
		const cred = h.addCredential('secretsStoreApi', 'builder', {
			...backend.fields,
			token,
			environment: 'production',
		});
		const wf = workflow({ resource: 'secret', operation: 'get', secret: stripe }, cred);
		const all = await h.listSearch(wf, 'Secrets', 'searchSecretNames');
		expect(all.results).toEqual([
			{ name: 'stripe-key', value: 'stripe-key', description: 'API_KEY, v1 in production' },
			{
				name: 'stripe-webhook',
				value: 'stripe-webhook',
				description: 'CUSTOM, no value in production',
			},
		]);
		expect(
			(await h.listSearch(wf, 'Secrets', 'searchSecretNames', 'stripe-w')).results.map(
				(r) => r.name,
			),
		).toEqual(['stripe-webhook']);
	});
});

describe('Secret Reference Auth credential test', () => {
	// In remote mode the value crosses the network into n8n: that takes the runtime role.
	const role = BACKEND_MODE === 'remote' ? 'runtime' : 'user';
	const test = (data: Record<string, string>) =>
		testSecretReferenceAuth.call({} as never, {
			id: '1',
			name: 'c',
			type: 'secretReferenceAuth',
			data,
		});

	it('resolves every reference without showing a value, bound secrets included', async () => {
		await t.service.updateSecret(t.admin, { name: 'stripe-key', allowedHosts: ['*.stripe.com'] });
		const { token } = await t.service.createToken(t.admin, { subject: 'n8n', role });
		const r = await test({
			...backend.fields,
			token,
			environment: 'production',
			placement: 'bearer',
			reference: '[[secret:stripe-key]]',
		});
		expect(r).toEqual({
			status: 'OK',
			message: 'Resolves in production: stripe-key v1 (only for *.stripe.com).',
		});
		expect(r.message).not.toContain(VALUE);
	});

	it("says which permission is missing when a person's token would receive values over the network", async () => {
		const { token } = await t.service.createToken(t.admin, { subject: 'n8n', role: 'user' });
		const r = await test({
			...backend.fields,
			token,
			environment: 'production',
			placement: 'bearer',
			reference: '[[secret:stripe-key]]',
		});
		if (BACKEND_MODE === 'embedded') expect(r.status).toBe('OK');
		else {
			expect(r.status).toBe('Error');
			expect(r.message).toContain('secrets:runtime');
		}
		expect(r.message).not.toContain(VALUE);
	});

	it('names the reference that does not resolve', async () => {
		const { token } = await t.service.createToken(t.admin, { subject: 'n8n', role });
		const r = await test({
			...backend.fields,
			token,
			environment: 'production',
			placement: 'basic',
			userReference: 'app',
			passReference: '[[secret:db-pass]]',
		});
		expect(r.status).toBe('Error');
		expect(r.message).toContain('SECRET_NOT_FOUND');
		expect(r.message).toContain('db-pass');
	});
});
