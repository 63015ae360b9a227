/**
 * Against a real n8n 2.41 with the packed package installed in its community-nodes folder, driven
 * through n8n's own CLI (import, execute, export), as an operator would. Slow: every n8n command
 * starts n8n (a few seconds).
 */
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const runtime = require('../../scripts/n8n-runtime.js') as {
	ROOT: string;
	ensureN8n(): string;
	ensureSqlite3(): void;
	installPackage(userFolder: string): void;
};

const ROOT = resolve(__dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');

let n8nBin: string;
let dir: string;
let env: NodeJS.ProcessEnv;
let admin: string;
let server: Server;
let base: string;
const seen: { path: string; headers: IncomingMessage['headers'] }[] = [];

const PROD = `sk_e2e_prod_${randomBytes(6).toString('hex')}`;
const STAGING = `sk_e2e_staging_${randomBytes(6).toString('hex')}`;

/**
 * Runs one n8n command. Asynchronous on purpose: the HTTP server the workflows call lives in this
 * process, and a synchronous child would block it from answering.
 */
async function n8n(args: string[]): Promise<string> {
	try {
		const { stdout } = await promisify(execFile)(process.execPath, [n8nBin, ...args], {
			env,
			maxBuffer: 256 * 1024 * 1024,
		});
		return stdout;
	} catch (err) {
		return String((err as { stdout?: string }).stdout ?? '');
	}
}

function secrets(args: string[], input?: string, token = admin): string {
	return execFileSync(process.execPath, [CLI, ...args], {
		env: { ...env, N8N_SECRETS_TOKEN: token },
		input,
		encoding: 'utf8',
	});
}

let credentialCount = 0;
async function importCredential(
	type: string,
	data: Record<string, string>,
): Promise<{ id: string; name: string }> {
	const id = `cred${String(++credentialCount).padStart(12, '0')}`;
	const name = `${type} ${credentialCount}`;
	const file = join(dir, `${id}.json`);
	writeFileSync(file, JSON.stringify([{ id, name, type, data }]));
	await n8n(['import:credentials', `--input=${file}`]);
	return { id, name };
}

let workflowCount = 0;
/** Imports a Manual Trigger -> node workflow and executes it; returns n8n's run JSON. */
async function runNode(node: Record<string, unknown>): Promise<{
	status: string;
	data: {
		resultData: {
			runData: Record<
				string,
				{ data?: { main: { json: unknown }[][] }; error?: { message: string } }[]
			>;
		};
	};
}> {
	const id = `wfe2e${String(++workflowCount).padStart(11, '0')}`;
	const wf = {
		id,
		name: `e2e ${workflowCount}`,
		active: false,
		nodes: [
			{
				id: '1',
				name: 'Start',
				type: 'n8n-nodes-base.manualTrigger',
				typeVersion: 1,
				position: [0, 0],
				parameters: {},
			},
			{ id: '2', name: 'Node', position: [200, 0], typeVersion: 1, ...node },
		],
		connections: { Start: { main: [[{ node: 'Node', type: 'main', index: 0 }]] } },
		settings: {},
	};
	const file = join(dir, `${id}.json`);
	writeFileSync(file, JSON.stringify(wf));
	await n8n(['import:workflow', `--input=${file}`]);
	const out = await n8n(['execute', `--id=${id}`, '--rawOutput']);
	// The run is printed as pretty JSON between a line "{" and a line "}"; n8n may log around it.
	const lines = out.split('\n');
	const start = lines.indexOf('{');
	return JSON.parse(lines.slice(start, lines.indexOf('}', start) + 1).join('\n'));
}

beforeAll(async () => {
	n8nBin = runtime.ensureN8n();
	runtime.ensureSqlite3();
	dir = mkdtempSync(join(tmpdir(), 'n8n-secrets-e2e-'));
	runtime.installPackage(dir);
	env = {
		...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('N8N_'))),
		// jest sets NODE_ENV=test, which n8n takes as its own test mode.
		NODE_ENV: 'production',
		N8N_USER_FOLDER: dir,
		N8N_DIAGNOSTICS_ENABLED: 'false',
		N8N_VERSION_NOTIFICATIONS_ENABLED: 'false',
		N8N_SECRETS_MASTER_KEY: randomBytes(32).toString('base64'),
		N8N_SECRETS_DB: join(dir, '.n8n', 'secrets', 'secrets.db'),
	};
	admin = secrets(['init']).trim();
	secrets(
		['secret', 'set', 'api-key', '--env', 'production', '--value-stdin', '--type', 'API_KEY'],
		PROD,
	);
	secrets(['secret', 'set', 'api-key', '--env', 'staging', '--value-stdin'], STAGING);
	server = createServer((req, res) => {
		seen.push({ path: String(req.url), headers: req.headers });
		res.setHeader('content-type', 'application/json');
		res.end(JSON.stringify({ ok: true, authorization: req.headers.authorization ?? null }));
	});
	await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
	base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, 20 * 60_000);

afterAll(() => {
	server?.close();
	if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('inside a real n8n', () => {
	it('loads every node of the package', async () => {
		const file = join(dir, 'nodes.json');
		await n8n(['export:nodes', `--output=${file}`]);
		const names = (JSON.parse(readFileSync(file, 'utf8')) as { name: string }[]).map((n) => n.name);
		expect(names).toEqual(
			expect.arrayContaining([
				'n8n-nodes-secrets.secrets',
				'n8n-nodes-secrets.secretHttpRequest',
				'n8n-nodes-secrets.secretsTrigger',
			]),
		);
	});

	it("sends the value for each credential's environment with Secret HTTP Request, and never outputs it", async () => {
		const user = secrets(['token', 'create', '--role', 'user', '--subject', 'n8n-e2e']).trim();
		const outputs = [];
		for (const environment of ['production', 'staging']) {
			const credential = await importCredential('secretsStoreApi', {
				connection: 'embedded',
				token: user,
				environment,
			});
			outputs.push(
				await runNode({
					name: 'Node',
					type: 'n8n-nodes-secrets.secretHttpRequest',
					parameters: {
						method: 'GET',
						url: `${base}/charge`,
						authPlacement: 'bearer',
						secret: { __rl: true, mode: 'name', value: 'api-key' },
					},
					credentials: { secretsStoreApi: credential },
				}),
			);
		}
		expect(seen.slice(-2).map((s) => s.headers.authorization)).toEqual([
			`Bearer ${PROD}`,
			`Bearer ${STAGING}`,
		]);
		for (const run of outputs) {
			expect(run.status).toBe('success');
			const text = JSON.stringify(run);
			expect(text).not.toContain(PROD);
			expect(text).not.toContain(STAGING);
			expect(text).toContain('[redacted:api-key]');
		}
	});
});
