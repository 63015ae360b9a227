/**
 * Data key re-encryption under concurrency and crashes: one run per tenant at a time across
 * processes, a retry is refused rather than raced, a key some row needs is never deleted, and a run
 * killed at any step is carried on by the next, with every value readable from a fresh process.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

import { startApiServer } from '../helpers/api-server';
import { STORE_KIND, createTestStore, type TestStore } from '../helpers/store';
import type { SecretsService } from '../../src/service/secrets-service';

const WORKER = join(__dirname, '..', 'helpers', 'worker.js');

let t: TestStore;
/** name → environment → value, as every check afterwards expects to read it. */
let expected: Map<string, Map<string, string>>;

async function seed(count: number): Promise<void> {
	expected = new Map();
	for (let i = 0; i < count; i++) {
		const name = `key-${String(i).padStart(2, '0')}`;
		const envs = new Map<string, string>();
		await t.service.createSecret(t.admin, {
			name,
			environment: 'production',
			value: `${name}-v1`,
		});
		envs.set('production', `${name}-v1`);
		if (i % 5 === 0) {
			// Some with a second version and a second environment.
			await t.service.rotate(t.admin, { name, environment: 'production', value: `${name}-v2` });
			envs.set('production', `${name}-v2`);
			await t.service.setValue(t.admin, { name, environment: 'staging', value: `${name}-s1` });
			envs.set('staging', `${name}-s1`);
		}
		expected.set(name, envs);
	}
}

/** Every value, read by a service opened afresh (no key cache of the process that rotated). */
async function expectEveryValue(): Promise<void> {
	const fresh = await t.open();
	for (const [name, envs] of expected) {
		for (const [environment, value] of envs) {
			const r = await fresh.reveal(t.admin, { name, environment });
			expect({ name, environment, value: r.value }).toEqual({ name, environment, value });
		}
	}
	const verified = await fresh.verifyAudit(t.admin);
	expect(verified.ok).toBe(true);
	// No row names a data key that is gone, and exactly one key is left, the active one.
	const dangling = (await t.sql(
		`SELECT COUNT(*) AS n FROM versions v
     WHERE NOT EXISTS (SELECT 1 FROM data_keys k WHERE k.tenant = v.tenant AND k.id = v.dek_id)`,
	)) as { n: number | string }[];
	expect(Number(dangling[0].n)).toBe(0);
	const keys = (await t.sql('SELECT state FROM data_keys ORDER BY state')) as { state: string }[];
	expect(keys.map((k) => k.state)).toEqual(['active']);
	const leases = (await t.sql('SELECT COUNT(*) AS n FROM key_rotations')) as { n: number }[];
	expect(Number(leases[0].n)).toBe(0);
}

function worker(mode: string, extraEnv: Record<string, string>, count = 0): ChildProcess {
	return spawn(process.execPath, [WORKER], {
		env: {
			...process.env,
			...t.storeEnv,
			WORKER_KEY: t.keyBase64,
			WORKER_TOKEN: t.admin.token,
			WORKER_MODE: mode,
			WORKER_ID: mode,
			WORKER_COUNT: String(count),
			...extraEnv,
		},
		stdio: ['ignore', 'pipe', 'pipe'],
	});
}

function finished(
	child: ChildProcess,
): Promise<{ code: number | null; signal: string | null; out: string; err: string }> {
	let out = '';
	let err = '';
	child.stdout!.on('data', (d) => (out += d));
	child.stderr!.on('data', (d) => (err += d));
	return new Promise((resolve) =>
		child.on('exit', (code, signal) => resolve({ code, signal, out, err })),
	);
}

beforeEach(async () => {
	t = await createTestStore();
	// Child processes run on the system clock; the admin token must be valid for them.
	t.clock.ms = Date.now();
	t.admin = {
		token: (await t.service.createToken(t.admin, { subject: 'rotator', role: 'admin', ttl: '1d' }))
			.token,
	};
});

afterEach(() => t.cleanup());

describe(`concurrent re-encryption on ${STORE_KIND}`, () => {
	it('serializes runs across processes and HTTP callers; every value survives, no key is lost', async () => {
		await seed(40);
		const api = await startApiServer(t);
		try {
			// Three other processes re-encrypting in a loop, and sixteen HTTP clients doing the same
			// against this process's server, for four seconds.
			const children = [0, 1, 2].map(() => finished(worker('rotate-keys-loop', {}, 4000)));
			const until = Date.now() + 4000;
			const statuses: number[] = [];
			const reveals: number[] = [];
			const clients = Array.from({ length: 16 }, async () => {
				while (Date.now() < until) {
					const r = await api.call('POST', '/api/v1/keys/rotate', {
						token: t.admin.token,
						body: { reencrypt: true },
					});
					statuses.push(r.status);
					if (r.status !== 200) expect(r.body.code).toBe('ROTATION_IN_PROGRESS');
				}
			});
			// Meanwhile values are served: every reveal answers with the right value.
			const reader = (async () => {
				while (Date.now() < until) {
					const started = Date.now();
					const r = await api.call('POST', '/api/v1/secrets/key-05/reveal?env=staging', {
						token: t.admin.token,
						body: {},
					});
					expect(r.status).toBe(200);
					expect(r.body.value).toBe('key-05-s1');
					reveals.push(Date.now() - started);
				}
			})();
			await Promise.all([...clients, reader]);
			const results = await Promise.all(children);
			for (const r of results) expect({ code: r.code, err: r.err }).toEqual({ code: 0, err: '' });
			const tallies = results.map((r) => JSON.parse(r.out.trim()) as { rotated: number });
			const rotated =
				tallies.reduce((n, x) => n + x.rotated, 0) + statuses.filter((s) => s === 200).length;
			expect(rotated).toBeGreaterThan(0);
			expect(statuses.filter((s) => s === 409).length).toBeGreaterThan(0);
			expect(new Set(statuses)).toEqual(new Set(statuses.filter((s) => s === 200 || s === 409)));
			expect(reveals.length).toBeGreaterThan(0);
			process.stdout.write(
				`re-encryption race on ${STORE_KIND}: ${rotated} runs completed, ${statuses.filter((s) => s === 409).length} HTTP retries refused; ` +
					`reveal latency max ${Math.max(...reveals)} ms over ${reveals.length} reveals\n`,
			);
		} finally {
			await api.close();
		}
		await expectEveryValue();
	}, 90_000);

	it('refuses a second run while one holds the lease, and changes nothing for it', async () => {
		await seed(10);
		const first = t.service.rotateDataKeys(t.admin, { batchSize: 1 });
		const second = t.service.rotateDataKeys(t.admin);
		await expect(second).rejects.toMatchObject({
			code: 'ROTATION_IN_PROGRESS',
			httpStatus: 409,
			message: expect.stringContaining('still running'),
		});
		expect((await first).reencrypted).toBe(14);
		// The refusal is in the audit trail, as a failed key.rotate.
		const events = await t.service.listAudit(t.admin, { action: 'key.rotate' });
		expect(events.items.map((e) => e.outcome).sort()).toEqual(['failure', 'success']);
		// And once the first is done, a retry is a new, complete run.
		expect((await t.service.rotateDataKeys(t.admin)).reencrypted).toBe(14);
		await expectEveryValue();
	});

	it('refuses to make a data key in a process whose master key another process has replaced', async () => {
		await seed(3);
		const stale: SecretsService = await t.open();
		// It has served a value: its data key is in its cache, as in a long-running worker.
		await stale.reveal(t.admin, { name: 'key-00', environment: 'production' });
		const { rawKeyProvider } = await import('../../src/crypto/master-key');
		const { randomBytes } = await import('node:crypto');
		const next = randomBytes(32).toString('base64');
		await t.service.rotateMasterKey({ newKey: rawKeyProvider(next, 'new key') });
		await expect(stale.rotateDataKeys(t.admin)).rejects.toMatchObject({
			code: 'WRONG_MASTER_KEY',
			message: expect.stringContaining('restart this process with the new master key'),
		});
		// Nothing was half-done: the new key still opens every value, and no key is retiring.
		const fresh = await t.open({}, rawKeyProvider(next, 'new key'));
		for (const [name, envs] of expected)
			for (const [environment, value] of envs)
				expect((await fresh.reveal(t.admin, { name, environment })).value).toBe(value);
		const keys = (await t.sql('SELECT state FROM data_keys')) as { state: string }[];
		expect(keys.map((k) => k.state)).toEqual(['active']);
	});
});

describe(`a re-encryption killed at each step on ${STORE_KIND}`, () => {
	const points = [
		'reencrypt.started',
		'reencrypt.batch@3',
		'reencrypt.reseal',
		'reencrypt.before-commit',
		'reencrypt.committed',
	];
	it.each(points)(
		'is carried on by the next run after a kill at %s',
		async (point) => {
			await seed(12);
			const killed = await finished(worker('reencrypt', { N8N_SECRETS_FAULT_POINT: point }));
			expect(killed.signal).toBe('SIGKILL');
			expect(killed.err).toContain(`fault point ${point.split('@')[0]} reached`);
			// Mid-rotation, every value is still served (old and new keys both exist until the end).
			const during = await t.open();
			for (const [name, envs] of expected)
				for (const [environment, value] of envs)
					expect((await during.reveal(t.admin, { name, environment })).value).toBe(value);
			// The killed run's lease does not hold: running again finishes the job.
			await during.rotateMasterKey({ reencrypt: true });
			await expectEveryValue();
		},
		60_000,
	);
});

describe(`a master key replacement killed at each step on ${STORE_KIND}`, () => {
	it.each([
		['rewrap.before-commit', 'old'],
		['rewrap.committed', 'new'],
	])(
		'after a kill at %s, the %s key opens every value and the other is refused',
		async (point, which) => {
			await seed(6);
			const { randomBytes } = await import('node:crypto');
			const { rawKeyProvider } = await import('../../src/crypto/master-key');
			const next = randomBytes(32).toString('base64');
			const killed = await finished(
				worker('rewrap', { N8N_SECRETS_FAULT_POINT: point, WORKER_NEW_KEY: next }),
			);
			expect(killed.signal).toBe('SIGKILL');
			const [good, bad] =
				which === 'old'
					? [t.key, rawKeyProvider(next, 'new key')]
					: [rawKeyProvider(next, 'new key'), t.key];
			await expect(t.open({}, bad)).rejects.toMatchObject({ code: 'WRONG_MASTER_KEY' });
			const opened = await t.open({}, good);
			for (const [name, envs] of expected)
				for (const [environment, value] of envs)
					expect((await opened.reveal(t.admin, { name, environment })).value).toBe(value);
			expect((await opened.verifyAudit(t.admin)).ok).toBe(true);
		},
	);
});
