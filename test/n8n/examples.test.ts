import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import type { INodeProperties } from 'n8n-workflow';

import { SecretHttpRequest } from '../../nodes/SecretHttpRequest/SecretHttpRequest.node';
import { Secrets } from '../../nodes/Secrets/Secrets.node';
import { SecretsTrigger } from '../../nodes/SecretsTrigger/SecretsTrigger.node';

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
