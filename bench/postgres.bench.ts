/**
 * `npm run bench`, PostgreSQL part: resolving (`use`, audit record included) on the PostgreSQL store
 * beside a bare `select 1` on a pool of the same size, with 1 and 32 concurrent clients; the cost
 * over 1,000 secrets against the same over BENCH_PG_SPREAD_SECRETS (default 100,000); and how soon
 * every process sees a rotation, measured across processes resolving under load.
 *
 * Environment: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test; skipped, and
 * says so, when it cannot connect), BENCH_PG_SECRETS (default 1000), BENCH_PG_ITERATIONS (default
 * 20000), BENCH_PG_SPREAD_SECRETS (default 100000), BENCH_PG_PROCESSES (default 3),
 * BENCH_PG_ROTATIONS (default 30).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

import { Client, Pool as PgPool } from 'pg';

import { rawKeyProvider } from '../src/crypto/master-key';
import { SecretsService } from '../src/service/secrets-service';
import { PostgresDriver } from '../src/store/postgres/postgres-driver';
import { formatP50P99, measure, type Summary } from './summary';

const DATABASE_URL = process.env.BENCH_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
const POOL = 32;
const CONTEXT = {
	workflowId: 'wf-1',
	workflowName: 'bench',
	executionId: '1',
	node: 'Secret HTTP Request',
	mode: 'manual',
};
const secretName = (i: number) => `secret-${String(i).padStart(6, '0')}`;
/** Milliseconds since the epoch with sub-millisecond precision, comparable across processes. */
const epochMs = () => performance.timeOrigin + performance.now();

function open(
	schema: string,
	keyB64: string,
	url = DATABASE_URL,
	poolSize = POOL,
): Promise<SecretsService> {
	return SecretsService.open(
		new PostgresDriver(url, { schema, poolSize }),
		rawKeyProvider(keyB64, 'bench key'),
	);
}

/**
 * The spread's store is filled through a role of its own whose commits do not wait for the disk
 * (`ALTER ROLE … SET synchronous_commit = off`): every secret created is a durable write, about 150
 * a second on this machine, and 100,000 of them would take 11 minutes. The measured calls use the
 * benchmark's own URL.
 */
async function seedingUrl(probe: Client, schema: string): Promise<string> {
	await probe.query(`CREATE ROLE ${schema} LOGIN`);
	await probe.query(`ALTER ROLE ${schema} SET synchronous_commit = off`);
	await probe.query(`GRANT ALL ON SCHEMA ${schema} TO ${schema}`);
	await probe.query(`GRANT ALL ON ALL TABLES IN SCHEMA ${schema} TO ${schema}`);
	await probe.query(`GRANT ALL ON ALL SEQUENCES IN SCHEMA ${schema} TO ${schema}`);
	const url = new URL(DATABASE_URL);
	url.username = schema;
	url.password = '';
	return url.toString();
}

/** Secrets `from`..`to`-1 with one production value each, created by 8 concurrent callers. */
async function seed(service: SecretsService, admin: { token: string }, from: number, to: number) {
	let next = from;
	const t0 = Date.now();
	await Promise.all(
		Array.from({ length: 8 }, async () => {
			for (let i = next++; i < to; i = next++) {
				await service.createSecret(admin, {
					name: secretName(i),
					type: 'API_KEY',
					environment: 'production',
					value: `v-${randomBytes(16).toString('hex')}`,
				});
				if ((i + 1) % 10_000 === 0)
					process.stderr.write(`  seeded ${i + 1}/${to} secrets (${Date.now() - t0} ms)\n`);
			}
		}),
	);
}

/** 1 and 32 clients: resolve beside `select 1`, each pair in turn, after a warm-up of both. */
async function resolvePart(service: SecretsService, token: string, count: number, n: number) {
	const pool = new PgPool({ connectionString: DATABASE_URL, max: POOL });
	const caller = { token, context: CONTEXT };
	const result: Record<string, Summary> = {};
	try {
		for (const clients of [1, 32]) {
			const resolve = (i: number) =>
				service.use(caller, { name: secretName((i * 104729) % count), environment: 'production' });
			const select1 = () => pool.query({ name: 'select1', text: 'select 1' });
			await measure(Math.min(count, 3000), clients, resolve);
			await measure(2000, clients, select1);
			result[`select1_${clients}`] = await measure(n, clients, select1);
			result[`resolve${clients}`] = await measure(n, clients, resolve);
			result[`select1Again${clients}`] = await measure(n, clients, select1);
		}
	} finally {
		await pool.end();
	}
	return result;
}

/** Uniform resolves over the first 1,000 secrets, then over all `count`, each after one use of every secret. */
async function spreadPart(service: SecretsService, token: string, count: number, n: number) {
	const caller = { token, context: CONTEXT };
	const out: Record<string, Summary> = {};
	let x = 7;
	const random = () => ((x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) as number;
	for (const over of [1000, count]) {
		await measure(over, 8, (i) =>
			service.use(caller, { name: secretName(i), environment: 'production' }),
		);
		const picks = Array.from({ length: n }, () => Math.floor(random() * over));
		out[`over${over}`] = await measure(n, 8, (i) =>
			service.use(caller, { name: secretName(picks[i]), environment: 'production' }),
		);
	}
	return { secrets: count, over1000: out.over1000, overAll: out[`over${count}`] };
}

interface ChildReport {
	calls: number;
	/** Per rotation: ms from its acknowledgment to the end of the first call that returned it. */
	lags: number[];
	/** Calls that started after a rotation was acknowledged and still returned an older value. */
	stale: number;
}

/** A process resolving `rotating` (and other secrets, as load) from 8 loops until told to stop. */
async function child(): Promise<void> {
	// A connection per loop: with the parent's pool, PostgreSQL's default 100 connections suffice.
	const service = await open(process.env.BENCH_SCHEMA!, process.env.BENCH_KEY!, DATABASE_URL, 8);
	const caller = { token: process.env.BENCH_TOKEN!, context: CONTEXT };
	const count = Number(process.env.BENCH_COUNT);
	const seen: { start: number; end: number; v: number }[] = [];
	let stop = false;
	let calls = 0;
	const loops = Array.from({ length: 8 }, async (_, k) => {
		for (let i = k; !stop; i += 8) {
			const start = epochMs();
			const r = await service.use(caller, {
				name: i % 2 === 0 ? 'rotating' : secretName(i % count),
				environment: 'production',
			});
			calls++;
			if (r.name === 'rotating') seen.push({ start, end: epochMs(), v: Number(r.value.slice(2)) });
		}
	});
	process.stdout.write('ready\n');
	const acks = await new Promise<number[]>((resolve) =>
		createInterface({ input: process.stdin }).once('line', (l) => resolve(JSON.parse(l))),
	);
	stop = true;
	await Promise.all(loops);
	await service.close();
	const report: ChildReport = { calls, lags: [], stale: 0 };
	acks.forEach((ack, k) => {
		// (A loop, not Math.min(...): a spread of 100,000 arguments overflows the stack.)
		let first = Infinity;
		for (const s of seen) if (s.v >= k + 1 && s.end >= ack && s.end < first) first = s.end;
		if (first !== Infinity) report.lags.push(first - ack);
	});
	for (const s of seen) {
		// The newest rotation acknowledged before this call started: the call must return it or newer.
		let due = 0;
		acks.forEach((ack, k) => (ack < s.start ? (due = k + 1) : undefined));
		if (s.v < due) report.stale++;
	}
	process.stdout.write(`${JSON.stringify(report)}\n`);
}

/** `processes` processes under load see each of `rotations` rotations made by this one. */
async function rotationPart(
	service: SecretsService,
	admin: { token: string },
	env: { BENCH_SCHEMA: string; BENCH_KEY: string; BENCH_TOKEN: string; BENCH_COUNT: string },
	processes: number,
	rotations: number,
) {
	await service.createSecret(admin, {
		name: 'rotating',
		type: 'API_KEY',
		environment: 'production',
		value: 'v-0',
	});
	const children = Array.from({ length: processes }, () =>
		spawn(process.execPath, [__filename, '--child'], {
			env: { ...process.env, ...env },
			stdio: ['pipe', 'pipe', 'inherit'],
		}),
	);
	const lines = children.map((c) => createInterface({ input: c.stdout! }));
	// A process that cannot start (the database refusing connections, say) fails the run, not hangs it.
	await Promise.all(
		lines.map(
			(l, i) =>
				new Promise((r, fail) => {
					l.once('line', r);
					children[i].once('exit', (code) =>
						fail(new Error(`a resolving process exited with ${code}`)),
					);
				}),
		),
	);
	await new Promise((r) => setTimeout(r, 500));
	const acks: number[] = [];
	for (let k = 1; k <= rotations; k++) {
		await service.setValue(admin, { name: 'rotating', environment: 'production', value: `v-${k}` });
		acks.push(epochMs());
		await new Promise((r) => setTimeout(r, 50 + Math.random() * 50));
	}
	await new Promise((r) => setTimeout(r, 200));
	const reports = await Promise.all(
		children.map((c, i) => {
			const got = new Promise<ChildReport>((r, fail) => {
				lines[i].once('line', (l) => r(JSON.parse(l)));
				c.once('exit', (code) => fail(new Error(`a resolving process exited with ${code}`)));
			});
			c.stdin!.end(`${JSON.stringify(acks)}\n`);
			return got;
		}),
	);
	const lags = reports.flatMap((r) => r.lags).sort((a, b) => a - b);
	return {
		processes,
		rotations,
		calls: reports.reduce((n, r) => n + r.calls, 0),
		staleCalls: reports.reduce((n, r) => n + r.stale, 0),
		lagMs: {
			p50: lags[Math.floor(lags.length / 2)],
			max: lags[lags.length - 1],
			seen: lags.length,
			expected: processes * rotations,
		},
	};
}

const fmt = formatP50P99;

async function main(): Promise<void> {
	const probe = new Client({ connectionString: DATABASE_URL, connectionTimeoutMillis: 3000 });
	try {
		await probe.connect();
	} catch (err) {
		console.log(
			`\nPostgreSQL benchmark SKIPPED: not reachable at ${DATABASE_URL} (${(err as Error).message})`,
		);
		return;
	}
	const count = Number(process.env.BENCH_PG_SECRETS ?? 1000);
	const n = Number(process.env.BENCH_PG_ITERATIONS ?? 20_000);
	const spread = Number(process.env.BENCH_PG_SPREAD_SECRETS ?? 100_000);
	const schema = `bench_${randomBytes(4).toString('hex')}`;
	await probe.query(`CREATE SCHEMA ${schema}`);
	try {
		const keyB64 = randomBytes(32).toString('base64');
		const init = await SecretsService.init(
			new PostgresDriver(DATABASE_URL, { schema, poolSize: POOL }),
			rawKeyProvider(keyB64, 'bench key'),
		);
		const service = init.service;
		const admin = { token: init.token };
		const user = await service.createToken(admin, { subject: 'bench', role: 'runtime', ttl: '1d' });
		process.stderr.write(`Seeding ${count} secrets into PostgreSQL (${schema})\n`);
		await seed(service, admin, 0, count);
		const resolve = await resolvePart(service, user.token, count, n);
		process.stderr.write('Rotations seen across processes under load\n');
		const rotation = await rotationPart(
			service,
			admin,
			{
				BENCH_SCHEMA: schema,
				BENCH_KEY: keyB64,
				BENCH_TOKEN: user.token,
				BENCH_COUNT: String(count),
			},
			Number(process.env.BENCH_PG_PROCESSES ?? 3),
			Number(process.env.BENCH_PG_ROTATIONS ?? 30),
		);
		process.stderr.write(`Seeding up to ${spread} secrets for the spread\n`);
		const seedStart = Date.now();
		const seeder = await open(schema, keyB64, await seedingUrl(probe, schema));
		await seed(seeder, admin, count, spread);
		await seeder.close();
		const seedSeconds = (Date.now() - seedStart) / 1000;
		const spreadResult = await spreadPart(service, user.token, spread, n);
		await service.close();

		const bare1 = Math.min(resolve.select1_1.p50, resolve.select1Again1.p50);
		const bare32 = Math.max(resolve.select1_32.opsPerSec, resolve.select1Again32.opsPerSec);
		const ratio1 = resolve.resolve1.p50 / bare1;
		const share32 = resolve.resolve32.opsPerSec / bare32;
		const tail32 = resolve.resolve32.p99 / resolve.resolve32.p50;
		const flat = spreadResult.overAll.mean / spreadResult.over1000.mean;
		const goals = {
			resolve1P50Within3xSelect1: ratio1 <= 3,
			resolve32AtLeastHalfSelect1Throughput: share32 >= 0.5,
			resolve32P99Within10xP50: tail32 <= 10,
			spreadFlat: flat <= 1.3,
			rotationNeverStale: rotation.staleCalls === 0,
			rotationLagUnder1s:
				rotation.lagMs.max < 1000 && rotation.lagMs.seen === rotation.lagMs.expected,
		};
		console.log(
			`\nn8n-secrets PostgreSQL benchmark (Node ${process.version}, ${count} secrets, ${n} calls per line, pool ${POOL})`,
		);
		for (const clients of [1, 32]) {
			const c = `${clients} client${clients > 1 ? 's' : ' '}`;
			console.log(`  ${c}  bare select 1         ${fmt(resolve[`select1_${clients}`])}`);
			console.log(`             PostgreSQL resolve    ${fmt(resolve[`resolve${clients}`])}`);
			console.log(`             bare select 1 again   ${fmt(resolve[`select1Again${clients}`])}`);
		}
		console.log(`  resolve p50 / select 1 p50 (1 client) = ${ratio1.toFixed(2)}x`);
		console.log(`  resolve / select 1 throughput (32 clients) = ${(share32 * 100).toFixed(0)}%`);
		console.log(`  resolve p99 / p50 (32 clients) = ${tail32.toFixed(1)}x`);
		console.log(
			`  resolve mean over ${spread.toLocaleString('en-US')} / over 1,000 secrets = ${flat.toFixed(2)}x (${spreadResult.overAll.mean.toFixed(0)} / ${spreadResult.over1000.mean.toFixed(0)} µs; seeded in ${seedSeconds.toFixed(0)} s)`,
		);
		console.log(
			`  rotation seen by ${rotation.processes} processes (${rotation.calls.toLocaleString('en-US')} resolutions, ${rotation.rotations} rotations): lag p50 ${rotation.lagMs.p50?.toFixed(2)} ms, worst ${rotation.lagMs.max?.toFixed(2)} ms; stale answers after an acknowledged rotation: ${rotation.staleCalls}`,
		);
		console.log(`  goals: ${JSON.stringify(goals)}`);
		mkdirSync('.bench', { recursive: true });
		writeFileSync(
			join('.bench', 'postgres.json'),
			JSON.stringify(
				{
					node: process.version,
					secrets: count,
					iterations: n,
					resolve,
					spread: spreadResult,
					rotation,
					goals,
				},
				null,
				2,
			),
		);
	} finally {
		await probe.query(`DROP SCHEMA ${schema} CASCADE`);
		await probe.query(`DROP ROLE IF EXISTS ${schema}`);
		await probe.end();
	}
}

if (process.argv.includes('--child')) {
	void child();
} else {
	main().catch((err) => {
		console.error(err);
		process.exit(1);
	});
}
