/**
 * How the n8n suites reach the store: jest's `remote` project sets N8N_SECRETS_TEST_MODE, and every
 * credential then points at `n8n-secrets serve`'s API on loopback instead of the embedded store, so
 * every node runs in both modes.
 */
import type { AddressInfo } from 'node:net';

import type { FastifyInstance } from 'fastify';

import { buildServer } from '../../src/server/app';
import type { TestStore } from './store';

export const BACKEND_MODE: 'embedded' | 'remote' =
	process.env.N8N_SECRETS_TEST_MODE === 'remote' ? 'remote' : 'embedded';

export interface Backend {
	/** The credential fields that select this mode: `{ connection: 'embedded' }` or remote + URL. */
	fields: { connection: 'embedded' | 'remote'; url?: string };
	close(): Promise<void>;
}

/** In remote mode, a server on its own connection to the test store, as a separate host would be. */
export async function startBackend(t: TestStore): Promise<Backend> {
	if (BACKEND_MODE === 'embedded') {
		return { fields: { connection: 'embedded' }, close: async () => undefined };
	}
	// The system clock, as the embedded store a node opens runs on. The node suites' secrets are mostly
	// unbound; this test backend's operator lets the relay send them (N8N_SECRETS_RELAY_UNBOUND_TENANTS),
	// while the relay's default refusal is covered by the server suites.
	const service = await t.open({ now: () => new Date(), relayUnboundTenants: ['*'] });
	const app: FastifyInstance = await buildServer({
		service,
		log: () => undefined,
		// The test's upstream servers listen on 127.0.0.1; everything else private stays refused.
		relay: { allow: ['127.0.0.1/32'] },
	});
	await app.listen({ host: '127.0.0.1', port: 0 });
	const { port } = app.server.address() as AddressInfo;
	let closed = false;
	return {
		fields: { connection: 'remote', url: `http://127.0.0.1:${port}` },
		close: async () => {
			if (closed) return;
			closed = true;
			await app.close();
		},
	};
}
