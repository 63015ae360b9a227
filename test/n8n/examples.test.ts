import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import type { INode, INodeProperties } from 'n8n-workflow';

import { SecretHttpRequest } from '../../nodes/SecretHttpRequest/SecretHttpRequest.node';
import { Secrets } from '../../nodes/Secrets/Secrets.node';
import { SecretsTrigger } from '../../nodes/SecretsTrigger/SecretsTrigger.node';
import { closeEmbeddedStores } from '../../src/n8n/connection';
import { type Backend, startBackend } from '../helpers/backend-mode';
import { N8nHarness, nodeResult, type WorkflowJson } from '../helpers/n8n-harness';
import { createTestStore, type TestStore } from '../helpers/store';

const DIR = join(__dirname, '..', '..', 'examples');

interface ExampleNode {
	name: string;
	type: string;
	parameters: Record<string, unknown>;
	credentials?: Record<string, unknown>;
}

const OURS: Record<string, INodeProperties[]> = {
	'n8n-nodes-secrets.secrets': new Secrets().getNodeType(1).description.properties,
	'n8n-nodes-secrets.secretHttpRequest': new SecretHttpRequest().description.properties,
	'n8n-nodes-secrets.secretsTrigger': new SecretsTrigger().description.properties,
};

describe('example workflows', () => {
	const files = readdirSync(DIR).filter((f) => f.endsWith('.json'));

	it('exist for calling an API, scheduled rotation and expiry alerts', () => {
		expect(files.sort()).toEqual([
			'call-api-with-referenced-key.json',
			'expiry-alert.json',
			'scheduled-rotation.json',
		]);
	});

	it.each(files)(
		'%s is a consistent workflow that uses only parameters the nodes have, and no values',
		(file) => {
			const text = readFileSync(join(DIR, file), 'utf8');
			const wf = JSON.parse(text) as {
				nodes: ExampleNode[];
				connections: Record<string, { main: { node: string }[][] }>;
			};
			const names = new Set(wf.nodes.map((n) => n.name));
			for (const [from, out] of Object.entries(wf.connections)) {
				expect(names.has(from)).toBe(true);
				for (const branch of out.main) for (const c of branch) expect(names.has(c.node)).toBe(true);
			}
			for (const node of wf.nodes) {
				expect(node.type).toMatch(/^(n8n-nodes-base|n8n-nodes-secrets)\./);
				const props = OURS[node.type];
				if (!props) continue;
				const known = new Set(props.map((p) => p.name).concat('pollTimes'));
				for (const key of Object.keys(node.parameters))
					expect({ node: node.name, key, known: known.has(key) }).toEqual({
						node: node.name,
						key,
						known: true,
					});
				expect(Object.keys(node.credentials ?? {})).toEqual(['secretsStoreApi']);
			}
			expect(text).not.toMatch(/sk_live_|sk_test_|"value":\s*"[^"[{=]{12,}"/);
		},
	);
});

/**
 * The nightly rotation example, run through n8n's engine against a real store: the part of it made of
 * this package's Secrets nodes (the schedule becomes a manual start; the verification call, the IF and
 * the notifications are n8n's own nodes or external URLs, and stay out).
 */
describe('the nightly rotation example, run', () => {
	const DAY_MS = 86_400_000;
	let t: TestStore;
	let backend: Backend;

	beforeEach(async () => {
		t = await createTestStore();
		backend = await startBackend(t);
		process.env.N8N_SECRETS_DB = t.path;
		process.env.N8N_SECRETS_MASTER_KEY = t.keyBase64;
	});

	afterEach(async () => {
		await backend.close();
		await closeEmbeddedStores();
		await t.cleanup();
		delete process.env.N8N_SECRETS_DB;
		delete process.env.N8N_SECRETS_MASTER_KEY;
	});

	function ourPart(credential: { id: string; name: string }): WorkflowJson {
		const wf = JSON.parse(readFileSync(join(DIR, 'scheduled-rotation.json'), 'utf8')) as {
			name: string;
			nodes: INode[];
			connections: Record<string, { main: { node: string; type: string; index: number }[][] }>;
		};
		const nodes = wf.nodes
			.filter(
				(n) =>
					n.type === 'n8n-nodes-base.scheduleTrigger' || n.type === 'n8n-nodes-secrets.secrets',
			)
			.map((n) =>
				n.type === 'n8n-nodes-base.scheduleTrigger'
					? { ...n, type: 'n8n-nodes-base.manualTrigger', typeVersion: 1, parameters: {} }
					: { ...n, credentials: { secretsStoreApi: credential } },
			);
		const kept = new Set(nodes.map((n) => n.name));
		const connections = Object.fromEntries(
			Object.entries(wf.connections)
				.filter(([from]) => kept.has(from))
				.map(([from, out]) => [
					from,
					{ main: out.main.map((branch) => branch.filter((c) => kept.has(c.node))) },
				]),
		);
		return { id: 'wf-nightly', name: wf.name, nodes, connections } as WorkflowJson;
	}

	it('rotates only the AUTOMATIC secrets that are due, and hands MANUAL ones to the reminder', async () => {
		// Written 40 days ago; the nodes' store runs on the real clock.
		t.clock.ms = Date.now() - 40 * DAY_MS;
		const secrets: [string, Record<string, unknown>][] = [
			['auto-due', { rotationPolicy: 'AUTOMATIC', rotationIntervalDays: 30 }],
			['auto-fresh', { rotationPolicy: 'AUTOMATIC', rotationIntervalDays: 90 }],
			['manual-due', { rotationPolicy: 'MANUAL', rotationIntervalDays: 30 }],
			['manual-none', { rotationPolicy: 'MANUAL' }],
			['on-demand', { rotationPolicy: 'ON_DEMAND' }],
		];
		for (const [name, policy] of secrets)
			await t.service.createSecret(t.admin, {
				name,
				environment: 'production',
				value: `${name}-original`,
				...policy,
			});
		t.clock.ms = Date.now();
		const { token } = await t.service.createToken(t.admin, {
			subject: 'n8n-rotator',
			role: 'operator',
			ttl: '1d',
		});
		const h = new N8nHarness();
		const credential = h.addCredential('secretsStoreApi', 'Secrets Store (rotator)', {
			...backend.fields,
			token,
			environment: 'production',
		});

		const run = await h.run(ourPart(credential));
		const json = (node: string) => nodeResult(run, node).items.map((i) => i.json);
		expect(json('AUTOMATIC secrets due')).toEqual([
			expect.objectContaining({ name: 'auto-due', rotationPolicy: 'AUTOMATIC', action: 'rotate' }),
		]);
		expect(json('Rotate with a generated value')).toEqual([
			expect.objectContaining({ name: 'auto-due', environment: 'production', version: 2 }),
		]);
		const [reminder] = json('MANUAL secrets due (reminders)');
		expect(json('MANUAL secrets due (reminders)')).toHaveLength(1);
		// What the reminder's message uses.
		expect(reminder).toMatchObject({
			name: 'manual-due',
			environment: 'production',
			action: 'remind',
			rotationIntervalDays: 30,
			dueAt: expect.any(String),
		});

		const current = async (name: string) =>
			(await t.service.getSecret(t.admin, name)).environments[0].currentVersion;
		expect(await current('auto-due')).toBe(2);
		for (const name of ['auto-fresh', 'manual-due', 'manual-none', 'on-demand'])
			expect(await current(name)).toBe(1);
		const revealed = await t.service.reveal(t.admin, {
			name: 'auto-due',
			environment: 'production',
		});
		expect(revealed.value).toMatch(/^[A-Za-z0-9]{40}$/);
	});

	it('never leads from the MANUAL branch to a node that writes a value', () => {
		const wf = JSON.parse(readFileSync(join(DIR, 'scheduled-rotation.json'), 'utf8')) as {
			nodes: ExampleNode[];
			connections: Record<string, { main: { node: string }[][] }>;
		};
		const byName = new Map(wf.nodes.map((n) => [n.name, n]));
		const reached = new Set<string>();
		const walk = (name: string) => {
			for (const branch of wf.connections[name]?.main ?? [])
				for (const c of branch)
					if (!reached.has(c.node)) {
						reached.add(c.node);
						walk(c.node);
					}
		};
		const manual = wf.nodes.find(
			(n) => n.parameters.operation === 'due' && n.parameters.rotationPolicy === 'MANUAL',
		)!;
		const automatic = wf.nodes.find(
			(n) => n.parameters.operation === 'due' && n.parameters.rotationPolicy === 'AUTOMATIC',
		)!;
		expect(manual).toBeDefined();
		walk(manual.name);
		const writes = ['rotate', 'setValue', 'stage', 'promote', 'rollback', 'update'];
		expect(
			[...reached].filter((n) => writes.includes(String(byName.get(n)!.parameters.operation))),
		).toEqual([]);
		expect(reached.size).toBeGreaterThan(0);
		// Every due list in the example names its policy: none lists both kinds and rotates them.
		expect(
			wf.nodes
				.filter((n) => n.parameters.operation === 'due')
				.map((n) => n.parameters.rotationPolicy),
		).toEqual(['AUTOMATIC', 'MANUAL']);
		reached.clear();
		walk(automatic.name);
		expect(reached.has('Rotate with a generated value')).toBe(true);
	});
});
