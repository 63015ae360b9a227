/**
 * `npm run bench`: the cost of resolving a secret (`use`, audit event included) on a store of 10,000
 * secrets x 3 environments, beside one bare AES-256-GCM decrypt measured in the same run, and a check
 * that every audit event survives the process being killed (SIGKILL) right after the call returns.
 *
 * Then the row cache under a spread: resolves spread over 1,000 secrets against the same spread over a
 * store of 100,000 (one value each), uniform and Zipf-distributed, and the ratio of their mean latency.
 *
 * Environment: BENCH_SECRETS (default 10000), BENCH_ITERATIONS (default 50000), BENCH_SPREAD_SECRETS
 * (default 100000), BENCH_SPREAD_ITERATIONS (default 100000), BENCH_SPREAD_DB (a store of that many
 * secrets this part seeded before, kept and reused; default: a new one, removed afterwards).
 */
import { spawn } from 'node:child_process';
import { createCipheriv, createDecipheriv, createSecretKey, randomBytes } from 'node:crypto';
import {
	closeSync,
	existsSync,
	mkdirSync,
	mkdtempSync,
	openSync,
	readFileSync,
	rmSync,
	writeFileSync,
	writeSync,
} from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

import { rawKeyProvider } from '../src/crypto/master-key';
import { SecretsService } from '../src/service/secrets-service';
import { SqliteDriver } from '../src/store/sqlite/sqlite-driver';
import { type Summary, summarize } from './summary';

const ENVIRONMENTS = ['development', 'staging', 'production'];

/** The reference: one AES-256-GCM decrypt of a short value, with the key held as Node holds ours. */
function bareDecrypt(iterations: number): Summary {
	const key = createSecretKey(randomBytes(32));
	const aad = Buffer.from(
		'n8n-secrets/value/v1|default|00000000-0000-0000-0000-000000000000|production|1',
	);
	const iv = randomBytes(12);
	const c = createCipheriv('aes-256-gcm', key, iv);
	c.setAAD(aad);
	const data = Buffer.concat([c.update('sk_live_0123456789abcdefghijklmnop'), c.final()]);
	const tag = c.getAuthTag();
	const samples = new Float64Array(iterations);
	const start = process.hrtime.bigint();
	for (let i = 0; i < iterations; i++) {
		const t0 = process.hrtime.bigint();
		const d = createDecipheriv('aes-256-gcm', key, iv);
		d.setAAD(aad);
		d.setAuthTag(tag);
		Buffer.concat([d.update(data), d.final()]);
		samples[i] = Number(process.hrtime.bigint() - t0);
	}
	return summarize(samples, Number(process.hrtime.bigint() - start));
}

/**
 * The two system calls a durable, fresh resolution cannot avoid, measured alone: appending the audit
 * record to the journal file, and asking SQLite whether any process committed since the last call.
 */
function floor(
	dir: string,
	dbPath: string,
	iterations: number,
): { journalAppend: Summary; changeCheck: Summary } {
	const fd = openSync(join(dir, 'floor.jsonl'), 'a');
	const line = Buffer.from(`${'x'.repeat(420)}\n`);
	const a = new Float64Array(iterations);
	let start = process.hrtime.bigint();
	for (let i = 0; i < iterations; i++) {
		const t0 = process.hrtime.bigint();
		writeSync(fd, line);
		a[i] = Number(process.hrtime.bigint() - t0);
	}
	const journalAppend = summarize(a, Number(process.hrtime.bigint() - start));
	closeSync(fd);
	const db = new DatabaseSync(dbPath);
	const st = db.prepare('PRAGMA data_version');
	const b = new Float64Array(iterations);
	start = process.hrtime.bigint();
	for (let i = 0; i < iterations; i++) {
		const t0 = process.hrtime.bigint();
		st.get();
		b[i] = Number(process.hrtime.bigint() - t0);
	}
	const changeCheck = summarize(b, Number(process.hrtime.bigint() - start));
	db.close();
	return { journalAppend, changeCheck };
}

async function seed(path: string, keyB64: string, count: number) {
	const { service, token } = await SecretsService.init(
		new SqliteDriver(path),
		rawKeyProvider(keyB64, 'bench key'),
		{},
	);
	const admin = { token };
	const t0 = Date.now();
	for (let i = 0; i < count; i++) {
		const name = `secret-${String(i).padStart(5, '0')}`;
		await service.createSecret(admin, { name, type: 'API_KEY' });
		for (const environment of ENVIRONMENTS) {
			await service.setValue(admin, {
				name,
				environment,
				value: `${environment}-${randomBytes(16).toString('hex')}`,
			});
		}
		if ((i + 1) % 1000 === 0)
			process.stderr.write(`  seeded ${i + 1}/${count} secrets (${Date.now() - t0} ms)\n`);
	}
	const user = await service.createToken(admin, {
		subject: 'bench-workflow',
		role: 'user',
		ttl: '1d',
	});
	return { service, admin, userToken: user.token, seedMs: Date.now() - t0 };
}

type Caller = { token: string; context: Record<string, string> };

async function timeResolves(
	service: SecretsService,
	caller: Caller,
	picks: [string, string][],
): Promise<Summary> {
	const samples = new Float64Array(picks.length);
	const start = process.hrtime.bigint();
	for (let i = 0; i < picks.length; i++) {
		const [name, environment] = picks[i];
		const t0 = process.hrtime.bigint();
		await service.use(caller, { name, environment });
		samples[i] = Number(process.hrtime.bigint() - t0);
	}
	return summarize(samples, Number(process.hrtime.bigint() - start));
}

/**
 * First pass: every value once, in a scattered order (each a cache miss: three indexed reads). Then
 * `iterations` resolutions spread over the whole store, the steady state of a running n8n.
 */
async function resolveLoop(
	service: SecretsService,
	token: string,
	count: number,
	iterations: number,
) {
	const caller: Caller = {
		token,
		context: {
			workflowId: 'wf-1',
			workflowName: 'bench',
			executionId: '1',
			node: 'Secret HTTP Request',
			mode: 'manual',
		},
	};
	const name = (i: number) => `secret-${String(i).padStart(5, '0')}`;
	const all: [string, string][] = [];
	for (let i = 0; i < count; i++)
		for (const env of ENVIRONMENTS) all.push([name((i * 7919) % count), env]);
	const cold = await timeResolves(service, caller, all);
	const picks: [string, string][] = [];
	for (let i = 0; i < iterations; i++)
		picks.push([name((i * 104729) % count), ENVIRONMENTS[i % 3]]);
	const warm = await timeResolves(service, caller, picks);
	return { cold, warm };
}

/** Child: resolve in a loop and acknowledge each call on stdout once it has returned. */
async function child(): Promise<void> {
	const service = await SecretsService.open(
		new SqliteDriver(process.env.BENCH_DB!),
		rawKeyProvider(process.env.BENCH_KEY!, 'bench key'),
	);
	const caller = { token: process.env.BENCH_TOKEN!, context: { workflowId: 'kill-test' } };
	for (let i = 0; ; i++) {
		await service.use(caller, {
			name: `secret-${String(i % 100).padStart(5, '0')}`,
			environment: 'staging',
		});
		process.stdout.write(`${i + 1}\n`);
	}
}

async function killTest(
	path: string,
	keyB64: string,
	token: string,
	admin: { token: string },
): Promise<{ acknowledged: number; recorded: number; verified: boolean }> {
	const proc = spawn(process.execPath, [__filename, '--child'], {
		env: { ...process.env, BENCH_DB: path, BENCH_KEY: keyB64, BENCH_TOKEN: token },
		stdio: ['ignore', 'pipe', 'inherit'],
	});
	let acknowledged = 0;
	const target = 500 + Math.floor(Math.random() * 1500);
	await new Promise<void>((resolve) => {
		const lines = createInterface({ input: proc.stdout! });
		lines.on('line', (line) => {
			acknowledged = Number(line);
			if (acknowledged >= target && proc.exitCode === null) proc.kill('SIGKILL');
		});
		proc.on('exit', () => resolve());
	});
	const service = await SecretsService.open(
		new SqliteDriver(path),
		rawKeyProvider(keyB64, 'bench key'),
	);
	let recorded = 0;
	for (let afterSeq = 0; ; ) {
		const page = await service.listAudit(admin, { workflowId: 'kill-test', afterSeq, limit: 1000 });
		recorded += page.items.filter((e) => e.action === 'use' && e.outcome === 'success').length;
		if (page.items.length < 1000) break;
		afterSeq = page.items[page.items.length - 1].seq;
	}
	const verified = (await service.verifyAudit(admin)).ok;
	await service.close();
	return { acknowledged, recorded, verified };
}

/** A xorshift32 sequence in [0, 1): every run and every build resolves the same picks. */
function random(seed: number): () => number {
	let x = seed >>> 0 || 1;
	return () => {
		x ^= x << 13;
		x >>>= 0;
		x ^= x >>> 17;
		x ^= x << 5;
		x >>>= 0;
		return x / 2 ** 32;
	};
}

/** `n` picks among `count` secrets: uniform, or Zipf (s = 1: the k-th most used is used 1/k as often). */
function spreadPicks(count: number, n: number, dist: 'uniform' | 'zipf', seed: number): Int32Array {
	const next = random(seed);
	const out = new Int32Array(n);
	if (dist === 'uniform') {
		for (let i = 0; i < n; i++) out[i] = Math.floor(next() * count);
		return out;
	}
	const cdf = new Float64Array(count);
	let total = 0;
	for (let k = 0; k < count; k++) cdf[k] = total += 1 / (k + 1);
	for (let i = 0; i < n; i++) {
		const u = next() * total;
		let lo = 0;
		let hi = count - 1;
		while (lo < hi) {
			const mid = (lo + hi) >>> 1;
			if (cdf[mid] < u) lo = mid + 1;
			else hi = mid;
		}
		// The popular secrets are scattered over the store, not its first names.
		out[i] = (lo * 7919) % count;
	}
	return out;
}

const spreadName = (i: number) => `spread-${String(i).padStart(6, '0')}`;

/** A store of `count` secrets with one value each, or the one a previous run left at `path`. */
async function spreadStore(
	path: string,
	count: number,
): Promise<{ keyB64: string; token: string }> {
	const meta = `${path}.bench.json`;
	if (existsSync(meta)) {
		const m = JSON.parse(readFileSync(meta, 'utf8')) as {
			count: number;
			keyB64: string;
			token: string;
		};
		if (m.count === count) return m;
		throw new Error(
			`${path} holds ${m.count} secrets, not ${count}: remove it or BENCH_SPREAD_DB.`,
		);
	}
	const keyB64 = randomBytes(32).toString('base64');
	const { service, token } = await SecretsService.init(
		new SqliteDriver(path),
		rawKeyProvider(keyB64, 'bench key'),
		{},
	);
	const admin = { token };
	const t0 = Date.now();
	for (let i = 0; i < count; i++) {
		await service.createSecret(admin, {
			name: spreadName(i),
			type: 'API_KEY',
			environment: 'production',
			value: `v-${randomBytes(16).toString('hex')}`,
		});
		if ((i + 1) % 10_000 === 0)
			process.stderr.write(`  seeded ${i + 1}/${count} secrets (${Date.now() - t0} ms)\n`);
	}
	const user = await service.createToken(admin, {
		subject: 'bench-spread',
		role: 'user',
		ttl: '30d',
	});
	await service.close();
	writeFileSync(meta, JSON.stringify({ count, keyB64, token: user.token }));
	return { keyB64, token: user.token };
}

/**
 * Resolves spread over the first 1,000 secrets and over all `count`, each after every secret of the
 * spread was used once and as many calls again as are measured (the cache's steady state); one process, one service, one store, so only the spread differs.
 */
async function spreadPart(count: number, iterations: number) {
	const kept = process.env.BENCH_SPREAD_DB;
	// Seeding is a commit per secret: on a RAM disk when there is one (reads are from memory anyway).
	const base = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
	const dir = kept ? null : mkdtempSync(join(base, 'n8n-secrets-bench-spread-'));
	const path = kept ?? join(dir!, 'secrets.db');
	try {
		process.stderr.write(`Seeding ${count} secrets x 1 environment into ${path}\n`);
		const { keyB64, token } = await spreadStore(path, count);
		const service = await SecretsService.open(
			new SqliteDriver(path),
			rawKeyProvider(keyB64, 'bench key'),
		);
		const caller: Caller = { token, context: { workflowId: 'wf-spread', workflowName: 'bench' } };
		const result: Record<string, Summary> = {};
		try {
			for (const dist of ['uniform', 'zipf'] as const) {
				for (const over of [1000, count]) {
					const picks = spreadPicks(over, 2 * iterations, dist, 7);
					const named = Array.from(picks, (i) => [spreadName(i), 'production'] as [string, string]);
					// Steady state: every secret of the spread has been used once (as in an n8n that has
					// run its workflows), then as many calls again as are measured.
					await timeResolves(
						service,
						caller,
						Array.from(
							{ length: over },
							(_, i) => [spreadName(i), 'production'] as [string, string],
						),
					);
					await timeResolves(service, caller, named.slice(0, iterations));
					result[`${dist}${over}`] = await timeResolves(service, caller, named.slice(iterations));
				}
			}
		} finally {
			await service.close();
		}
		return {
			secrets: count,
			iterations,
			result,
			uniformRatio: result[`uniform${count}`].mean / result.uniform1000.mean,
			zipfRatio: result[`zipf${count}`].mean / result.zipf1000.mean,
		};
	} finally {
		if (dir) rmSync(dir, { recursive: true, force: true });
	}
}

function fmt(s: Summary): string {
	return `p50 ${s.p50.toFixed(1)} µs   p90 ${s.p90.toFixed(1)} µs   p99 ${s.p99.toFixed(1)} µs   ${Math.round(s.opsPerSec).toLocaleString('en-US')} ops/s`;
}

async function main(): Promise<void> {
	const count = Number(process.env.BENCH_SECRETS ?? 10_000);
	const iterations = Number(process.env.BENCH_ITERATIONS ?? 50_000);
	const dir = mkdtempSync(join(tmpdir(), 'n8n-secrets-bench-'));
	const path = join(dir, 'secrets.db');
	const keyB64 = randomBytes(32).toString('base64');
	try {
		process.stderr.write(
			`Seeding ${count} secrets x ${ENVIRONMENTS.length} environments into ${path}\n`,
		);
		const { service, admin, userToken, seedMs } = await seed(path, keyB64, count);
		const bare = bareDecrypt(iterations);
		const { cold, warm: resolve } = await resolveLoop(service, userToken, count, iterations);
		const bareAgain = bareDecrypt(iterations);
		await service.close();
		const syscalls = floor(dir, path, iterations);
		const kill = await killTest(path, keyB64, userToken, admin);
		const spread = await spreadPart(
			Number(process.env.BENCH_SPREAD_SECRETS ?? 100_000),
			Number(process.env.BENCH_SPREAD_ITERATIONS ?? 100_000),
		);
		const ratio = resolve.p50 / Math.min(bare.p50, bareAgain.p50);
		const result = {
			node: process.version,
			secrets: count,
			values: count * ENVIRONMENTS.length,
			iterations,
			seedSeconds: seedMs / 1000,
			bareDecrypt: bare,
			bareDecryptAfter: bareAgain,
			resolveFirstUseOfEachValue: cold,
			resolve,
			p50RatioToBareDecrypt: ratio,
			floor: syscalls,
			killTest: kill,
			spread,
			goals: {
				p50Under25us: resolve.p50 < 25,
				within5xOfBareDecrypt: ratio <= 5,
				everyAcknowledgedEventSurvivedKill: kill.recorded >= kill.acknowledged && kill.verified,
				spreadRatioUniformAtMost1_3: spread.uniformRatio <= 1.3,
				spreadRatioZipfAtMost1_3: spread.zipfRatio <= 1.3,
			},
		};
		console.log(
			`n8n-nodes-secrets resolve benchmark (Node ${process.version}, ${count} secrets x ${ENVIRONMENTS.length} environments)`,
		);
		console.log(`  bare AES-256-GCM decrypt   ${fmt(bare)}`);
		console.log(`  resolve (use + audit)      ${fmt(resolve)}`);
		console.log(`  resolve, first use of each ${fmt(cold)}`);
		console.log(`  bare decrypt, again        ${fmt(bareAgain)}`);
		console.log(`  journal append (1 write)   ${fmt(syscalls.journalAppend)}`);
		console.log(`  change check (data_version) ${fmt(syscalls.changeCheck)}`);
		console.log(`  resolve p50 / bare decrypt p50 = ${ratio.toFixed(1)}x`);
		console.log(
			`  kill -9 after ${kill.acknowledged} acknowledged uses: ${kill.recorded} use events on disk, chain ${kill.verified ? 'intact' : 'BROKEN'}`,
		);
		const n = spread.secrets.toLocaleString('en-US');
		for (const dist of ['uniform', 'zipf'] as const) {
			const one = spread.result[`${dist}1000`];
			const all = spread.result[`${dist}${spread.secrets}`];
			console.log(
				`  resolve, ${dist} over 1,000 secrets     ${fmt(one)}   mean ${one.mean.toFixed(1)} µs`,
			);
			console.log(
				`  resolve, ${dist} over ${n} secrets   ${fmt(all)}   mean ${all.mean.toFixed(1)} µs`,
			);
			console.log(
				`  resolve mean, ${dist} spread: ${n} / 1,000 secrets = ${(dist === 'uniform' ? spread.uniformRatio : spread.zipfRatio).toFixed(2)}x`,
			);
		}
		console.log(`  goals: ${JSON.stringify(result.goals)}`);
		mkdirSync('.bench', { recursive: true });
		writeFileSync(join('.bench', 'resolve.json'), JSON.stringify(result, null, 2));
	} finally {
		rmSync(dir, { recursive: true, force: true });
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
