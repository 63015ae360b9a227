/**
 * What the queue-mode suite's workflows are made of and talk to: webhook workflows (published, so
 * their production URL runs them on a worker), the nodes in them, the upstream API they call (a
 * loopback server in the test process), and `n8n-secrets` run as a child process.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { appendFileSync, closeSync, openSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

import { ROOT } from './n8n-queue';

/** One request the upstream received. */
export interface Seen {
	path: string;
	/** The `seq` of the webhook call that started the execution (X-Seq). */
	seq: number;
	/** n8n's execution id ($execution.id, X-Execution). */
	execution: string;
	authorization?: string;
	apiKey?: string;
	/** performance.now() when it arrived. */
	at: number;
}

export interface Upstream {
	base: string;
	seen: Seen[];
	close(): Promise<void>;
}

/**
 * The API the workflows call. Under /echo/ it answers with the credentials it received, as an API
 * that reflects its input would: what Secret HTTP Request must scrub from its output.
 */
export async function startUpstream(): Promise<Upstream> {
	const seen: Seen[] = [];
	const server: Server = createServer((req, res) => {
		const h = req.headers;
		const one = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);
		seen.push({
			path: new URL(String(req.url), 'http://x').pathname,
			seq: Number(one(h['x-seq'])),
			execution: String(one(h['x-execution']) ?? ''),
			authorization: one(h.authorization),
			apiKey: one(h['x-api-key']),
			at: performance.now(),
		});
		res.setHeader('content-type', 'application/json');
		const echo = String(req.url).startsWith('/echo/');
		res.end(
			JSON.stringify(
				echo ? { ok: true, authorization: h.authorization ?? null } : { ok: true, path: req.url },
			),
		);
	});
	await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
	return {
		base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
		seen,
		close: () => new Promise((r) => server.close(() => r())),
	};
}

/** A webhook call's outcome; `sentAt` is performance.now() just before it was sent. */
export interface Triggered {
	seq: number;
	status: number;
	body: string;
	sentAt: number;
	/** From sending the call to its answer (the execution's end, with responseMode lastNode). */
	ms: number;
}

/** Calls a published workflow's production webhook on main; answered when the execution ends. */
export async function trigger(mainBase: string, path: string, seq: number): Promise<Triggered> {
	const sentAt = performance.now();
	const res = await fetch(`${mainBase}/webhook/${path}?seq=${seq}`);
	const body = await res.text();
	return { seq, status: res.status, body, sentAt, ms: performance.now() - sentAt };
}

/** Headers every request of the suite carries: which webhook call and which execution it is. */
const traceHeaders = [
	{ name: 'X-Seq', value: '={{ $json.query.seq }}' },
	{ name: 'X-Execution', value: '={{ $execution.id }}' },
];

type Credential = { id: string; name: string };

/** A workflow: Webhook (GET `path`, answers with the last node's output) -> `node`. */
export function webhookWorkflow(id: string, path: string, node: Record<string, unknown>) {
	return {
		id,
		name: `queue e2e ${path}`,
		// Published on import (`import:workflow --activeState=fromJson`).
		active: true,
		nodes: [
			{
				id: randomUUID(),
				name: 'Webhook',
				type: 'n8n-nodes-base.webhook',
				typeVersion: 2,
				position: [0, 0],
				webhookId: randomUUID(),
				parameters: { path, httpMethod: 'GET', responseMode: 'lastNode', options: {} },
			},
			{ id: randomUUID(), name: 'Node', position: [220, 0], ...node },
		],
		connections: { Webhook: { main: [[{ node: 'Node', type: 'main', index: 0 }]] } },
		settings: { executionOrder: 'v1' },
	};
}

/** Secret HTTP Request: GET `url` with the secret `secret` as a bearer token. */
export function secretRequest(url: string, secret: string, credential: Credential) {
	return {
		type: 'n8n-nodes-secrets.secretHttpRequest',
		typeVersion: 1,
		parameters: {
			method: 'GET',
			url,
			authPlacement: 'bearer',
			secret: { __rl: true, mode: 'name', value: secret },
			headers: { parameters: traceHeaders },
		},
		credentials: { secretsStoreApi: credential },
	};
}

/** n8n's own HTTP Request node, authenticated by a Secret Reference Auth credential. */
export function referenceAuthRequest(url: string, credential: Credential) {
	return {
		type: 'n8n-nodes-base.httpRequest',
		typeVersion: 4.2,
		parameters: {
			method: 'GET',
			url,
			authentication: 'predefinedCredentialType',
			nodeCredentialType: 'secretReferenceAuth',
			sendHeaders: true,
			headerParameters: { parameters: traceHeaders },
			options: {},
		},
		credentials: { secretReferenceAuth: credential },
	};
}

/** n8n's own HTTP Request node without any credential: the baseline an execution costs. */
export function plainRequest(url: string) {
	return {
		type: 'n8n-nodes-base.httpRequest',
		typeVersion: 4.2,
		parameters: {
			method: 'GET',
			url,
			sendHeaders: true,
			headerParameters: { parameters: traceHeaders },
			options: {},
		},
	};
}

/** The Secrets node's Reveal: the one operation that outputs a value. */
export function revealNode(secret: string, credential: Credential) {
	return {
		type: 'n8n-nodes-secrets.secrets',
		typeVersion: 1,
		parameters: {
			resource: 'secret',
			operation: 'reveal',
			secret: { __rl: true, mode: 'name', value: secret },
		},
		credentials: { secretsStoreApi: credential },
	};
}

export const SECRETS_CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');

/**
 * Runs `n8n-secrets` with `input` on stdin. `ackAt` is performance.now() when its answer arrived
 * (its first output: the CLI prints once the store has committed). Output goes to `log`.
 */
export function secretsCli(
	args: string[],
	env: NodeJS.ProcessEnv,
	log: string,
	input?: string,
): Promise<{ stdout: string; ackAt: number }> {
	return new Promise((resolve, reject) => {
		const child = spawn(process.execPath, [SECRETS_CLI, ...args], {
			env,
			stdio: ['pipe', 'pipe', 'pipe'],
		});
		let stdout = '';
		let stderr = '';
		let ackAt = 0;
		child.stdout.on('data', (d: Buffer) => {
			if (!ackAt) ackAt = performance.now();
			stdout += d.toString();
		});
		child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
		child.on('error', reject);
		child.on('close', (code) => {
			appendFileSync(log, `$ n8n-secrets ${args.join(' ')}\n${stdout}\n${stderr}\n`);
			if (code === 0) resolve({ stdout, ackAt });
			else reject(new Error(`n8n-secrets ${args.join(' ')} exited with ${code}: ${stderr}`));
		});
		child.stdin.end(input ?? '');
	});
}

/**
 * `n8n-secrets serve` on `port` (loopback), its output appended to `log`; resolves once /healthz
 * answers, with a function that stops it.
 */
export async function startServe(
	env: NodeJS.ProcessEnv,
	port: number,
	log: string,
): Promise<() => Promise<void>> {
	const fd = openSync(log, 'a');
	const child = spawn(
		process.execPath,
		[SECRETS_CLI, 'serve', '--host', '127.0.0.1', '--port', String(port)],
		{ env, stdio: ['ignore', fd, fd] },
	);
	closeSync(fd);
	const stop = async () => {
		if (child.exitCode !== null || child.signalCode !== null) return;
		const exited = new Promise((r) => child.once('exit', r));
		child.kill('SIGTERM');
		await exited;
	};
	const deadline = Date.now() + 30_000;
	for (;;) {
		if (child.exitCode !== null) throw new Error(`serve exited with ${child.exitCode}; see ${log}`);
		const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then(
			(r) => r.ok,
			() => false,
		);
		if (ok) return stop;
		if (Date.now() > deadline) {
			await stop();
			throw new Error(`serve did not answer /healthz within 30 s; see ${log}`);
		}
		await new Promise((r) => setTimeout(r, 100));
	}
}
