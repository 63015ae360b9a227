/**
 * The remote client against a server that misbehaves on purpose (busy, silent, not ours): reads are
 * retried, writes never sent twice, and every failure arrives as a coded SecretsError.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import { RemoteSecrets } from '../../src/client/remote-secrets';

let server: Server;
let url: string;
let requests: { method: string; url: string; auth?: string; workflow?: string }[];
let respond: (req: IncomingMessage, res: ServerResponse, n: number) => void;

beforeEach(async () => {
	requests = [];
	server = createServer((req, res) => {
		requests.push({
			method: String(req.method),
			url: String(req.url),
			auth: req.headers.authorization,
			workflow: req.headers['x-n8n-workflow-name'] as string | undefined,
		});
		req.resume();
		req.on('end', () => respond(req, res, requests.length));
	});
	await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
	url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(async () => {
	server.closeAllConnections();
	await new Promise<void>((r) => server.close(() => r()));
});

const busyOnce = (_req: IncomingMessage, res: ServerResponse, n: number) => {
	res.setHeader('content-type', 'application/json');
	if (n === 1) {
		res.statusCode = 503;
		res.end(
			JSON.stringify({ code: 'STORE_BUSY', message: 'The secrets store is busy; try again.' }),
		);
	} else res.end(JSON.stringify({ secrets: 1 }));
};

const caller = {
	token: 'tok',
	context: { workflowName: 'Nightly rotation ✓', executionId: '42' },
};

it('retries a read the server could not serve, and sends the n8n context along', async () => {
	respond = busyOnce;
	const client = new RemoteSecrets(url);
	try {
		expect(await client.stats(caller)).toEqual({ secrets: 1 });
	} finally {
		await client.close();
	}
	expect(requests.map((r) => `${r.method} ${r.url}`)).toEqual([
		'GET /api/v1/stats',
		'GET /api/v1/stats',
	]);
	expect(requests[0].auth).toBe('Bearer tok');
	expect(decodeURIComponent(requests[0].workflow!)).toBe('Nightly rotation ✓');
});

it('never sends a write twice: the error comes back with its code', async () => {
	respond = busyOnce;
	const client = new RemoteSecrets(url);
	try {
		await expect(
			client.rotate(caller, { name: 'k', environment: 'production', generate: {} }),
		).rejects.toMatchObject({ code: 'STORE_BUSY', message: expect.stringContaining('busy') });
	} finally {
		await client.close();
	}
	expect(requests.map((r) => `${r.method} ${r.url}`)).toEqual([
		'POST /api/v1/secrets/k/rotate?env=production',
	]);
});

it('gives up on a silent server after its timeout, as SERVER_UNAVAILABLE', async () => {
	respond = () => undefined;
	const client = new RemoteSecrets(url, { timeoutMs: 300, retries: 1 });
	try {
		await expect(client.whoami(caller)).rejects.toMatchObject({ code: 'SERVER_UNAVAILABLE' });
	} finally {
		await client.close();
	}
	expect(requests).toHaveLength(2);
});

it('says so when the URL is not an n8n-secrets server, and refuses a token in the URL', async () => {
	respond = (_req, res) => {
		res.statusCode = 404;
		res.end('<html>not here</html>');
	};
	const client = new RemoteSecrets(url);
	try {
		await expect(client.getSecret(caller, 'k')).rejects.toMatchObject({
			code: 'INVALID_INPUT',
			message: expect.stringContaining('is this URL an n8n-secrets server'),
		});
	} finally {
		await client.close();
	}
	expect(() => new RemoteSecrets('https://admin:tok@secrets.example.com')).toThrow(
		expect.objectContaining({ code: 'INVALID_INPUT' }),
	);
	expect(() => new RemoteSecrets('ftp://secrets.example.com')).toThrow(
		expect.objectContaining({ code: 'INVALID_INPUT' }),
	);
});
