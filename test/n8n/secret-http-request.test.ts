import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import type { INode } from 'n8n-workflow';

import { closeEmbeddedStores } from '../../src/n8n/connection';
import { N8nHarness, manualWorkflow, nodeResult, type WorkflowJson } from '../helpers/n8n-harness';
import { createTestStore, type TestStore } from '../helpers/store';
import { BACKEND_MODE, type Backend, startBackend } from '../helpers/backend-mode';

interface Seen {
	host: string;
	path: string;
	headers: IncomingMessage['headers'];
	body: string;
}

let t: TestStore;
let backend: Backend;
let h: N8nHarness;
let server: Server;
let base: string;
let seen: Seen[];
let userToken: string;
/** Secret Reference Auth in remote mode receives values over the network: the runtime role. */
let runtimeToken: string;
/** How the next request is answered; the default echoes what the server received. */
let answer: (req: IncomingMessage, body: string, res: import('node:http').ServerResponse) => void;

const PROD = 'sk_live_PROD+/=value?&';
const STAGING = 'sk_test_STAGING_value';

beforeEach(async () => {
	t = await createTestStore();
	backend = await startBackend(t);
	t.clock.ms = Date.now();
	process.env.N8N_SECRETS_DB = t.path;
	process.env.N8N_SECRETS_MASTER_KEY = t.keyBase64;
	await t.service.createSecret(t.admin, {
		name: 'api-key',
		type: 'CUSTOM',
		environment: 'production',
		value: PROD,
	});
	await t.service.setValue(t.admin, { name: 'api-key', environment: 'staging', value: STAGING });
	userToken = (
		await t.service.createToken(t.admin, { subject: 'n8n-worker', role: 'user', ttl: '1d' })
	).token;
	runtimeToken = (
		await t.service.createToken(t.admin, {
			subject: 'n8n-worker',
			role: BACKEND_MODE === 'remote' ? 'runtime' : 'user',
			ttl: '1d',
		})
	).token;
	seen = [];
	answer = (req, body, res) => {
		res.setHeader('content-type', 'application/json');
		res.end(JSON.stringify({ received: { headers: req.headers, url: req.url, body } }));
	};
	server = createServer((req, res) => {
		let body = '';
		req.on('data', (c) => (body += c));
		req.on('end', () => {
			seen.push({
				host: String(req.headers.host),
				path: String(req.url),
				headers: req.headers,
				body,
			});
			answer(req, body, res);
		});
	});
	await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
	base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
	h = new N8nHarness();
});

afterEach(async () => {
	await backend.close();
	server.close();
	await closeEmbeddedStores();
	await t.cleanup();
	delete process.env.N8N_SECRETS_DB;
	delete process.env.N8N_SECRETS_MASTER_KEY;
});

function storeCredential(environment: string, token = userToken) {
	return h.addCredential('secretsStoreApi', `Secrets ${environment}`, {
		...backend.fields,
		token,
		environment,
	});
}

function workflow(
	parameters: INode['parameters'],
	credential = storeCredential('production'),
	extra: Partial<INode> = {},
): WorkflowJson {
	return manualWorkflow(
		{ id: 'wf-pay', name: 'Charge customers' },
		{
			name: 'Call API',
			type: 'n8n-nodes-secrets.secretHttpRequest',
			parameters,
			credentials: { secretsStoreApi: credential },
			...extra,
		},
	);
}

const bearer = (url: string, extra: INode['parameters'] = {}) => ({
	method: 'GET',
	url,
	authPlacement: 'bearer',
	secret: { __rl: true, mode: 'list', value: 'api-key' },
	...extra,
});

/** Every form a leaked value could take in output: raw, base64, URL- and JSON-encoded. */
function leakForms(value: string): string[] {
	return [
		value,
		Buffer.from(value).toString('base64'),
		Buffer.from(value).toString('base64url'),
		encodeURIComponent(value),
		JSON.stringify(value).slice(1, -1),
	];
}

function expectNoLeak(data: unknown, values = [PROD, STAGING]) {
	const text = JSON.stringify(data);
	for (const v of values) for (const form of leakForms(v)) expect(text).not.toContain(form);
}

describe('Secret HTTP Request in a real n8n execution', () => {
	it("sends the value for the credential's environment and keeps it out of the output", async () => {
		const prod = await h.run(workflow(bearer(`${base}/charge`)));
		const staging = await h.run(workflow(bearer(`${base}/charge`), storeCredential('staging')));
		expect(seen.map((s) => s.headers.authorization)).toEqual([
			`Bearer ${PROD}`,
			`Bearer ${STAGING}`,
		]);
		const out = nodeResult(prod, 'Call API');
		expect(out.error).toBeUndefined();
		expect(out.items).toHaveLength(1);
		expect(
			(out.items[0].json as { received: { headers: { authorization: string } } }).received.headers
				.authorization,
		).toBe('Bearer [redacted:api-key]');
		expect(out.items[0].pairedItem).toEqual({ item: 0 });
		expectNoLeak(prod.data);
		expectNoLeak(staging.data);
	});

	it('resolves references in URL path, query, headers and JSON body', async () => {
		await h.run(
			workflow({
				method: 'POST',
				url: `${base}/v1/[[secret:api-key]]/x`,
				authPlacement: 'none',
				query: { parameters: [{ name: 'key', value: '[[secret:api-key]]' }] },
				headers: { parameters: [{ name: 'X-Signature', value: 'sig=[[secret:api-key]]' }] },
				bodyType: 'json',
				jsonBody: '{"nested":{"token":"[[secret:api-key]]"},"plain":"\\\\[[secret:api-key]]"}',
			}),
		);
		const req = seen[0];
		expect(decodeURIComponent(req.path)).toBe(`/v1/${PROD}/x?key=${PROD}`);
		expect(req.headers['x-signature']).toBe(`sig=${PROD}`);
		expect(JSON.parse(req.body)).toEqual({ nested: { token: PROD }, plain: '[[secret:api-key]]' });
	});

	it('sends form and raw bodies with references, and returns binary and echoed headers scrubbed', async () => {
		await h.run(
			workflow({
				method: 'POST',
				url: `${base}/form`,
				authPlacement: 'none',
				bodyType: 'form',
				form: { parameters: [{ name: 'client_secret', value: '[[secret:api-key]]' }] },
			}),
		);
		await h.run(
			workflow({
				method: 'PUT',
				url: `${base}/raw`,
				authPlacement: 'none',
				bodyType: 'raw',
				rawBody: 'key: [[secret:api-key]]',
				rawContentType: 'text/yaml',
			}),
		);
		expect(new URLSearchParams(seen[0].body).get('client_secret')).toBe(PROD);
		expect(seen[0].headers['content-type']).toBe('application/x-www-form-urlencoded');
		expect(seen[1].body).toBe(`key: ${PROD}`);
		expect(seen[1].headers['content-type']).toBe('text/yaml');

		answer = (req, _body, res) => {
			res.setHeader('content-type', 'application/octet-stream');
			res.setHeader('x-echo', String(req.headers.authorization));
			res.end(
				Buffer.concat([Buffer.from([0, 1, 2]), Buffer.from(String(req.headers.authorization))]),
			);
		};
		const run = await h.run(
			workflow(
				bearer(`${base}/file`, { options: { fullResponse: true, responseFormat: 'binary' } }),
			),
		);
		const item = nodeResult(run, 'Call API').items[0];
		expect((item.json as { headers: Record<string, string> }).headers['x-echo']).toBe(
			'Bearer [redacted:api-key]',
		);
		const binary = Buffer.from(item.binary!.data.data, 'base64');
		expect(binary.includes(Buffer.from(PROD))).toBe(false);
		expect(binary.includes(Buffer.from('[redacted:api-key]'))).toBe(true);
		expectNoLeak(run.data);
	});

	it('uses a value rotated between two executions in the second one', async () => {
		const wf = workflow(bearer(`${base}/x`));
		await h.run(wf);
		await t.service.rotate(t.admin, {
			name: 'api-key',
			environment: 'production',
			value: 'sk_live_ROTATED',
		});
		await h.run(wf);
		expect(seen.map((s) => s.headers.authorization)).toEqual([
			`Bearer ${PROD}`,
			'Bearer sk_live_ROTATED',
		]);
	});

	it('decodes stacked and single content codings before scrubbing, and refuses an unknown one', async () => {
		const { gzipSync, brotliCompressSync, deflateSync } = await import('node:zlib');
		const cases: [string, (b: Buffer) => Buffer][] = [
			['gzip', gzipSync],
			['br', brotliCompressSync],
			['deflate', deflateSync],
			['gzip, br', (b) => brotliCompressSync(gzipSync(b))],
			['deflate, gzip', (b) => gzipSync(deflateSync(b))],
		];
		for (const [coding, encode] of cases) {
			answer = (req, _body, res) => {
				res.setHeader('content-type', 'application/json');
				res.setHeader('content-encoding', coding);
				res.end(encode(Buffer.from(JSON.stringify({ echoed: req.headers.authorization }))));
			};
			const run = await h.run(workflow(bearer(`${base}/zip`)));
			const out = nodeResult(run, 'Call API');
			expect({ coding, error: out.error?.message }).toEqual({ coding, error: undefined });
			expect(out.items[0].json).toEqual({ echoed: 'Bearer [redacted:api-key]' });
			expectNoLeak(run.data);
		}
		answer = (req, _body, res) => {
			res.setHeader('content-type', 'application/json');
			res.setHeader('content-encoding', 'x-custom');
			res.end(Buffer.from(JSON.stringify({ echoed: req.headers.authorization })).reverse());
		};
		const unknown = await h.run(workflow(bearer(`${base}/zip`)));
		expect(nodeResult(unknown, 'Call API').error!.message).toContain('UPSTREAM_ERROR');
		expectNoLeak(unknown.data);
	});

	it('keeps values, in every encoding, out of the error of a failing request', async () => {
		answer = (req, _body, res) => {
			const v = String(req.headers.authorization).slice('Bearer '.length);
			res.statusCode = 500;
			res.setHeader('content-type', 'text/plain');
			res.setHeader('x-echo', encodeURIComponent(v));
			res.end(
				`failed for ${v} / ${Buffer.from(v).toString('base64')} / ${encodeURIComponent(v)} / ${JSON.stringify(v)}`,
			);
		};
		const run = await h.run(workflow(bearer(`${base}/fail`)));
		const { error } = nodeResult(run, 'Call API');
		expect(error).toBeDefined();
		expect(error!.message).toContain('UPSTREAM_ERROR');
		expect(error!.message).toContain('[redacted:api-key]');
		expectNoLeak({
			error: {
				message: error!.message,
				description: (error as { description?: string }).description,
			},
			run: run.data,
		});

		const tolerant = await h.run(
			workflow(bearer(`${base}/fail`), storeCredential('production'), {
				onError: 'continueRegularOutput',
			}),
		);
		const out = nodeResult(tolerant, 'Call API');
		expect(out.items[0].json).toMatchObject({ code: 'UPSTREAM_ERROR' });
		expect(out.items[0].pairedItem).toEqual({ item: 0 });
		expectNoLeak(tolerant.data);
	});

	it('leaves only references in the workflow after the run', async () => {
		const wf = workflow(
			bearer(`${base}/x`, {
				headers: { parameters: [{ name: 'X-Key', value: '[[secret:api-key]]' }] },
			}),
		);
		const run = await h.run(wf);
		expect(seen).toHaveLength(1);
		expectNoLeak(wf);
		expect(JSON.stringify(wf)).toContain('[[secret:api-key]]');
		expectNoLeak(run.data.resultData);
	});

	it('refuses a bound secret for another host, and after a redirect to another host', async () => {
		await t.service.updateSecret(t.admin, { name: 'api-key', allowedHosts: ['127.0.0.1'] });
		const port = new URL(base).port;
		const other = await h.run(workflow(bearer(`http://localhost:${port}/x`)));
		expect(nodeResult(other, 'Call API').error!.message).toContain('DESTINATION_NOT_ALLOWED');
		expect(seen).toHaveLength(0);

		answer = (req, _body, res) => {
			if (req.url === '/start') {
				res.statusCode = 302;
				res.setHeader('location', `http://localhost:${port}/stolen`);
				res.end();
				return;
			}
			res.end('{}');
		};
		const redirected = await h.run(workflow(bearer(`${base}/start`)));
		expect(nodeResult(redirected, 'Call API').error!.message).toContain('DESTINATION_NOT_ALLOWED');
		expect(seen.map((s) => s.path)).toEqual(['/start']);
		expect(seen[0].headers.authorization).toBe(`Bearer ${PROD}`);

		const denials = (await t.service.listAudit(t.admin, { action: 'deny' })).items;
		expect(denials.map((d) => d.destinationHost)).toEqual([
			`http://localhost:${port}`,
			`http://localhost:${port}`,
		]);
	});

	it('follows a redirect on the same host, resolving again for it', async () => {
		answer = (req, _body, res) => {
			if (req.url === '/old') {
				res.statusCode = 301;
				res.setHeader('location', '/new');
				res.end();
				return;
			}
			res.setHeader('content-type', 'application/json');
			res.end('{"moved":true}');
		};
		const run = await h.run(workflow(bearer(`${base}/old`)));
		expect(nodeResult(run, 'Call API').items[0].json).toEqual({ moved: true });
		expect(seen.map((s) => [s.path, s.headers.authorization])).toEqual([
			['/old', `Bearer ${PROD}`],
			['/new', `Bearer ${PROD}`],
		]);
	});

	it('audits every resolution with the workflow, execution, node and mode', async () => {
		const run = await h.run(workflow(bearer(`${base}/x`)));
		expect(run.status === undefined || run.status === 'success').toBe(true);
		const uses = (await t.service.listAudit(t.admin, { action: 'use' })).items;
		expect(uses).toHaveLength(1);
		expect(uses[0]).toMatchObject({
			actor: 'n8n-worker',
			secret: 'api-key',
			environment: 'production',
			workflowId: 'wf-pay',
			workflowName: 'Charge customers',
			node: 'Call API',
			mode: 'manual',
			destinationHost: base,
		});
		expect(uses[0].executionId).toBeTruthy();
	});

	it('turns an expired secret into a node error that says so, without sending anything', async () => {
		await t.service.setValue(t.admin, {
			name: 'api-key',
			environment: 'production',
			value: 'sk_live_short_lived',
			expiresAt: new Date(Date.now() + 1000).toISOString(),
		});
		await new Promise((r) => setTimeout(r, 1100));
		const run = await h.run(workflow(bearer(`${base}/x`)));
		const { error } = nodeResult(run, 'Call API');
		expect(error!.message).toContain('SECRET_EXPIRED');
		expect(error!.message).toContain('Rotate it');
		expect(seen).toHaveLength(0);
	});

	it('turns a missing secret into a node error with the item index', async () => {
		const run = await h.run(
			workflow({
				...bearer(`${base}/x`),
				secret: { __rl: true, mode: 'name', value: 'no-such-key' },
			}),
		);
		const { error } = nodeResult(run, 'Call API');
		expect(error!.message).toContain('SECRET_NOT_FOUND');
		expect((error as unknown as { context?: { itemIndex?: number } }).context?.itemIndex).toBe(0);
		expect(seen).toHaveLength(0);
	});
});

describe('Secret Reference Auth credential', () => {
	function predefined(url: string, data: Record<string, string>): WorkflowJson {
		const cred = h.addCredential('secretReferenceAuth', 'Ref auth', {
			...backend.fields,
			token: runtimeToken,
			environment: 'production',
			...data,
		});
		return {
			name: 'Predefined credential',
			nodes: [
				{
					id: '1',
					name: 'Start',
					type: 'n8n-nodes-base.manualTrigger',
					typeVersion: 1,
					position: [0, 0],
					parameters: {},
				},
				{
					id: '2',
					name: 'HTTP Request',
					type: 'test.predefinedCredentialRequest',
					typeVersion: 1,
					position: [200, 0],
					parameters: { url },
					credentials: { secretReferenceAuth: cred },
				},
			],
			connections: { Start: { main: [[{ node: 'HTTP Request', type: 'main', index: 0 }]] } },
		};
	}

	it("authenticates a request made the way n8n's HTTP Request node makes it, for each placement", async () => {
		await h.run(predefined(`${base}/a`, { placement: 'bearer', reference: '[[secret:api-key]]' }));
		await h.run(
			predefined(`${base}/b`, {
				placement: 'header',
				headerName: 'X-Api-Key',
				reference: 'key=[[secret:api-key]]',
			}),
		);
		await h.run(
			predefined(`${base}/c`, {
				placement: 'query',
				queryName: 'k',
				reference: '[[secret:api-key]]',
			}),
		);
		await h.run(
			predefined(`${base}/d`, {
				placement: 'basic',
				userReference: 'app',
				passReference: '[[secret:api-key]]',
			}),
		);
		expect(seen[0].headers.authorization).toBe(`Bearer ${PROD}`);
		expect(seen[1].headers['x-api-key']).toBe(`key=${PROD}`);
		expect(new URL(seen[2].path, base).searchParams.get('k')).toBe(PROD);
		expect(seen[3].headers.authorization).toBe(
			`Basic ${Buffer.from(`app:${PROD}`).toString('base64')}`,
		);
	});

	it('refuses a bound secret for another host', async () => {
		await t.service.updateSecret(t.admin, { name: 'api-key', allowedHosts: ['api.example.com'] });
		const run = await h.run(
			predefined(`${base}/a`, { placement: 'bearer', reference: '[[secret:api-key]]' }),
		);
		expect(
			run.data.resultData.error?.message ?? nodeResult(run, 'HTTP Request').error?.message,
		).toContain(`may not be sent to ${base}`);
		expect(seen).toHaveLength(0);
	});

	it("works as the Secret HTTP Request node's credential too", async () => {
		const cred = h.addCredential('secretReferenceAuth', 'Ref auth', {
			...backend.fields,
			token: userToken,
			environment: 'staging',
			placement: 'header',
			headerName: 'X-Key',
			reference: '[[secret:api-key]]',
		});
		const wf = workflow({ method: 'GET', url: `${base}/x`, authentication: 'secretReferenceAuth' });
		wf.nodes[1].credentials = { secretReferenceAuth: cred };
		const run = await h.run(wf);
		expect(seen[0].headers['x-key']).toBe(STAGING);
		expectNoLeak(run.data);
	});
});
