/**
 * Against a real n8n 2.41 with the packed package installed in its community-nodes folder, driven
 * through n8n's own CLI (import, execute, export), as an operator would. Slow: every n8n command
 * starts n8n (a few seconds).
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';

import { formatLogLine } from '../../src/server/app';
import { startServer } from '../../src/server/serve';
import { sel, signIn, textOf } from '../browser/driving';
import { launchBrowser } from '../browser/harness';
import { encodingsOf } from '../browser/leak';
import { freePorts } from '../helpers/ports';
import { sealedRawSql } from '../helpers/store';
import { randomBytes } from 'node:crypto';
import {
	appendFileSync,
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
/** What the API in the rotation example answers when asked to verify a new value. */
let verifyStatus = 200;
/** Further values the suite used, for the leak audit. */
const usedValues: string[] = [];

const PROD = `sk_e2e_prod_${randomBytes(6).toString('hex')}`;
const STAGING = `sk_e2e_staging_${randomBytes(6).toString('hex')}`;
const ROTATED = `sk_e2e_rotated_${randomBytes(6).toString('hex')}`;
const REVEALED = `reveal_me_${randomBytes(6).toString('hex')}`;

/**
 * Runs one n8n command. Asynchronous on purpose: the HTTP server the workflows call lives in this
 * process, and a synchronous child would block it from answering.
 */
async function n8n(args: string[]): Promise<string> {
	let stdout = '';
	let stderr = '';
	try {
		({ stdout, stderr } = await promisify(execFile)(process.execPath, [n8nBin, ...args], {
			env,
			maxBuffer: 256 * 1024 * 1024,
		}));
	} catch (err) {
		({ stdout = '', stderr = '' } = err as { stdout?: string; stderr?: string });
	}
	// Everything n8n printed is its log here; the leak audit searches it.
	appendFileSync(join(dir, 'n8n-output.log'), `$ n8n ${args.join(' ')}\n${stdout}\n${stderr}\n`);
	return stdout;
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
	const [n8nPort, brokerPort] = await freePorts(2);
	env = {
		...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('N8N_'))),
		// jest sets NODE_ENV=test, which n8n takes as its own test mode.
		NODE_ENV: 'production',
		N8N_USER_FOLDER: dir,
		N8N_DIAGNOSTICS_ENABLED: 'false',
		N8N_VERSION_NOTIFICATIONS_ENABLED: 'false',
		// Ports of their own: a developer's n8n (`npm start`) holds 5678 and its task broker 5679.
		N8N_PORT: String(n8nPort),
		N8N_RUNNERS_BROKER_PORT: String(brokerPort),
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
		if (req.url?.startsWith('/v1/verify-credentials')) res.statusCode = verifyStatus;
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
	it('loads every node and credential of the package', async () => {
		const file = join(dir, 'nodes.json');
		await n8n(['export:nodes', `--output=${file}`]);
		const nodes = JSON.parse(readFileSync(file, 'utf8')) as {
			name: string;
			credentials?: { name: string }[];
		}[];
		const ours = nodes.filter((n) => n.name.startsWith('n8n-nodes-secrets.'));
		expect(ours.map((n) => n.name)).toEqual(
			expect.arrayContaining([
				'n8n-nodes-secrets.secrets',
				'n8n-nodes-secrets.secretHttpRequest',
				'n8n-nodes-secrets.secretsTrigger',
			]),
		);
		const credentials = new Set(ours.flatMap((n) => (n.credentials ?? []).map((c) => c.name)));
		expect([...credentials].sort()).toEqual(['secretReferenceAuth', 'secretsStoreApi']);
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

	it('works in remote mode: n8n without the master key, the request relayed by n8n-secrets serve', async () => {
		const relayToken = secrets([
			'token',
			'create',
			'--role',
			'relay',
			'--subject',
			'n8n-remote',
		]).trim();
		// The relay sends only secrets bound to hosts: bind one to the upstream; the unbound api-key
		// is refused below.
		secrets(
			[
				'secret',
				'set',
				'relay-key',
				'--env',
				'production',
				'--value-stdin',
				'--allowed-host',
				'127.0.0.1',
			],
			PROD,
		);
		const serve = spawn(process.execPath, [CLI, 'serve', '--port', '0'], {
			env: { ...env, N8N_SECRETS_RELAY_ALLOW: '127.0.0.1/32' },
			stdio: ['ignore', 'pipe', 'inherit'],
		});
		const masterKey = env.N8N_SECRETS_MASTER_KEY;
		try {
			const url = await new Promise<string>((resolveUrl, reject) => {
				createInterface({ input: serve.stdout! }).on('line', (line) => {
					const m = /at (http:\/\/[^ "]+)\/api\/v1/.exec(line);
					if (m) resolveUrl(m[1]);
				});
				serve.once('exit', (code) => reject(new Error(`serve exited with ${code}`)));
			});
			const credential = await importCredential('secretsStoreApi', {
				connection: 'remote',
				url,
				token: relayToken,
				environment: 'production',
			});
			// This n8n cannot open the store itself: only the server can.
			delete env.N8N_SECRETS_MASTER_KEY;
			const relayed = (secret: string, path: string) =>
				runNode({
					name: 'Node',
					type: 'n8n-nodes-secrets.secretHttpRequest',
					parameters: {
						method: 'GET',
						url: `${base}${path}`,
						authPlacement: 'bearer',
						secret: { __rl: true, mode: 'name', value: secret },
					},
					credentials: { secretsStoreApi: credential },
				});
			const run = await relayed('relay-key', '/remote-charge');
			expect(run.status).toBe('success');
			expect(seen[seen.length - 1]).toMatchObject({
				path: '/remote-charge',
				headers: { authorization: `Bearer ${PROD}` },
			});
			const text = JSON.stringify(run);
			expect(text).not.toContain(PROD);
			expect(text).toContain('[redacted:relay-key]');
			// A relay token cannot send an unbound secret to a server of its choosing and read it there.
			const unbound = await relayed('api-key', '/exfiltrate');
			expect(JSON.stringify(unbound)).toContain('DESTINATION_NOT_ALLOWED');
			expect(JSON.stringify(unbound)).not.toContain(PROD);
			expect(seen.some((s) => s.path === '/exfiltrate')).toBe(false);
		} finally {
			env.N8N_SECRETS_MASTER_KEY = masterKey;
			serve.kill('SIGTERM');
			await new Promise((r) => (serve.exitCode === null ? serve.once('exit', r) : r(null)));
		}
		const uses = JSON.parse(secrets(['audit', 'list', '--action', 'use', '--json'])) as {
			actor: string;
			reason: string | null;
			destinationHost: string | null;
		}[];
		expect(uses.find((e) => e.actor === 'n8n-remote')).toMatchObject({
			reason: 'relayed by the server',
			destinationHost: base,
		});
	});

	it('takes a token created in the Secrets page (real Chromium) into a credential, and refuses it once revoked there', async () => {
		const logs: string[] = [];
		const serve = await startServer({
			env,
			host: '127.0.0.1',
			port: 0,
			log: (line) => logs.push(formatLogLine(line)),
		});
		const profile = mkdtempSync(join(tmpdir(), 'n8n-secrets-e2e-chromium-'));
		const browser = await launchBrowser(profile);
		try {
			const page = await browser.newPage();
			await signIn(page, serve.url, admin);
			await page.goto(`${serve.url}/#/tokens`);
			await page.waitForSelector(sel('token-create'), { visible: true });
			await page.click(sel('token-create'));
			await page.waitForSelector(sel('token-form-subject'), { visible: true });
			await page.type(sel('token-form-subject'), 'n8n-from-page');
			await page.select(sel('token-form-role'), 'user');
			await page.type(sel('token-form-environments'), 'production');
			await page.click(sel('token-form-submit'));
			const token = await textOf(page, sel('token-created-value'));
			await page.click(sel('token-done'));

			const credential = await importCredential('secretsStoreApi', {
				connection: 'embedded',
				token,
				environment: 'production',
			});
			const node = {
				name: 'Node',
				type: 'n8n-nodes-secrets.secretHttpRequest',
				parameters: {
					method: 'GET',
					url: `${base}/from-page`,
					authPlacement: 'bearer',
					secret: { __rl: true, mode: 'name', value: 'api-key' },
				},
				credentials: { secretsStoreApi: credential },
			};
			const run = await runNode(node);
			expect(run.status).toBe('success');
			expect(seen[seen.length - 1]).toMatchObject({
				path: '/from-page',
				headers: { authorization: `Bearer ${PROD}` },
			});
			expect(JSON.stringify(run)).not.toContain(PROD);

			const row = sel('token-row', '[data-subject="n8n-from-page"]');
			await page.waitForSelector(`${row} ${sel('token-revoke')}`, { visible: true });
			await page.click(`${row} ${sel('token-revoke')}`);
			await page.waitForSelector(sel('confirm-ok'), { visible: true });
			await page.click(sel('confirm-ok'));
			await page.waitForFunction(
				(r: string) => document.querySelector(`${r} [data-test="token-revoke"]`) === null,
				{},
				row,
			);
			const refused = await runNode(node);
			expect(refused.status).toBe('error');
			expect(JSON.stringify(refused)).toContain('TOKEN_REVOKED');
			expect(seen.filter((x) => x.path === '/from-page')).toHaveLength(1);
			expect(logs.join('')).not.toContain(token);
			expect(logs.join('')).not.toContain(admin);
		} finally {
			await browser.close();
			await serve.close();
			rmSync(profile, { recursive: true, force: true });
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
		expect({
			status: run.status,
			error: (run.data.resultData as { error?: { message: string } }).error?.message,
		}).toEqual({
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

	it('runs the scheduled-rotation example: rotates a due secret, verifies it, rolls back when verification fails', async () => {
		const operator = secrets([
			'token',
			'create',
			'--role',
			'operator',
			'--subject',
			'n8n-rotator',
		]).trim();
		const file = join(dir, 'rotator-credential.json');
		writeFileSync(
			file,
			JSON.stringify([
				{
					id: 'secrets-store-rotator',
					name: 'Secrets Store (rotator)',
					type: 'secretsStoreApi',
					data: { connection: 'embedded', token: operator, environment: 'production' },
				},
			]),
		);
		await n8n(['import:credentials', `--input=${file}`]);
		const example = JSON.parse(
			readFileSync(join(ROOT, 'examples', 'scheduled-rotation.json'), 'utf8'),
		) as {
			id?: string;
			nodes: {
				name: string;
				type: string;
				typeVersion: number;
				parameters: Record<string, unknown>;
			}[];
			connections: Record<string, unknown>;
		};
		// `n8n execute` starts from a manual trigger; the APIs it calls are this test's server.
		const trigger = example.nodes.find((n) => n.type === 'n8n-nodes-base.scheduleTrigger')!;
		Object.assign(trigger, {
			type: 'n8n-nodes-base.manualTrigger',
			typeVersion: 1,
			parameters: {},
		});
		for (const n of example.nodes) {
			if (typeof n.parameters.url === 'string')
				n.parameters.url = n.parameters.url.replace(/^https:\/\/[^/]+/, base);
		}
		const run = async (id: string) => {
			writeFileSync(join(dir, `${id}.json`), JSON.stringify({ ...example, id, active: false }));
			await n8n(['import:workflow', `--input=${join(dir, `${id}.json`)}`]);
			const out = await n8n(['execute', `--id=${id}`, '--rawOutput']);
			const lines = out.split('\n');
			const start = lines.indexOf('{');
			return JSON.parse(lines.slice(start, lines.indexOf('}', start) + 1).join('\n')) as {
				status: string;
			};
		};
		// Ages the value as a legitimate writer would (re-sealed), not as tampering would.
		const age = () =>
			sealedRawSql(
				env.N8N_SECRETS_DB!,
				env.N8N_SECRETS_MASTER_KEY!,
				"UPDATE versions SET created_at = '2020-01-01T00:00:00.000Z' WHERE secret_id = (SELECT id FROM secrets WHERE name = 'nightly')",
			);
		const current = () =>
			JSON.parse(secrets(['secret', 'get', 'nightly', '--json'])).environments[0]
				.currentVersion as number;
		const notices = () => seen.filter((s) => s.path === '/secrets-alerts').length;

		secrets(
			[
				'secret',
				'set',
				'nightly',
				'--env',
				'production',
				'--value-stdin',
				'--rotation-policy',
				'AUTOMATIC',
				'--rotate-every',
				'1',
			],
			'nightly-original',
		);
		await age();
		verifyStatus = 200;
		expect((await run('wfrotation00001')).status).toBe('success');
		expect(current()).toBe(2);
		const rotated = secrets(['secret', 'get', 'nightly', '--env', 'production', '--reveal']).trim();
		expect(rotated).toMatch(/^[A-Za-z0-9]{40}$/);
		expect(
			seen.filter((s) => s.path.startsWith('/v1/verify-credentials')).pop()!.headers.authorization,
		).toBe(`Bearer ${rotated}`);
		expect(notices()).toBe(1);

		await age();
		verifyStatus = 401;
		expect((await run('wfrotation00002')).status).toBe('success');
		expect(current()).toBe(2);
		expect(
			JSON.parse(secrets(['secret', 'versions', 'nightly', '--env', 'production', '--json'])).map(
				(v: { version: number }) => v.version,
			),
		).toEqual([3, 2, 1]);
		expect(notices()).toBe(2);
		usedValues.push(
			'nightly-original',
			rotated,
			secrets([
				'secret',
				'get',
				'nightly',
				'--env',
				'production',
				'--reveal',
				'--version',
				'3',
			]).trim(),
		);
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
			join(dir, 'n8n-output.log'),
		].filter((f) => existsSync(f) && statSync(f).isFile());
		// The browser suite's forms: raw, base64 (every alignment), base64url, URL, JSON, hex, UTF-16.
		const forms = (v: string) => encodingsOf(v).map((f) => f.bytes);
		const hits: string[] = [];
		const values = [PROD, STAGING, ROTATED, ...usedValues];
		for (const value of values) {
			for (const form of forms(value)) {
				for (const place of places)
					if (readFileSync(place).includes(form)) hits.push(`${place}: ${value}`);
			}
		}
		const revealHits = places.filter((p) => readFileSync(p).includes(Buffer.from(REVEALED)));
		console.log(
			`leak audit: ${values.length} values in ${values.reduce((n, v) => n + forms(v).length, 0)} forms searched in ${places.length} places (${places.map((p) => p.slice(dir.length + 1)).join(', ')}); ${hits.length} hits; the revealed value found in ${revealHits.length} (the execution that revealed it)`,
		);
		// n8n's database, both exports and n8n's own output are always searched; the database's -wal and
		// -shm files only exist between SQLite checkpoints, and are searched whenever they do.
		expect(places).toEqual(
			expect.arrayContaining(
				['.n8n/database.sqlite', 'workflows.json', 'credentials.json', 'n8n-output.log'].map((f) =>
					join(dir, f),
				),
			),
		);
		expect(hits).toEqual([]);
	});
});
