/**
 * Rotation policies over the HTTP API: what create and PATCH accept, `GET /rotation/due?policy=`,
 * `nextRotationAt` in the metadata, the OpenAPI document, and the remote client that n8n uses.
 */
import { RemoteSecrets } from '../../src/client/remote-secrets';
import { openApiDocument } from '../../src/server/openapi';
import { type ApiServer, startApiServer } from '../helpers/api-server';
import { createTestStore, type TestStore } from '../helpers/store';

const DAY_MS = 86_400_000;
let t: TestStore;
let api: ApiServer;

beforeEach(async () => {
	t = await createTestStore();
	api = await startApiServer(t);
});

afterEach(async () => {
	await api.close();
	await t.cleanup();
});

const call = (method: string, path: string, body?: unknown) =>
	api.call(method, `/api/v1${path}`, { token: t.admin.token, body });

const create = (name: string, rotation: Record<string, unknown>) =>
	call('POST', '/secrets', { name, environment: 'production', value: `${name}-v`, ...rotation });

describe('rotation policies over the API', () => {
	it('refuses an interval without a policy, AUTOMATIC without one and ON_DEMAND with one (400)', async () => {
		for (const [rotation, text] of [
			[{ rotationIntervalDays: 30 }, 'a rotation interval needs a rotation policy'],
			[{ rotationPolicy: 'AUTOMATIC' }, 'AUTOMATIC rotation needs an interval'],
			[{ rotationPolicy: 'ON_DEMAND', rotationIntervalDays: 30 }, 'take no interval'],
			[{ rotationPolicy: 'SOMETIMES' }, 'rotationPolicy'],
		] as const) {
			const r = await create('k', rotation);
			expect({ status: r.status, code: r.body.code }).toEqual({
				status: 400,
				code: 'INVALID_INPUT',
			});
			expect(r.body.message).toContain(text);
			expect(JSON.stringify(r.body)).not.toContain('k-v');
		}
		expect((await call('GET', '/secrets/k')).status).toBe(404);
	});

	it('creates, lists due by policy, shows nextRotationAt, and changes the policy with PATCH', async () => {
		const start = t.clock.ms;
		const auto = await create('auto', { rotationPolicy: 'AUTOMATIC', rotationIntervalDays: 30 });
		expect(auto.status).toBe(201);
		expect(auto.body).toMatchObject({
			rotationPolicy: 'AUTOMATIC',
			rotationIntervalDays: 30,
			nextRotationAt: new Date(start + 30 * DAY_MS).toISOString(),
		});
		await create('manual', { rotationPolicy: 'MANUAL', rotationIntervalDays: 30 });
		await create('demand', { rotationPolicy: 'ON_DEMAND' });
		expect((await call('GET', '/secrets/demand')).body.nextRotationAt).toBeNull();

		t.clock.advanceDays(30);
		const due = async (query = '') =>
			((await call('GET', `/rotation/due${query}`)).body as { name: string; action: string }[]).map(
				(d) => `${d.name}:${d.action}`,
			);
		expect(await due()).toEqual(['auto:rotate', 'manual:remind']);
		expect(await due('?policy=AUTOMATIC')).toEqual(['auto:rotate']);
		expect(await due('?policy=MANUAL&env=production')).toEqual(['manual:remind']);
		const bad = await call('GET', '/rotation/due?policy=automatic');
		expect({ status: bad.status, code: bad.body.code }).toEqual({
			status: 400,
			code: 'INVALID_INPUT',
		});

		const patched = await call('PATCH', '/secrets/auto', { rotationPolicy: 'ON_DEMAND' });
		expect(patched.body).toMatchObject({
			rotationPolicy: 'ON_DEMAND',
			rotationIntervalDays: null,
			nextRotationAt: null,
		});
		const refused = await call('PATCH', '/secrets/auto', { rotationIntervalDays: 5 });
		expect(refused.status).toBe(400);
		expect(refused.body.message).toContain('ON_DEMAND secrets are rotated only when someone asks');
		expect(await due()).toEqual(['manual:remind']);

		// The remote client (n8n in remote mode) passes the policy through.
		const client = new RemoteSecrets(api.url);
		try {
			const items = await client.dueForRotation(t.admin, { rotationPolicy: 'MANUAL' });
			expect(items.map((d) => d.name)).toEqual(['manual']);
			expect(await client.dueForRotation(t.admin, { rotationPolicy: 'AUTOMATIC' })).toEqual([]);
		} finally {
			await client.close();
		}
	});

	it('documents the policies and the due filter in openapi.json', () => {
		const doc = openApiDocument() as {
			paths: Record<
				string,
				Record<
					string,
					{
						parameters?: { name: string; schema: { enum?: string[] } }[];
						requestBody?: {
							content: {
								'application/json': {
									schema: { properties: Record<string, { description?: string }> };
								};
							};
						};
					}
				>
			>;
		};
		const due = doc.paths['/api/v1/rotation/due'].get;
		expect(due.parameters!.find((p) => p.name === 'policy')!.schema.enum).toEqual([
			'MANUAL',
			'AUTOMATIC',
			'ON_DEMAND',
		]);
		const create =
			doc.paths['/api/v1/secrets'].post.requestBody!.content['application/json'].schema;
		expect(create.properties.rotationPolicy.description).toContain('AUTOMATIC');
		expect(create.properties.rotationPolicy.description).toContain(
			'Required on create when rotationIntervalDays is given',
		);
	});
});
