/**
 * n8n 2.41 in queue mode, all real and started here: a private Redis, n8n's own database on
 * PostgreSQL, `n8n start` as main and two `n8n worker`s (each with the packed package installed as a
 * community package), the secrets store on PostgreSQL, and `n8n-secrets serve` for remote mode.
 * Workflows are published and called through their production webhooks on main, so every execution
 * runs on a worker; which one, n8n's worker logs say ("Worker started execution N"), matched with
 * the execution id each request carries.
 */
import { randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import {
	DATABASE_URL,
	QueueCluster,
	adminSql,
	clusterEnv,
	createDatabase,
	dropDatabase,
	lastExecution,
	mainEnv,
	missingParts,
	n8nCommand,
	runtime,
} from '../helpers/n8n-queue';
import { freePorts } from '../helpers/ports';
import { auditQueueMode } from '../helpers/queue-audit';
import { WORKFLOW_IDS, queueFixtures, seedStore } from '../helpers/queue-fixtures';
import { measureSwitch, quantile, roundTrips } from '../helpers/queue-load';
import {
	type Seen,
	type Upstream,
	secretsCli,
	startServe,
	startUpstream,
	trigger,
} from '../helpers/queue-workflows';
import { type PrivateRedis, startRedis } from '../helpers/redis-server';

const MISSING = missingParts();
if (MISSING.length > 0) {
	const why = `queue-mode.e2e.ts: missing ${MISSING.join('; ')}.`;
	if (process.env.CI === 'true') throw new Error(`${why} In CI the queue-mode suite must run.`);
	console.warn(
		`\n${'!'.repeat(100)}\n${why} The queue-mode suite is SKIPPED.\n${'!'.repeat(100)}\n`,
	);
}
const describeQueue = MISSING.length > 0 ? describe.skip : describe;

const hex = () => randomBytes(8).toString('hex');
const VALUES = {
	production: `sk_live_q_${hex()}`,
	staging: `sk_test_q_${hex()}`,
	rotatingOld: `rk_old_q_${hex()}`,
	rotatingNew: `rk_new_q_${hex()}`,
	remote: `rm_remote_q_${hex()}`,
	revealMe: `reveal_q_${hex()}`,
};
const WORKERS = ['worker-1', 'worker-2'];

let n8nBin: string;
let dir: string;
let logs: string;
let redis: PrivateRedis | undefined;
let database: string | undefined;
let schema: string | undefined;
let upstream: Upstream | undefined;
let cluster: QueueCluster | undefined;
/** The store's side (the CLI, serve): the PostgreSQL store and the master key. */
let storeEnv: NodeJS.ProcessEnv;
let admin: string | undefined;
/** What every n8n process gets: n8n's database and queue, nothing of the secrets store. */
let base: NodeJS.ProcessEnv;
let folders: Record<string, string>;
let ports: Record<string, number>;
let serveStop: (() => Promise<void>) | undefined;
let seq = 0;
const started = Date.now();

const cli = (args: string[], input?: string) =>
	secretsCli(
		args,
		admin ? { ...storeEnv, N8N_SECRETS_TOKEN: admin } : storeEnv,
		join(logs, 'n8n-secrets.log'),
		input,
	);
/** n8n's CLI on main's host (main's user folder), with ports of its own. */
const n8n = (args: string[]) =>
	n8nCommand(
		n8nBin,
		args,
		mainEnv(base, folders.main, { web: ports.cli, broker: ports.cliBroker }),
		join(logs, 'n8n-cli.log'),
	);
const workerOf = (execution: string) => cluster!.workerOf(execution);
const call = (path: string) => trigger(cluster!.mainBase, path, ++seq);
const last = (path: keyof typeof WORKFLOW_IDS) => lastExecution(database!, WORKFLOW_IDS[path]);

/** Calls a webhook, two at a time, until both workers have run it (at most 40 calls). */
async function untilBothWorkersServed(path: string): Promise<{ seen: Seen[]; bodies: string[] }> {
	const bodies: string[] = [];
	const mine = () => upstream!.seen.filter((s) => s.path.endsWith(`/${path}`));
	for (let i = 0; i < 20; i++) {
		const calls = await Promise.all([call(path), call(path)]);
		bodies.push(...calls.map((c) => `${c.status} ${c.body}`));
		if (new Set(mine().map((s) => workerOf(s.execution))).size === WORKERS.length) break;
	}
	return { seen: mine(), bodies };
}

beforeAll(async () => {
	n8nBin = runtime.ensureN8n();
	dir = mkdtempSync(join(tmpdir(), 'n8n-secrets-queue-'));
	logs = join(dir, 'logs');
	mkdirSync(logs);
	folders = Object.fromEntries(['main', ...WORKERS].map((n) => [n, join(dir, n)]));
	// Each process is its own n8n host, with the package in its community-nodes folder: installed
	// once, and that folder copied to the workers' hosts (as an image would carry it), where
	// installPackage checks it is the same tarball.
	runtime.installPackage(folders.main);
	for (const w of WORKERS) {
		cpSync(join(folders.main, '.n8n', 'nodes'), join(folders[w], '.n8n', 'nodes'), {
			recursive: true,
			verbatimSymlinks: true,
		});
		runtime.installPackage(folders[w]);
	}
	const names = ['main', 'mainBroker', 'broker0', 'health0', 'broker1', 'health1', 'cli'];
	const free = await freePorts(names.length + 2);
	ports = Object.fromEntries([...names, 'cliBroker', 'serve'].map((n, i) => [n, free[i]]));
	redis = await startRedis(dir, join(logs, 'redis.log'), join(logs, 'redis-monitor.log'));
	database = await createDatabase();
	base = clusterEnv(database, redis.port);
	schema = `q_e2e_${hex()}`;
	storeEnv = {
		...base,
		N8N_SECRETS_DATABASE_URL: DATABASE_URL,
		N8N_SECRETS_DATABASE_SCHEMA: schema,
		N8N_SECRETS_MASTER_KEY: randomBytes(32).toString('base64'),
	};
	admin = (await cli(['init'])).stdout.trim();
	const tokens = await seedStore(cli, VALUES);
	upstream = await startUpstream();
	const fixtures = queueFixtures(upstream.base, `http://127.0.0.1:${ports.serve}`, tokens);
	writeFileSync(join(dir, 'credentials-in.json'), JSON.stringify(fixtures.credentials));
	writeFileSync(join(dir, 'workflows-in.json'), JSON.stringify(fixtures.workflows));
	cluster = new QueueCluster(n8nBin, base, folders, ports, logs, WORKERS);
	await cluster.start(1, storeEnv);
	// Imported into the running cluster and published as they are (main registers their webhooks).
	await n8n(['import:credentials', `--input=${join(dir, 'credentials-in.json')}`]);
	await n8n([
		'import:workflow',
		`--input=${join(dir, 'workflows-in.json')}`,
		'--activeState=fromJson',
	]);
	await cluster.waitForWebhooks(Object.keys(WORKFLOW_IDS));
	console.log(
		`queue mode up (Redis, n8n's database, the store, main and 2 workers) in ${Math.round((Date.now() - started) / 1000)} s`,
	);
}, 15 * 60_000);

afterAll(async () => {
	await serveStop?.();
	await cluster?.stop();
	await redis?.stop();
	await upstream?.close();
	if (database) await dropDatabase(database);
	if (schema) await adminSql(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
	// N8N_SECRETS_E2E_KEEP=1 keeps the folder (every log, dump and export) for a look afterwards.
	if (dir && process.env.N8N_SECRETS_E2E_KEEP !== '1')
		rmSync(dir, { recursive: true, force: true });
	else if (dir) console.log(`kept ${dir}`);
	console.log(`queue-mode suite: ${Math.round((Date.now() - started) / 1000)} s`);
}, 120_000);

/** The upstream requests among `seen` whose credential is not `expected`, by execution (no value). */
const notSending = (seen: Seen[], expected: string, of: (s: Seen) => string | undefined) =>
	seen
		.filter((s) => of(s) !== expected)
		.map((s) => `execution ${s.execution} on ${workerOf(s.execution)}`);
const bearer = (s: Seen) => s.authorization?.replace(/^Bearer /, '');
const servedBy = (seen: Seen[]) => [...new Set(seen.map((s) => workerOf(s.execution)))].sort();

describeQueue('n8n in queue mode: main, two workers, Redis and PostgreSQL', () => {
	it("sends each environment's value to the upstream from both workers, and never outputs it", async () => {
		for (const [environment, path] of [
			['production', 'q-production'],
			['staging', 'q-staging'],
		] as const) {
			const { seen, bodies } = await untilBothWorkersServed(path);
			expect(notSending(seen, VALUES[environment], bearer)).toEqual([]);
			// Every execution ran on a worker (main runs none in queue mode), and both workers served.
			expect(servedBy(seen)).toEqual(WORKERS);
			for (const body of bodies) {
				expect(body.startsWith('200 ')).toBe(true);
				expect(body).toContain('[redacted:stripe-key]');
				expect(body.includes(VALUES[environment])).toBe(false);
			}
		}
	});

	it('measures what resolving a secret adds to an execution on the workers', async () => {
		const figures: string[] = [];
		for (const [label, path] of [
			["n8n's HTTP Request without a secret", 'q-baseline'],
			['Secret HTTP Request (embedded, PostgreSQL store)', 'q-production'],
		] as const) {
			const load = { mainBase: cluster!.mainBase, path, nextSeq: () => ++seq };
			await roundTrips(load, 8);
			const r = await roundTrips(load, 80);
			expect(r.failed).toBe(0);
			figures.push(
				`${label}: p50 ${quantile(r.ms, 0.5)} ms, p99 ${quantile(r.ms, 0.99)} ms, ${r.perSecond}/s`,
			);
		}
		console.log(
			`execution round trip (webhook call to answer, 4 in flight, 80 calls): ${figures.join('; ')}`,
		);
	});

	it('uses a rotation, then a rollback, from the next execution on every worker (lag measured)', async () => {
		const load = {
			mainBase: cluster!.mainBase,
			path: 'q-rotating',
			seen: upstream!.seen,
			workerOf,
			workers: WORKERS,
			nextSeq: () => ++seq,
		};
		const args = ['rotating-key', '--env', 'production'];
		const rotation = await measureSwitch(load, VALUES.rotatingNew, bearer, async () => {
			return (await cli(['secret', 'rotate', ...args, '--value-stdin'], VALUES.rotatingNew)).ackAt;
		});
		const rollback = await measureSwitch(load, VALUES.rotatingOld, bearer, async () => {
			return (await cli(['secret', 'rollback', ...args])).ackAt;
		});
		for (const [what, r] of [
			['rotation', rotation],
			['rollback', rollback],
		] as const) {
			const after = WORKERS.map((w) => `${r.after[w].length} on ${w}`).join(', ');
			const p50 = quantile(
				r.triggered.map((t) => t.ms).sort((a, b) => a - b),
				0.5,
			);
			console.log(
				`${what} lag: ${WORKERS.map((w) => `${w} ${r.lagMs[w]} ms`).join(', ')} ` +
					`(from the CLI's acknowledgment to the worker's first request with the new value; ` +
					`${r.triggered.length} executions, 4 in flight, webhook round trip p50 ${p50} ms; ` +
					`started after the acknowledgment: ${after}, ${r.stale.length} of them with the old value)`,
			);
			// The store's promise: a resolution started after the change was acknowledged gets the new
			// value, on every worker.
			expect(r.stale.map((s) => `execution ${s.execution} on ${workerOf(s.execution)}`)).toEqual(
				[],
			);
			for (const w of WORKERS) expect(r.after[w].length).toBeGreaterThanOrEqual(8);
			expect(r.triggered.filter((t) => t.status !== 200)).toEqual([]);
		}
	});

	it('refuses a reveal to a use token on the workers: a coded error in the execution, no value', async () => {
		const refused = await call('q-reveal-user');
		expect(refused.status).toBe(500);
		const run = await last('q-reveal-user');
		expect(run.status).toBe('error');
		expect(run.data).toContain('ACCESS_DENIED');
		expect(WORKERS).toContain(workerOf(run.id));
		for (const text of [refused.body, run.data]) expect(text.includes(VALUES.revealMe)).toBe(false);
	});

	it('works in remote mode: main and workers without the master key or the database, serve on the PostgreSQL store', async () => {
		await cluster!.stop();
		serveStop = await startServe(
			{ ...storeEnv, N8N_SECRETS_RELAY_ALLOW: '127.0.0.1/32' },
			ports.serve,
			join(logs, 'serve.log'),
		);
		// The n8n side of the cluster is given nothing of the store: no key, no database.
		expect(Object.keys(base).filter((k) => k.startsWith('N8N_SECRETS_'))).toEqual([]);
		await cluster!.start(2, {});
		await cluster!.waitForWebhooks(Object.keys(WORKFLOW_IDS));

		const relayed = await untilBothWorkersServed('q-relay');
		expect(notSending(relayed.seen, VALUES.remote, bearer)).toEqual([]);
		expect(servedBy(relayed.seen)).toEqual(WORKERS);
		for (const body of relayed.bodies) {
			expect(body.startsWith('200 ')).toBe(true);
			expect(body.includes(VALUES.remote)).toBe(false);
		}
		// A runtime token: the value crosses to the worker, which sends it with n8n's own HTTP Request.
		const resolved = await untilBothWorkersServed('q-reference');
		expect(notSending(resolved.seen, VALUES.remote, (s) => s.apiKey)).toEqual([]);
		expect(servedBy(resolved.seen)).toEqual(WORKERS);
		expect(resolved.bodies.filter((b) => !b.startsWith('200 '))).toEqual([]);

		// An embedded credential cannot work here: the workers hold no key.
		expect((await call('q-production')).status).toBe(500);
		const embedded = await last('q-production');
		expect(embedded.status).toBe('error');
		expect(embedded.data).toContain('MASTER_KEY_MISSING');
		// A runtime token receives values for requests, yet cannot reveal one.
		const reveal = await call('q-reveal-runtime');
		expect(reveal.status).toBe(500);
		const refused = await last('q-reveal-runtime');
		expect(refused.status).toBe('error');
		expect(refused.data).toContain('ACCESS_DENIED');
		for (const text of [reveal.body, refused.data])
			expect(text.includes(VALUES.revealMe)).toBe(false);

		const uses = JSON.parse((await cli(['audit', 'list', '--action', 'use', '--json'])).stdout) as {
			actor: string;
		}[];
		const actors = new Set(uses.map((e) => e.actor));
		expect([...actors].filter((a) => a.startsWith('n8n-queue-')).sort()).toEqual([
			'n8n-queue-relay',
			'n8n-queue-runtime',
		]);
	});

	it("leaves no value in n8n's database, Redis, any process output, the exports or the user folders", async () => {
		await serveStop?.();
		serveStop = undefined;
		await cluster!.stop();
		const audit = await auditQueueMode({
			dir,
			logs,
			folders,
			database: database!,
			schema: schema!,
			redis: redis!,
			n8n,
			values: new Map(Object.entries(VALUES)),
		});
		console.log(audit.summary);
		// The places hold what they should: executions, queue traffic, worker output, the credentials.
		const text = (where: string) =>
			audit.places
				.filter((p) => p.where.startsWith(where))
				.map((p) => p.data.toString('latin1'))
				.join('\n');
		expect(text('n8n database')).toContain('execution_data');
		expect(text('log:redis-monitor.log')).toMatch(/"bull:jobs:/);
		expect(text('log:worker-1.')).toContain('Worker started execution');
		expect(text('log:worker-2.')).toContain('Worker started execution');
		expect(text('export:credentials')).toContain('secretReferenceAuth');
		expect(audit.hits).toEqual([]);
	});
});
