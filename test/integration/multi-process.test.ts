import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

import { STORE_KIND, createTestStore, type TestStore } from '../helpers/store';

const WORKER = join(__dirname, '..', 'helpers', 'worker.js');

function t0(): string {
	return STORE_KIND === 'postgres' ? 'PostgreSQL' : 'SQLite';
}

let t: TestStore;
let operator: { token: string };

beforeEach(async () => {
	t = await createTestStore();
	// The child processes run on the system clock: put the store's clock there too, so the token the
	// children use is valid for them.
	t.clock.ms = Date.now();
	await t.service.createSecret(t.admin, {
		name: 'shared',
		environment: 'production',
		value: 'initial',
	});
	operator = {
		token: (
			await t.service.createToken(t.admin, {
				subject: 'worker',
				scopes: ['secrets:list', 'secrets:use', 'secrets:write', 'secrets:reveal'],
				ttl: '1d',
			})
		).token,
	};
});

afterEach(() => t.cleanup());

function worker(
	id: string,
	mode: 'rotate' | 'use-loop' | 'reencrypt',
	count = 0,
	token = operator.token,
): ChildProcess {
	return spawn(process.execPath, [WORKER], {
		env: {
			...process.env,
			...t.storeEnv,
			WORKER_KEY: t.keyBase64,
			WORKER_TOKEN: token,
			WORKER_MODE: mode,
			WORKER_ID: id,
			WORKER_COUNT: String(count),
		},
		stdio: ['ignore', 'pipe', 'pipe'],
	});
}

function finished(child: ChildProcess): Promise<{ code: number | null; out: string; err: string }> {
	let out = '';
	let err = '';
	child.stdout!.on('data', (d) => (out += d));
	child.stderr!.on('data', (d) => (err += d));
	return new Promise((resolve) => child.on('exit', (code) => resolve({ code, out, err })));
}

describe(`several OS processes on one ${t0()} store`, () => {
	it('rotate and resolve at once without losing a version or breaking the audit chain', async () => {
		const warm = t.service;
		expect((await warm.use(operator, { name: 'shared', environment: 'production' })).value).toBe(
			'initial',
		);

		const results = await Promise.all(
			['1', '2', '3'].map((id) => finished(worker(id, 'rotate', 30))),
		);
		for (const r of results) expect({ code: r.code, err: r.err }).toEqual({ code: 0, err: '' });
		const summaries = results.map((r) => JSON.parse(r.out.trim()) as { conflicts: number });
		const conflicts = summaries.reduce((n, s) => n + s.conflicts, 0);

		const versions = await warm.listVersions(t.admin, {
			name: 'shared',
			environment: 'production',
		});
		expect(versions).toHaveLength(91);
		expect(versions.map((v) => v.version)).toEqual(Array.from({ length: 91 }, (_, i) => 91 - i));
		expect(versions.filter((v) => v.labels.includes('current')).map((v) => v.version)).toEqual([
			91,
		]);
		expect(versions.filter((v) => v.labels.includes('previous')).map((v) => v.version)).toEqual([
			90,
		]);
		const lines = await t.sql(
			"SELECT current_version FROM value_lines WHERE environment = 'production'",
		);
		expect(lines).toEqual([{ current_version: 91 }]);

		// The long-open service in this process sees the last rotation on its very next read.
		const latest = await warm.reveal(operator, {
			name: 'shared',
			environment: 'production',
			selector: { version: 91 },
		});
		expect((await warm.use(operator, { name: 'shared', environment: 'production' })).value).toBe(
			latest.value,
		);
		// Each kept version holds a value some worker wrote, and no value was written twice.
		const kept = versions.filter((v) => v.destroyedAt === null);
		const values = [];
		for (const v of kept) {
			values.push(
				(
					await warm.reveal(operator, {
						name: 'shared',
						environment: 'production',
						selector: { version: v.version },
					})
				).value,
			);
		}
		for (const v of values) expect(v).toMatch(/^w[123]-\d+$/);
		expect(new Set(values).size).toBe(values.length);

		const audit = (await warm.listAudit(t.admin, { afterSeq: 0, limit: 1000 })).items;
		const count = (action: string, outcome = 'success') =>
			audit.filter((e) => e.action === action && e.outcome === outcome && e.actor === 'worker')
				.length;
		expect(count('rotate')).toBe(90);
		// 90 by the workers, plus this process's read before and after them.
		expect(count('use')).toBe(90 + 2);
		expect(count('rotate', 'failure')).toBe(conflicts);
		expect((await warm.verifyAudit(t.admin)).ok).toBe(true);
	});

	it('keeps every acknowledged audit event of a process killed with SIGKILL', async () => {
		const child = worker('k', 'use-loop');
		const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
		let acknowledged = 0;
		await new Promise<void>((resolve) => {
			createInterface({ input: child.stdout! }).on('line', (line) => {
				acknowledged = Number(line);
				if (acknowledged >= 200 && child.exitCode === null && !child.killed) {
					child.kill('SIGKILL');
					resolve();
				}
			});
		});
		await exited;
		const reopened = await t.open();
		const uses = [];
		for (let afterSeq = 0; ; ) {
			const page = await reopened.listAudit(t.admin, {
				workflowId: 'worker-k',
				afterSeq,
				limit: 1000,
			});
			uses.push(...page.items.filter((e) => e.action === 'use' && e.outcome === 'success'));
			if (page.items.length < 1000) break;
			afterSeq = page.items[page.items.length - 1].seq;
		}
		expect(uses.length).toBeGreaterThanOrEqual(acknowledged);
		expect((await reopened.verifyAudit(t.admin)).ok).toBe(true);
	});
});

describe('re-encryption', () => {
	it('carries on after the process doing it was killed part-way', async () => {
		for (let i = 0; i < 40; i++) {
			await t.service.createSecret(t.admin, {
				name: `s${i}`,
				environment: 'production',
				value: `value-${i}`,
			});
		}
		await t.service.close();
		const admin = t.admin;
		const child = worker('r', 'reencrypt', 0, admin.token);
		const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
		let done = 0;
		await new Promise<void>((resolve) => {
			createInterface({ input: child.stdout! }).on('line', (line) => {
				done = Number(line.split('/')[0]);
				if (done >= 10 && child.exitCode === null && !child.killed) {
					child.kill('SIGKILL');
					resolve();
				}
			});
		});
		await exited;
		const [keysBefore] = (await t.sql('SELECT COUNT(DISTINCT dek_id) AS n FROM versions')) as {
			n: number;
		}[];
		expect(Number(keysBefore.n)).toBe(2);

		const resumed = await t.open();
		const progress: { done: number; total: number }[] = [];
		const r = await resumed.rotateMasterKey({
			reencrypt: true,
			onProgress: (p) => progress.push(p),
		});
		expect(r.reencrypted).toBeLessThanOrEqual(41 - done);
		expect(progress[0].total).toBe(r.reencrypted);
		for (let i = 0; i < 40; i++) {
			expect((await resumed.use(admin, { name: `s${i}`, environment: 'production' })).value).toBe(
				`value-${i}`,
			);
		}
		const count = async (sql: string) => Number(((await t.sql(sql)) as { n: number }[])[0].n);
		expect(await count('SELECT COUNT(DISTINCT dek_id) AS n FROM versions')).toBe(1);
		expect(await count('SELECT COUNT(*) AS n FROM data_keys')).toBe(1);
		expect((await resumed.verifyAudit(admin)).ok).toBe(true);
	});
});
