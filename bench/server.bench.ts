/**
 * `npm run bench`, second part: resolving through `n8n-secrets serve` over loopback (the server in
 * its own process, the real undici client), with 1 and 32 concurrent clients, beside a bare HTTP
 * round trip on the same framework and connection pool, each pair measured in the same run. Then a
 * page of 50 from `GET /secrets` through the server over a PostgreSQL store, alone and under 200
 * concurrent clients (p50/p95). Resolving on PostgreSQL itself is postgres.bench.ts.
 *
 * Environment: BENCH_SERVER_SECRETS (default 1000), BENCH_SERVER_ITERATIONS (default 20000),
 * BENCH_LIST_CLIENTS (default 200),
 * BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test; the PostgreSQL part is skipped,
 * and says so, when it cannot connect).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

import { Client } from 'pg';
import { Pool } from 'undici';

import { RemoteSecrets } from '../src/client/remote-secrets';
import { rawKeyProvider } from '../src/crypto/master-key';
import { buildServer } from '../src/server/app';
import { openPostgresDriver } from '../src/service/config';
import { SecretsService } from '../src/service/secrets-service';
import { PostgresDriver } from '../src/store/postgres/postgres-driver';
import type { SqlDriver } from '../src/store/sql';
import { SqliteDriver } from '../src/store/sqlite/sqlite-driver';
import { formatP50P99, measure, type Summary } from './summary';

const ENVIRONMENTS = ['development', 'staging', 'production'];
const DATABASE_URL = process.env.BENCH_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';

const name = (i: number, count: number) =>
	`secret-${String((i * 104729) % count).padStart(5, '0')}`;

async function seed(driver: SqlDriver, keyB64: string, count: number) {
	const { service, token } = await SecretsService.init(driver, rawKeyProvider(keyB64, 'bench key'));
	const admin = { token };
	for (let i = 0; i < count; i++) {
		const n = `secret-${String(i).padStart(5, '0')}`;
		await service.createSecret(admin, { name: n, type: 'API_KEY' });
		for (const environment of ENVIRONMENTS)
			await service.setValue(admin, {
				name: n,
				environment,
				value: `${environment}-${randomBytes(16).toString('hex')}`,
			});
	}
	const user = await service.createToken(admin, {
		subject: 'bench-workflow',
		role: 'runtime',
		ttl: '1d',
	});
	return { service, userToken: user.token, adminToken: token };
}

const CONTEXT = {
	workflowId: 'wf-1',
	workflowName: 'bench',
	executionId: '1',
	node: 'Secret HTTP Request',
	mode: 'manual',
};

/** The server process: the real API over the seeded store, plus one bare route for the reference. */
async function serve(): Promise<void> {
	// The PostgreSQL store as `n8n-secrets serve` opens it (default pool of 10), or the SQLite file.
	const driver = process.env.BENCH_PG_SCHEMA
		? openPostgresDriver({
				N8N_SECRETS_DATABASE_URL: DATABASE_URL,
				N8N_SECRETS_DATABASE_SCHEMA: process.env.BENCH_PG_SCHEMA,
			})
		: new SqliteDriver(process.env.BENCH_DB!);
	const service = await SecretsService.open(
		driver,
		rawKeyProvider(process.env.BENCH_KEY!, 'bench key'),
	);
	const app = await buildServer({ service, log: () => undefined });
	// The same framework, parser, hooks and a similar JSON answer, without the store.
	const answer = {
		name: 'secret-00001',
		environment: 'production',
		servedFrom: 'production',
		version: 1,
		value: `production-${'0'.repeat(32)}`,
		type: 'API_KEY',
		expiresAt: null,
		allowedHosts: [],
	};
	app.post('/bench/bare', async () => answer);
	await app.listen({ host: '127.0.0.1', port: 0 });
	const address = app.server.address();
	process.stdout.write(`${typeof address === 'object' && address ? address.port : 0}\n`);
	process.on(
		'SIGTERM',
		() =>
			void app
				.close()
				.then(() => service.close())
				.then(() => process.exit(0)),
	);
}

async function startServerProcess(
	db: string,
	keyB64: string,
	env: Record<string, string> = {},
): Promise<{ proc: ChildProcess; url: string }> {
	// On a machine with two or more CPUs, the server gets one of its own (as on a real host) and
	// this process, the client, another: otherwise the scheduler's placement of the two processes
	// decides the latency more than the code does. Without taskset they float.
	const pinned = cpus().length >= 2 && spawnSync('taskset', ['-V']).status === 0;
	if (pinned) spawnSync('taskset', ['-cp', '0', String(process.pid)]);
	const [command, args] = pinned
		? ['taskset', ['-c', '1', process.execPath, __filename, '--serve']]
		: [process.execPath, [__filename, '--serve']];
	const proc = spawn(command, args, {
		env: { ...process.env, BENCH_DB: db, BENCH_KEY: keyB64, ...env },
		stdio: ['ignore', 'pipe', 'inherit'],
	});
	const port = await new Promise<string>((resolve, reject) => {
		createInterface({ input: proc.stdout! }).once('line', resolve);
		proc.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
	});
	return { proc, url: `http://127.0.0.1:${port}` };
}

async function serverPart(count: number, iterations: number) {
	const dir = mkdtempSync(join(tmpdir(), 'n8n-secrets-bench-server-'));
	const db = join(dir, 'secrets.db');
	const keyB64 = randomBytes(32).toString('base64');
	try {
		process.stderr.write(`Seeding ${count} secrets x 3 environments for the server\n`);
		const { service, userToken } = await seed(new SqliteDriver(db), keyB64, count);
		await service.close();
		const { proc, url } = await startServerProcess(db, keyB64);
		const result: Record<string, Summary> = {};
		try {
			for (const clients of [1, 32]) {
				const remote = new RemoteSecrets(url, { connections: clients });
				const bare = new Pool(url, { connections: clients });
				const caller = { token: userToken, context: CONTEXT };
				const bareCall = async () => {
					const r = await bare.request({
						method: 'POST',
						path: '/bench/bare',
						headers: { 'content-type': 'application/json', authorization: `Bearer ${userToken}` },
						body: '{}',
					});
					await r.body.json();
				};
				const resolve = (i: number) =>
					remote.use(caller, { name: name(i, count), environment: ENVIRONMENTS[i % 3] });
				// Warm-up: every value once, connections open, JIT settled.
				await measure(Math.min(count * 3, 3000), clients, resolve);
				await measure(2000, clients, bareCall);
				result[`bareRoundTrip${clients}`] = await measure(iterations, clients, bareCall);
				result[`serverResolve${clients}`] = await measure(iterations, clients, resolve);
				result[`bareRoundTripAgain${clients}`] = await measure(iterations, clients, bareCall);
				await remote.close();
				await bare.close();
			}
		} finally {
			proc.kill('SIGTERM');
			await new Promise((r) => proc.once('exit', r));
		}
		return result;
	} finally {
		rmSync(dir, { recursive: true, force: true });
	}
}

/**
 * `GET /secrets?limit=50` through the server process over the PostgreSQL store, each call from a
 * random cursor: alone (one client), then from `clients` concurrent clients.
 */
async function postgresListPart(schema: string, keyB64: string, adminToken: string, count: number) {
	const clients = Number(process.env.BENCH_LIST_CLIENTS ?? 200);
	const { proc, url } = await startServerProcess('', keyB64, { BENCH_PG_SCHEMA: schema });
	const pool = new Pool(url, { connections: clients });
	try {
		const list = async (i: number) => {
			const after = (i * 7919) % count;
			const r = await pool.request({
				method: 'GET',
				path: `/api/v1/secrets?limit=50&cursor=secret-${String(after).padStart(5, '0')}`,
				headers: { authorization: `Bearer ${adminToken}` },
			});
			const body = (await r.body.json()) as { items?: unknown[] };
			if (r.statusCode !== 200 || !Array.isArray(body.items))
				throw new Error(`GET /secrets answered ${r.statusCode}: ${JSON.stringify(body)}`);
		};
		await measure(200, 1, list);
		const alone = await measure(2000, 1, list);
		await measure(clients * 5, clients, list);
		const concurrent = await measure(clients * 50, clients, list);
		return { clients, alone, concurrent };
	} finally {
		await pool.close();
		proc.kill('SIGTERM');
		await new Promise((r) => proc.once('exit', r));
	}
}

async function postgresPart(count: number) {
	const probe = new Client({ connectionString: DATABASE_URL, connectionTimeoutMillis: 3000 });
	try {
		await probe.connect();
	} catch (err) {
		return { skipped: `PostgreSQL not reachable at ${DATABASE_URL} (${(err as Error).message})` };
	}
	const schema = `bench_${randomBytes(4).toString('hex')}`;
	await probe.query(`CREATE SCHEMA ${schema}`);
	try {
		process.stderr.write(`Seeding ${count} secrets x 3 environments into PostgreSQL (${schema})\n`);
		const keyB64 = randomBytes(32).toString('base64');
		const seeded = await seed(
			new PostgresDriver(DATABASE_URL, { schema, poolSize: 32 }),
			keyB64,
			count,
		);
		await seeded.service.close();
		process.stderr.write('Listing pages of 50 through the server over PostgreSQL\n');
		return { list: await postgresListPart(schema, keyB64, seeded.adminToken, count) };
	} finally {
		await probe.query(`DROP SCHEMA ${schema} CASCADE`);
		await probe.end();
	}
}

const fmt = formatP50P99;

async function main(): Promise<void> {
	const count = Number(process.env.BENCH_SERVER_SECRETS ?? 1000);
	const iterations = Number(process.env.BENCH_SERVER_ITERATIONS ?? 20_000);
	const server = await serverPart(count, iterations);
	const pg = await postgresPart(count);
	const bare1 = Math.min(server.bareRoundTrip1.p50, server.bareRoundTripAgain1.p50);
	const ratio = server.serverResolve1.p50 / bare1;
	const tail32 = server.serverResolve32.p99 / server.serverResolve32.p50;
	const goals = {
		serverResolveP50Under150us: server.serverResolve1.p50 < 150,
		within2xOfBareRoundTrip: ratio <= 2,
		p99Within5xP50At32Clients: tail32 <= 5,
	};
	console.log(
		`\nn8n-secrets server benchmark (Node ${process.version}, ${count} secrets x 3 environments, ${iterations} calls per line)`,
	);
	for (const clients of [1, 32]) {
		console.log(
			`  ${clients} client${clients > 1 ? 's' : ' '}  bare HTTP round trip  ${fmt(server[`bareRoundTrip${clients}`])}`,
		);
		console.log(`             server resolve        ${fmt(server[`serverResolve${clients}`])}`);
		console.log(
			`             bare round trip again ${fmt(server[`bareRoundTripAgain${clients}`])}`,
		);
	}
	console.log(`  server resolve p50 / bare round trip p50 (1 client) = ${ratio.toFixed(2)}x`);
	console.log(`  server resolve p99 / p50 (32 clients) = ${tail32.toFixed(1)}x`);
	if ('skipped' in pg) console.log(`  PostgreSQL: SKIPPED: ${pg.skipped}`);
	else {
		const { list } = pg;
		const ms = (us: number) => `${(us / 1000).toFixed(2)} ms`;
		for (const [label, s] of [
			['1 client ', list.alone],
			[`${list.clients} clients`, list.concurrent],
		] as const)
			console.log(
				`  PostgreSQL GET /secrets?limit=50 through the server, ${label}: p50 ${ms(s.p50)}   p95 ${ms(s.p95)}   p99 ${ms(s.p99)}   ${Math.round(s.opsPerSec).toLocaleString('en-US')} pages/s`,
			);
	}
	console.log(`  goals: ${JSON.stringify(goals)}`);
	mkdirSync('.bench', { recursive: true });
	writeFileSync(
		join('.bench', 'server.json'),
		JSON.stringify(
			{ node: process.version, secrets: count, iterations, server, postgres: pg, ratio, goals },
			null,
			2,
		),
	);
}

if (process.argv.includes('--serve')) {
	void serve();
} else {
	main().catch((err) => {
		console.error(err);
		process.exit(1);
	});
}
