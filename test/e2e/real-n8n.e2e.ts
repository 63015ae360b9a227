/**
 * Against a real n8n 2.41 with the packed package installed in its community-nodes folder, driven
 * through n8n's own CLI (import, execute, export), as an operator would. Slow: every n8n command
 * starts n8n (a few seconds).
 */
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import {
	existsSync,
	mkdtempSync,
	readdirSync,
	readFileSync,
	rmSync,
	statSync,
	writeFileSync,
} from 'node:fs';
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
const ROTATED = `sk_e2e_rotated_${randomBytes(6).toString('hex')}`;
const REVEALED = `reveal_me_${randomBytes(6).toString('hex')}`;

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

	it("authenticates n8n's own HTTP Request node through the Secret Reference Auth credential", async () => {
		const user = secrets([
			'token',
			'create',
			'--role',
			'user',
			'--subject',
			'n8n-http-node',
		]).trim();
		const credential = await importCredential('secretReferenceAuth', {
			connection: 'embedded',
			token: user,
			environment: 'production',
			placement: 'header',
			headerName: 'X-Api-Key',
			reference: '[[secret:api-key]]',
		});
		const run = await runNode({
			name: 'Node',
			type: 'n8n-nodes-base.httpRequest',
			typeVersion: 4.2,
			parameters: {
				method: 'GET',
				url: `${base}/native`,
				authentication: 'predefinedCredentialType',
				nodeCredentialType: 'secretReferenceAuth',
				options: {},
			},
			credentials: { secretReferenceAuth: credential },
		});
		expect({ status: run.status, error: (run.data.resultData as { error?: { message: string } }).error?.message }).toEqual({
			status: 'success',
			error: undefined,
		});
		expect(seen[seen.length - 1]).toMatchObject({
			path: '/native',
			headers: { 'x-api-key': PROD },
		});
	});

	it('uses a value rotated between two executions, and the rolled-back one after a rollback', async () => {
		const user = secrets(['token', 'create', '--role', 'user', '--subject', 'n8n-rotation']).trim();
		const credential = await importCredential('secretsStoreApi', {
			connection: 'embedded',
			token: user,
			environment: 'production',
		});
		const call = () =>
			runNode({
				name: 'Node',
				type: 'n8n-nodes-secrets.secretHttpRequest',
				parameters: {
					method: 'GET',
					url: `${base}/rotation`,
					authPlacement: 'bearer',
					secret: { __rl: true, mode: 'name', value: 'api-key' },
				},
				credentials: { secretsStoreApi: credential },
			});
		secrets(['secret', 'rotate', 'api-key', '--env', 'production', '--value-stdin'], ROTATED);
		await call();
		secrets(['secret', 'rollback', 'api-key', '--env', 'production']);
		await call();
		expect(seen.slice(-2).map((s) => s.headers.authorization)).toEqual([
			`Bearer ${ROTATED}`,
			`Bearer ${PROD}`,
		]);
	});

	it('refuses a reveal to a use token, and outputs it for a reveal token, audited with the run', async () => {
		secrets(['secret', 'set', 'reveal-me', '--env', 'production', '--value-stdin'], REVEALED);
		const reveal = (token: string) =>
			importCredential('secretsStoreApi', {
				connection: 'embedded',
				token,
				environment: 'production',
			}).then((credential) =>
				runNode({
					name: 'Node',
					type: 'n8n-nodes-secrets.secrets',
					parameters: {
						resource: 'secret',
						operation: 'reveal',
						secret: { __rl: true, mode: 'name', value: 'reveal-me' },
					},
					credentials: { secretsStoreApi: credential },
				}),
			);
		const denied = await reveal(
			secrets(['token', 'create', '--role', 'user', '--subject', 'n8n-user']).trim(),
		);
		expect(denied.status).toBe('error');
		expect(JSON.stringify(denied)).toContain('ACCESS_DENIED');
		expect(JSON.stringify(denied)).not.toContain(REVEALED);
		const revealed = await reveal(
			secrets(['token', 'create', '--role', 'revealer', '--subject', 'n8n-revealer']).trim(),
		);
		expect(revealed.status).toBe('success');
		expect(JSON.stringify(revealed.data.resultData.runData.Node[0].data)).toContain(REVEALED);
		const events = JSON.parse(secrets(['audit', 'list', '--action', 'reveal', '--json'])) as {
			actor: string;
			workflowId: string;
			executionId: string;
		}[];
		expect(events).toEqual([
			expect.objectContaining({
				actor: 'n8n-revealer',
				workflowId: expect.stringMatching(/^wfe2e/),
				executionId: expect.any(String),
			}),
		]);
	});

	it('leaves no value anywhere in n8n but the one deliberate reveal', async () => {
		await n8n(['export:workflow', '--all', `--output=${join(dir, 'workflows.json')}`]);
		await n8n([
			'export:credentials',
			'--all',
			'--decrypted',
			`--output=${join(dir, 'credentials.json')}`,
		]);
		const n8nDir = join(dir, '.n8n');
		const places = [
			...readdirSync(n8nDir)
				.filter((f) => f.startsWith('database.sqlite'))
				.map((f) => join(n8nDir, f)),
			...readdirSync(n8nDir)
				.filter((f) => /\.log$|event/.test(f))
				.map((f) => join(n8nDir, f)),
			join(dir, 'workflows.json'),
			join(dir, 'credentials.json'),
		].filter((f) => existsSync(f) && statSync(f).isFile());
		const forms = (v: string) => [
			v,
			Buffer.from(v).toString('base64'),
			encodeURIComponent(v),
			JSON.stringify(v).slice(1, -1),
		];
		const hits: string[] = [];
		for (const value of [PROD, STAGING, ROTATED]) {
			for (const form of forms(value)) {
				for (const place of places)
					if (readFileSync(place).includes(Buffer.from(form))) hits.push(`${place}: ${value}`);
			}
		}
		const revealHits = places.filter((p) => readFileSync(p).includes(Buffer.from(REVEALED)));
		console.log(
			`leak audit: ${3 * 4} value forms searched in ${places.length} places; ${hits.length} hits; the revealed value found in ${revealHits.length} (the execution that revealed it)`,
		);
		expect(places.length).toBeGreaterThanOrEqual(4);
		expect(hits).toEqual([]);
	});
});
