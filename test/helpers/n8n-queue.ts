/**
 * n8n 2.41 in queue mode for the end-to-end suite: its own PostgreSQL database, a main process and
 * workers (each its own user folder, ports and log file), and n8n's CLI beside them, with the
 * environment n8n reads for each role (found in n8n's @n8n/config: ScalingModeConfig,
 * TaskRunnersConfig, DatabaseConfig).
 */
import { execFile, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

import { Client } from 'pg';

// eslint-disable-next-line @typescript-eslint/no-require-imports
export const runtime = require('../../scripts/n8n-runtime.js') as {
	ensureN8n(): string;
	installPackage(userFolder: string): string;
};

export const ROOT = resolve(__dirname, '..', '..');

/** The PostgreSQL server the suites use; n8n's database and the secrets schema are made in it. */
export const DATABASE_URL =
	process.env.N8N_SECRETS_TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';

/** The parts queue mode needs that this machine lacks, each with how to get it. */
export function missingParts(): string[] {
	const missing: string[] = [];
	if (spawnSync('redis-server', ['--version']).status !== 0)
		missing.push('redis-server (apt-get install -y redis-server)');
	if (spawnSync('pg_dump', ['--version']).status !== 0)
		missing.push('pg_dump (apt-get install -y postgresql-client)');
	const probe = spawnSync(
		process.execPath,
		[
			'-e',
			`const { Client } = require('pg');
			 const c = new Client({ connectionString: process.argv[1], connectionTimeoutMillis: 3000 });
			 c.connect().then(() => c.query('select 1')).then(() => c.end()).then(() => process.exit(0), () => process.exit(1));`,
			DATABASE_URL,
		],
		{ cwd: ROOT, timeout: 10_000 },
	);
	if (probe.status !== 0)
		missing.push(
			`PostgreSQL at ${DATABASE_URL} (pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start)`,
		);
	return missing;
}

/** The URL of another database on the same server. */
export function databaseUrl(name: string): string {
	const url = new URL(DATABASE_URL);
	url.pathname = `/${name}`;
	return url.toString();
}

/** A statement on the suites' database server, outside any n8n database. */
export async function adminSql(sql: string, params: unknown[] = [], url = DATABASE_URL) {
	const client = new Client({ connectionString: url });
	await client.connect();
	try {
		return (await client.query(sql, params)).rows as Record<string, unknown>[];
	} finally {
		await client.end();
	}
}

/** A fresh database for n8n (n8n_e2e_<random>), created empty: n8n migrates it at its first start. */
export async function createDatabase(): Promise<string> {
	const name = `n8n_e2e_${randomBytes(6).toString('hex')}`;
	await adminSql(`CREATE DATABASE ${name}`);
	return name;
}

export async function dropDatabase(name: string): Promise<void> {
	await adminSql(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
}

/** The calling environment without anything n8n would read as its own configuration. */
export function cleanEnv(): NodeJS.ProcessEnv {
	return Object.fromEntries(
		Object.entries(process.env).filter(
			([k]) => !/^(N8N_|DB_|QUEUE_|EXECUTIONS_|WEBHOOK_URL$|GENERIC_)/.test(k),
		),
	);
}

/**
 * What every n8n process of the cluster shares (main, workers and the CLI): n8n's database on
 * PostgreSQL, queue mode on the private Redis, and one encryption key for n8n's credentials.
 */
export function clusterEnv(database: string, redisPort: number): NodeJS.ProcessEnv {
	const url = new URL(DATABASE_URL);
	return {
		...cleanEnv(),
		// jest sets NODE_ENV=test, which n8n takes as its own test mode.
		NODE_ENV: 'production',
		N8N_DIAGNOSTICS_ENABLED: 'false',
		N8N_VERSION_NOTIFICATIONS_ENABLED: 'false',
		N8N_ENCRYPTION_KEY: randomBytes(24).toString('base64'),
		DB_TYPE: 'postgresdb',
		DB_POSTGRESDB_HOST: url.hostname,
		DB_POSTGRESDB_PORT: url.port || '5432',
		DB_POSTGRESDB_DATABASE: database,
		DB_POSTGRESDB_USER: decodeURIComponent(url.username || 'postgres'),
		DB_POSTGRESDB_PASSWORD: decodeURIComponent(url.password),
		EXECUTIONS_MODE: 'queue',
		QUEUE_BULL_REDIS_HOST: '127.0.0.1',
		QUEUE_BULL_REDIS_PORT: String(redisPort),
		// Workers finish their running executions on SIGTERM for at most this long (default 30 s).
		N8N_GRACEFUL_SHUTDOWN_TIMEOUT: '10',
		// Main applies published workflows from its outbox every second (default 15 s).
		N8N_WORKFLOW_PUBLICATION_OUTBOX_POLL_INTERVAL_MS: '1000',
	};
}

/** The environment of the main process: its web port (webhooks) and its task broker's port. */
export function mainEnv(
	base: NodeJS.ProcessEnv,
	userFolder: string,
	ports: { web: number; broker: number },
): NodeJS.ProcessEnv {
	return {
		...base,
		N8N_USER_FOLDER: userFolder,
		N8N_LISTEN_ADDRESS: '127.0.0.1',
		N8N_PORT: String(ports.web),
		N8N_RUNNERS_BROKER_PORT: String(ports.broker),
	};
}

/**
 * The environment of a worker: its task broker's port, and its worker server (health checks) on a
 * port of its own; without QUEUE_HEALTH_CHECK_ACTIVE a worker opens no server at all.
 */
export function workerEnv(
	base: NodeJS.ProcessEnv,
	userFolder: string,
	ports: { health: number; broker: number },
): NodeJS.ProcessEnv {
	return {
		...base,
		N8N_USER_FOLDER: userFolder,
		N8N_RUNNERS_BROKER_PORT: String(ports.broker),
		QUEUE_HEALTH_CHECK_ACTIVE: 'true',
		QUEUE_HEALTH_CHECK_PORT: String(ports.health),
		N8N_WORKER_SERVER_ADDRESS: '127.0.0.1',
	};
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The end of a log file, for failure messages. */
export function tailOf(file: string, lines = 30): string {
	if (!existsSync(file)) return '(no log)';
	return readFileSync(file, 'utf8')
		.split('\n')
		.filter((l) => !/^\s+at /.test(l))
		.slice(-lines)
		.join('\n');
}

/** One long-running n8n process (`start` or `worker`), its output appended to its own log file. */
export class N8nProcess {
	private constructor(
		readonly name: string,
		readonly log: string,
		private readonly child: ReturnType<typeof spawn>,
	) {}

	/**
	 * Starts `n8n start` (main) or `n8n worker` and waits until it is ready: main once it has
	 * activated the published workflows (it logs "Editor is now accessible") and answers
	 * /healthz/readiness; a worker once it logs "n8n worker is now ready" and its server answers.
	 */
	static async start(
		n8nBin: string,
		role: 'main' | 'worker',
		name: string,
		env: NodeJS.ProcessEnv,
		log: string,
	): Promise<N8nProcess> {
		const fd = openSync(log, 'a');
		const child = spawn(process.execPath, [n8nBin, role === 'main' ? 'start' : 'worker'], {
			env,
			stdio: ['ignore', fd, fd],
		});
		closeSync(fd);
		const proc = new N8nProcess(name, log, child);
		const marker = role === 'main' ? 'Editor is now accessible via' : 'n8n worker is now ready';
		const port = role === 'main' ? env.N8N_PORT : env.QUEUE_HEALTH_CHECK_PORT;
		const deadline = Date.now() + 120_000;
		for (;;) {
			if (child.exitCode !== null || child.signalCode !== null)
				throw new Error(`${name} exited (${child.exitCode ?? child.signalCode}):\n${tailOf(log)}`);
			if (existsSync(log) && readFileSync(log, 'utf8').includes(marker)) {
				const ready = await fetch(`http://127.0.0.1:${port}/healthz/readiness`).then(
					(r) => r.ok,
					() => false,
				);
				if (ready) return proc;
			}
			if (Date.now() > deadline) {
				await proc.stop();
				throw new Error(`${name} was not ready within 120 s:\n${tailOf(log)}`);
			}
			await sleep(100);
		}
	}

	get running(): boolean {
		return this.child.exitCode === null && this.child.signalCode === null;
	}

	/** SIGTERM (n8n shuts down in order), SIGKILL if it has not exited after 30 s. */
	async stop(): Promise<void> {
		if (!this.running) return;
		const exited = new Promise((r) => this.child.once('exit', r));
		this.child.kill('SIGTERM');
		const timer = setTimeout(() => this.child.kill('SIGKILL'), 30_000);
		await exited;
		clearTimeout(timer);
	}
}

/** One n8n CLI command (import, export); its output is appended to `log`. Throws if it fails. */
export async function n8nCommand(
	n8nBin: string,
	args: string[],
	env: NodeJS.ProcessEnv,
	log: string,
): Promise<string> {
	let stdout = '';
	let stderr = '';
	let failure: unknown;
	try {
		({ stdout, stderr } = await promisify(execFile)(process.execPath, [n8nBin, ...args], {
			env,
			maxBuffer: 256 * 1024 * 1024,
		}));
	} catch (err) {
		failure = err;
		({ stdout = '', stderr = '' } = err as { stdout?: string; stderr?: string });
	}
	appendFileSync(log, `$ n8n ${args.join(' ')}\n${stdout}\n${stderr}\n`);
	if (failure) throw new Error(`n8n ${args[0]} failed:\n${tailOf(log)}`);
	return stdout;
}

/** pg_dump in plain SQL of a database (or of one schema of it) to a file. */
export async function pgDump(database: string, file: string, schema?: string): Promise<void> {
	const args = [`--dbname=${databaseUrl(database)}`, '--no-owner', `--file=${file}`];
	if (schema) args.push(`--schema=${schema}`);
	await promisify(execFile)('pg_dump', args);
}

/** The database name in DATABASE_URL (the suites' own database, which holds the secrets schema). */
export const testDatabase = (): string => new URL(DATABASE_URL).pathname.slice(1);

/** Which worker n8n says started each execution ("Worker started execution 12 (job 12)"). */
export function executionsByWorker(logs: Record<string, string[]>): Map<string, string> {
	const byExecution = new Map<string, string>();
	for (const [worker, files] of Object.entries(logs)) {
		for (const file of files.filter(existsSync)) {
			for (const m of readFileSync(file, 'utf8').matchAll(/Worker started execution (\d+) /g))
				byExecution.set(m[1], worker);
		}
	}
	return byExecution;
}

/** The last execution of a workflow as n8n saved it (waits for it to finish): data is flatted JSON. */
export async function lastExecution(
	database: string,
	workflowId: string,
): Promise<{ id: string; status: string; data: string }> {
	const deadline = Date.now() + 15_000;
	for (;;) {
		const [row] = await adminSql(
			`SELECT e.id::text AS id, e.status, d.data FROM execution_entity e
			 JOIN execution_data d ON d."executionId" = e.id
			 WHERE e."workflowId" = $1 ORDER BY e.id DESC LIMIT 1`,
			[workflowId],
			databaseUrl(database),
		);
		if (row && !['new', 'running'].includes(String(row.status))) return row as never;
		if (Date.now() > deadline) throw new Error(`no finished execution of ${workflowId}`);
		await sleep(100);
	}
}

/** Main and its workers, each on its own user folder and ports; started again for each round. */
export class QueueCluster {
	private processes: N8nProcess[] = [];
	/** Every log file each worker wrote (one per round). */
	readonly workerLogs: Record<string, string[]>;

	constructor(
		private readonly n8nBin: string,
		private readonly base: NodeJS.ProcessEnv,
		private readonly folders: Record<string, string>,
		private readonly ports: Record<string, number>,
		private readonly logs: string,
		readonly workers: string[],
	) {
		this.workerLogs = Object.fromEntries(workers.map((w) => [w, []]));
	}

	get mainBase(): string {
		return `http://127.0.0.1:${this.ports.main}`;
	}

	/** Starts main and the workers with `extra` added to their environment; logs `<name>.<round>.log`. */
	async start(round: number, extra: NodeJS.ProcessEnv): Promise<void> {
		const env = { ...this.base, ...extra };
		const log = (name: string) => join(this.logs, `${name}.${round}.log`);
		for (const w of this.workers) this.workerLogs[w].push(log(w));
		const main = mainEnv(env, this.folders.main, {
			web: this.ports.main,
			broker: this.ports.mainBroker,
		});
		const started = await Promise.allSettled([
			N8nProcess.start(this.n8nBin, 'main', 'main', main, log('main')),
			...this.workers.map((w, i) =>
				N8nProcess.start(
					this.n8nBin,
					'worker',
					w,
					workerEnv(env, this.folders[w], {
						health: this.ports[`health${i}`],
						broker: this.ports[`broker${i}`],
					}),
					log(w),
				),
			),
		]);
		this.processes = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
		const failed = started.find((r) => r.status === 'rejected');
		if (failed) {
			await this.stop();
			throw failed.reason;
		}
	}

	async stop(): Promise<void> {
		await Promise.all(this.processes.map((p) => p.stop()));
		this.processes = [];
	}

	/**
	 * Waits until main serves a production webhook at every path: asked with a CORS preflight
	 * (OPTIONS with an Origin), which main answers 204 for a registered webhook and 404 otherwise,
	 * without running anything.
	 */
	async waitForWebhooks(paths: string[]): Promise<void> {
		const deadline = Date.now() + 60_000;
		const registered = (path: string) =>
			fetch(`${this.mainBase}/webhook/${path}`, {
				method: 'OPTIONS',
				headers: { origin: 'http://127.0.0.1', 'access-control-request-method': 'GET' },
			}).then(
				(r) => r.status === 204,
				() => false,
			);
		if (await registered(`not-a-webhook-${randomBytes(4).toString('hex')}`))
			throw new Error('main answers the preflight for any path: it cannot tell registered ones');
		for (;;) {
			const answers = await Promise.all(paths.map(registered));
			const missing = paths.filter((_, i) => !answers[i]);
			if (missing.length === 0) return;
			if (Date.now() > deadline)
				throw new Error(`main serves no webhook at ${missing.join(', ')} after 60 s`);
			await sleep(200);
		}
	}

	private known = new Map<string, string>();

	/** The worker that ran an execution, as its own log says (the logs are read again on a miss). */
	workerOf(execution: string): string | undefined {
		if (!this.known.has(execution)) this.known = executionsByWorker(this.workerLogs);
		return this.known.get(execution);
	}
}
