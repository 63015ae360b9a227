// Acknowledged `use` events survive a process stopped at any step of the journal's ingest and roll,
// a disk that fills up mid-record, and a journal file deleted behind the store's back is noticed.
// The journal exists on SQLite only (PostgreSQL chains each use in its own transaction).
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import {
	closeSync,
	mkdirSync,
	openSync,
	readdirSync,
	readFileSync,
	rmSync,
	writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

import type { AuditEvent } from '../../src/core/model';
import type { SecretsService } from '../../src/service/secrets-service';
import { STORE_KIND, createTestStore, itSqlite, type TestStore } from '../helpers/store';

const WORKER = join(__dirname, '..', 'helpers', 'worker.js');

let t: TestStore;
let operator: { token: string };

beforeEach(async () => {
	t = await createTestStore();
	t.clock.ms = Date.now();
	await t.service.createSecret(t.admin, { name: 'shared', environment: 'production', value: 'v' });
	operator = {
		token: (
			await t.service.createToken(t.admin, {
				subject: 'worker',
				scopes: ['secrets:use', 'secrets:write', 'secrets:list'],
				ttl: '1d',
			})
		).token,
	};
});

afterEach(() => t.cleanup());

/** A worker doing numbered uses; resolves with how many it acknowledged and how it ended. */
function numberedUses(
	id: string,
	env: Record<string, string>,
	count = 0,
): Promise<{
	acknowledged: number;
	signal: NodeJS.Signals | null;
	code: number | null;
	err: string;
}> {
	const child: ChildProcess = spawn(process.execPath, [WORKER], {
		env: {
			...process.env,
			...t.storeEnv,
			WORKER_KEY: t.keyBase64,
			WORKER_TOKEN: operator.token,
			WORKER_MODE: 'use-numbered',
			WORKER_ID: id,
			WORKER_COUNT: String(count),
			...env,
		},
		stdio: ['ignore', 'pipe', 'pipe'],
	});
	let acknowledged = 0;
	let err = '';
	createInterface({ input: child.stdout! }).on('line', (line) => (acknowledged = Number(line)));
	child.stderr!.on('data', (d) => (err += d));
	// A fault point that is never reached must not hang the suite.
	const guard = setTimeout(() => child.kill('SIGTERM'), 20_000);
	return new Promise((resolve) =>
		child.on('close', (code, signal) => {
			clearTimeout(guard);
			resolve({ acknowledged, signal, code, err });
		}),
	);
}

async function usesOf(s: SecretsService, workflowId: string): Promise<AuditEvent[]> {
	const found: AuditEvent[] = [];
	for (let afterSeq = 0; ; ) {
		const page = await s.listAudit(t.admin, { workflowId, afterSeq, limit: 1000 });
		found.push(...page.items);
		if (page.items.length < 1000) return found;
		afterSeq = page.items[page.items.length - 1].seq;
	}
}

/** Every acknowledged use (1..acknowledged) is chained exactly once; at most the unacknowledged next one besides. */
function expectExactlyOnce(events: AuditEvent[], acknowledged: number): void {
	const numbers = events
		.filter((e) => e.action === 'use' && e.outcome === 'success')
		.map((e) => Number(e.executionId));
	const counts = new Map<number, number>();
	for (const n of numbers) counts.set(n, (counts.get(n) ?? 0) + 1);
	const repeated = [...counts].filter(([, c]) => c > 1).map(([n]) => n);
	expect(repeated).toEqual([]);
	const missing = [];
	for (let i = 1; i <= acknowledged; i++) if (!counts.has(i)) missing.push(i);
	expect(missing).toEqual([]);
	expect(Math.max(0, ...numbers)).toBeLessThanOrEqual(acknowledged + 1);
}

const journalDir = () => `${t.path}-audit`;
const filesOf = (pid: number) => readdirSync(journalDir()).filter((f) => f.includes(`-${pid}-`));

describe(`the audit journal on ${STORE_KIND === 'postgres' ? 'PostgreSQL (not used)' : 'SQLite'}`, () => {
	// Each point in the order a file goes through them; `@2` skips the ingest every open does first.
	const POINTS = [
		'audit.journal.created@2',
		'audit.journal.registered@2',
		'audit.ingest.before-commit@3',
		'audit.ingest.after-commit@2',
		'audit.ingest.after-unlink@2',
		'audit.ingest.before-forget@2',
	];

	for (const point of POINTS) {
		itSqlite(
			`keeps every acknowledged use exactly once when processes are killed at ${point}`,
			async () => {
				// 4 KiB files: the roll path (4 MiB in production) is taken every few dozen uses.
				const env = { N8N_SECRETS_JOURNAL_ROLL_BYTES: '4096', N8N_SECRETS_FAULT_POINT: point };
				const a = await numberedUses('a', env);
				expect({ signal: a.signal, err: a.err }).toEqual({
					signal: 'SIGKILL',
					err: expect.stringContaining(`fault point ${point.split('@')[0]} reached`),
				});
				expect(a.acknowledged).toBeGreaterThan(0);
				// The next process picks up the killed one's files at open: stop it at the same point
				// of that first ingest (the points it does not pass let it finish its 50 uses).
				const b = await numberedUses(
					'b',
					{ ...env, N8N_SECRETS_FAULT_POINT: point.replace(/@\d+$/, '@1') },
					50,
				);
				expect(b.signal === 'SIGKILL' || b.code === 0).toBe(true);

				const reopened = await t.open();
				expectExactlyOnce(await usesOf(reopened, 'worker-a'), a.acknowledged);
				expectExactlyOnce(await usesOf(reopened, 'worker-b'), b.acknowledged);
				const failures = (await reopened.listAudit(t.admin, { outcome: 'failure', limit: 100 }))
					.items;
				expect(failures).toEqual([]);
				expect(await reopened.verifyAudit(t.admin)).toMatchObject({ ok: true });

				// Nothing is left behind: the dead workers' files are deleted and their rows forgotten.
				await reopened.ingestJournal();
				const known = (await t.sql('SELECT file FROM audit_journals')) as { file: string }[];
				const ours = new Set(readdirSync(journalDir()));
				for (const { file } of known) expect(ours.has(file)).toBe(true);
				expect(readdirSync(journalDir()).filter((f) => !/-\d+-/.test(f))).toEqual([]);
				expect(readdirSync(journalDir()).filter((f) => !f.includes(`-${process.pid}-`))).toEqual(
					[],
				);
			},
		);
	}

	itSqlite('rolls a full file only once every record in it is chained', async () => {
		const a = await numberedUses('a', { N8N_SECRETS_JOURNAL_ROLL_BYTES: '4096' }, 600);
		expect(a).toMatchObject({ code: 0, acknowledged: 600 });
		const reopened = await t.open();
		expectExactlyOnce(await usesOf(reopened, 'worker-a'), 600);
		expect(await reopened.verifyAudit(t.admin)).toMatchObject({ ok: true });
	});

	itSqlite(
		"records a registered journal file deleted before it was chained (a crashed process's reveals)",
		async () => {
			// Killed in its first own ingest, before the commit: none of its records is chained yet.
			const a = await numberedUses('a', {
				N8N_SECRETS_FAULT_POINT: 'audit.ingest.before-commit@2',
			});
			expect(a.signal).toBe('SIGKILL');
			expect(a.acknowledged).toBeGreaterThan(0);
			const pid = Number(/killing process (\d+)/.exec(a.err)![1]);
			const [file] = filesOf(pid);
			rmSync(join(journalDir(), file));

			const reopened = await t.open();
			expect(await usesOf(reopened, 'worker-a')).toEqual([]);
			const [alarm] = (await reopened.listAudit(t.admin, { outcome: 'failure' })).items;
			expect(alarm.reason).toContain(
				`audit journal file ${file} was deleted before all its records were chained`,
			);
			const verified = await reopened.verifyAudit(t.admin);
			expect(verified).toMatchObject({ ok: true, integrityAlarms: 1 });
		},
	);
});

describe('what verify does not catch in the journal (docs/ARCHITECTURE.md)', () => {
	itSqlite(
		'a deleted journal row has its records chained twice: duplicates, nothing lost',
		async () => {
			const use = () => t.service.use(operator, { name: 'shared', environment: 'production' });
			for (let i = 0; i < 3; i++) await use();
			await t.service.ingestJournal();
			await t.sql('DELETE FROM audit_journals');
			await t.service.ingestJournal();
			const uses = (await t.service.listAudit(t.admin, { action: 'use', limit: 100 })).items;
			expect(uses).toHaveLength(6);
			expect(new Set(uses.map((e) => e.id)).size).toBe(3);
			expect(await t.service.verifyAudit(t.admin)).toMatchObject({ ok: true });
		},
	);
});

describe('a full disk under the journal', () => {
	const root = process.getuid?.() === 0;
	if (STORE_KIND === 'sqlite' && !root && process.env.CI === 'true')
		throw new Error(
			'audit-durability.test.ts: the full-disk journal test needs root; in CI it must run.',
		);
	// A real tmpfs of 64 KiB mounted as the journal folder (the database stays on the normal disk, so
	// the refused use is itself audited there). On PostgreSQL (no journal) it does not exist; without
	// root it is skipped (and reported as skipped).
	(root ? itSqlite : STORE_KIND === 'sqlite' ? it.skip : itSqlite)(
		'refuses the use whose record does not fit with STORE_FULL, cuts the torn record off, and loses nothing once space is freed',
		async () => {
			const dir = journalDir();
			mkdirSync(dir, { recursive: true, mode: 0o700 });
			execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k,mode=0700', 'tmpfs', dir]);
			const s = await t.open();
			try {
				const use = (n: number) =>
					s.use(
						{ token: operator.token, context: { workflowId: 'full', executionId: String(n) } },
						{ name: 'shared', environment: 'production' },
					);
				await use(1);
				// Fill the file system to the last byte.
				const filler = join(dir, 'filler');
				const fd = openSync(filler, 'w');
				const chunk = Buffer.alloc(1024, 0x78);
				try {
					for (;;) writeSync(fd, chunk);
				} catch (err) {
					expect((err as NodeJS.ErrnoException).code).toBe('ENOSPC');
				} finally {
					closeSync(fd);
				}
				let acknowledged = 1;
				const refused: unknown[] = [];
				for (let n = 2; refused.length < 5 && n < 200; n++) {
					try {
						await use(n);
						if (refused.length > 0)
							throw new Error(`use ${n} succeeded after a refusal on a full disk`);
						acknowledged = n;
					} catch (err) {
						refused.push(err);
					}
				}
				expect(refused).toHaveLength(5);
				for (const err of refused)
					expect(err).toMatchObject({
						code: 'STORE_FULL',
						message: expect.stringContaining(dir),
					});
				// Only whole records in the file: the torn one was cut off.
				const [own] = readdirSync(dir).filter((f) => f.endsWith('.jsonl'));
				const text = readFileSync(join(dir, own), 'utf8');
				expect(text.endsWith('\n')).toBe(true);
				expect(text.split('\n').filter(Boolean)).toHaveLength(acknowledged);

				rmSync(filler);
				for (let n = acknowledged + 1; n <= acknowledged + 20; n++) await use(n);
				const reopened = await t.open();
				const events = await usesOf(reopened, 'full');
				const ok = events.filter((e) => e.outcome === 'success').map((e) => Number(e.executionId));
				expect(ok.sort((x, y) => x - y)).toEqual(
					Array.from({ length: acknowledged + 20 }, (_, i) => i + 1),
				);
				// The refusals are audited (in the database, which had space), and nothing looks tampered.
				expect(events.filter((e) => e.outcome === 'failure').map((e) => e.reason)).toEqual(
					Array(5).fill('STORE_FULL'),
				);
				const verified = await reopened.verifyAudit(t.admin);
				expect(verified).toMatchObject({ ok: true });
				expect(verified.integrityAlarms).toBeUndefined();
				await reopened.close();
			} finally {
				await s.close();
				await t.service.close();
				execFileSync('umount', [dir]);
			}
		},
	);
});
