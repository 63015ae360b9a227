// Archiving the oldest audit events, signed checkpoints kept outside the store, and what the chain
// catches when someone with write access to the database edits the audit tables: one test per line
// of the table in docs/ARCHITECTURE.md ("Audit: what verify catches").
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import type { AuditEvent } from '../../src/core/model';
import { eventHash } from '../../src/service/audit-chain';
import type { CheckpointStatement } from '../../src/service/audit-archive';
import type { SecretsService } from '../../src/service/secrets-service';
import { STORE_KIND, createTestStore, type TestStore } from '../helpers/store';

const WORKER = join(__dirname, '..', 'helpers', 'worker.js');
const DAY = 86_400_000;

let t: TestStore;
let admin: { token: string };

beforeEach(async () => {
	t = await createTestStore();
	// Events on days 0, 5, 10 and 15 of the test clock (which starts two days before the system clock's
	// today, so tokens are valid for child processes too).
	admin = {
		token: (
			await t.service.createToken(t.admin, { subject: 'auditor-admin', role: 'admin', ttl: '90d' })
		).token,
	};
	await t.service.createSecret(admin, { name: 'k', environment: 'production', value: 'v1' });
	for (let i = 0; i < 30; i++) {
		await t.service.use(admin, { name: 'k', environment: 'production' });
		if (i % 10 === 9) {
			t.clock.advanceDays(5);
			await t.service.setValue(admin, { name: 'k', environment: 'production', value: `v${i}` });
		}
	}
	await t.service.ingestJournal();
});

afterEach(() => t.cleanup());

async function allEvents(s: SecretsService = t.service): Promise<AuditEvent[]> {
	const found: AuditEvent[] = [];
	for (let afterSeq = 0; ; ) {
		const page = await s.listAudit(admin, { afterSeq, limit: 1000 });
		found.push(...page.items);
		if (page.items.length < 1000) return found;
		afterSeq = page.items[page.items.length - 1].seq;
	}
}

function archivedEvents(file: string): AuditEvent[] {
	const lines = readFileSync(file, 'utf8').trim().split('\n');
	return lines.slice(1, -1).map((l) => JSON.parse(l) as AuditEvent);
}

const T0 = Date.parse('2026-11-23T12:00:00.000Z');
/** A date `days` after the test clock's start. */
const at = (days: number) => new Date(T0 + days * DAY).toISOString();

describe(`audit archive on ${STORE_KIND}`, () => {
	it('moves the events before a date to a file that verifies alone, and the rest verifies from its checkpoint', async () => {
		const before = await allEvents();
		const cut = at(8);
		const out = join(t.dir, 'audit-1.jsonl');
		const r = await t.service.archiveAudit(admin, { before: cut, out });
		const expected = before.filter((e) => e.time < cut);
		expect(expected.length).toBeGreaterThan(10);
		expect(r).toMatchObject({ archived: expected.length, fromSeq: 1, throughSeq: expected.length });
		expect(archivedEvents(out)).toEqual(expected);

		const after = await allEvents();
		expect(after[0].seq).toBe(expected.length + 1);
		expect(after.slice(0, -1)).toEqual(before.slice(expected.length));
		const last = after[after.length - 1];
		expect(last).toMatchObject({
			action: 'audit.archive',
			actor: 'auditor-admin',
			outcome: 'success',
		});
		expect(last.reason).toContain(r.sha256!);
		expect(await t.service.verifyAudit(admin)).toEqual({
			ok: true,
			events: after.length,
			archivedThrough: expected.length,
		});
		expect(await t.service.verifyArchive(admin, out)).toEqual({
			ok: true,
			events: expected.length,
			fromSeq: 1,
			throughSeq: expected.length,
		});

		// The next archive starts where this one stopped and links to it.
		const out2 = join(t.dir, 'audit-2.jsonl');
		const r2 = await t.service.archiveAudit(admin, { before: at(100), out: out2 });
		expect(r2.fromSeq).toBe(expected.length + 1);
		expect(await t.service.verifyArchive(admin, out2)).toMatchObject({ ok: true });
		expect(await t.service.verifyArchive(admin, out)).toMatchObject({ ok: true });
		expect([...archivedEvents(out), ...archivedEvents(out2)]).toEqual(
			(before as AuditEvent[])
				.concat(after.slice(before.length - expected.length))
				.slice(0, r2.throughSeq),
		);
		expect(await t.service.verifyAudit(admin)).toMatchObject({
			ok: true,
			archivedThrough: r2.throughSeq,
		});
		// Nothing more to archive; an archive whose events are gone from the store is never overwritten.
		expect(await t.service.archiveAudit(admin, { before: at(8), out: out2 })).toEqual({
			archived: 0,
		});
		await t.service.use(admin, { name: 'k', environment: 'production' });
		await expect(
			t.service.archiveAudit(admin, { before: at(100), out: out2 }),
		).rejects.toMatchObject({
			code: 'INVALID_INPUT',
			message: expect.stringContaining('already holds'),
		});
	});

	it('is refused to a limited admin token and to an auditor', async () => {
		const limited = await t.service.createToken(admin, {
			subject: 'limited',
			role: 'admin',
			environments: ['production'],
		});
		const auditor = await t.service.createToken(admin, { subject: 'aud', role: 'auditor' });
		const out = join(t.dir, 'a.jsonl');
		for (const who of [limited, auditor])
			await expect(t.service.archiveAudit(who, { before: at(100), out })).rejects.toMatchObject({
				code: 'ACCESS_DENIED',
			});
		expect(existsSync(out)).toBe(false);
	});

	it('finds an edited archive file on its own', async () => {
		const out = join(t.dir, 'a.jsonl');
		await t.service.archiveAudit(admin, { before: at(8), out });
		const original = readFileSync(out, 'utf8');
		const lines = original.split('\n');
		const edits: [string, (ls: string[]) => void][] = [
			[
				'changed after it was written',
				(ls) => (ls[3] = ls[3].replace(/"actor":"[^"]*"/, '"actor":"someone-else"')),
			],
			['missing or out of place', (ls) => ls.splice(4, 1)],
			[
				'not validly signed',
				(ls) =>
					(ls[ls.length - 2] = ls[ls.length - 2].replace(
						/"time":"[^"]+"/,
						'"time":"2020-01-01T00:00:00.000Z"',
					)),
			],
		];
		for (const [problem, edit] of edits) {
			const ls = [...lines];
			edit(ls);
			writeFileSync(out, ls.join('\n'));
			const r = await t.service.verifyArchive(admin, out);
			expect(r.ok).toBe(false);
			expect(r.problem).toContain(problem);
		}
	});

	describe('stopped at each step, run again with the same arguments', () => {
		const POINTS = [
			'audit.archive.written',
			'audit.archive.renamed',
			'audit.archive.before-commit',
			'audit.archive.committed',
			'audit.archive.pruned-batch',
		];
		for (const point of POINTS) {
			it(`loses nothing and completes (killed at ${point})`, async () => {
				const before = await allEvents();
				await t.service.close();
				const cut = at(8);
				const out = join(t.dir, 'archive.jsonl');
				const child = spawn(process.execPath, [WORKER], {
					env: {
						...process.env,
						...t.storeEnv,
						WORKER_KEY: t.keyBase64,
						WORKER_TOKEN: admin.token,
						WORKER_MODE: 'archive',
						WORKER_BEFORE: cut,
						WORKER_OUT: out,
						N8N_SECRETS_FAULT_POINT: point,
					},
					stdio: ['ignore', 'pipe', 'pipe'],
				});
				let err = '';
				child.stderr.on('data', (d) => (err += d));
				const signal = await new Promise((resolve) => child.on('close', (_c, s) => resolve(s)));
				expect({ signal, err }).toEqual({
					signal: 'SIGKILL',
					err: expect.stringContaining(`fault point ${point} reached`),
				});

				const s = await t.open();
				// Whatever state the kill left, the trail verifies and no event is lost meanwhile.
				expect(await s.verifyAudit(admin)).toMatchObject({ ok: true });
				const r = await s.archiveAudit(admin, { before: cut, out });
				const archived = archivedEvents(out);
				const stored = await allEvents(s);
				const expected = before.filter((e) => e.time < cut);
				expect(archived).toEqual(expected);
				expect(stored.slice(0, before.length - expected.length)).toEqual(
					before.slice(expected.length),
				);
				expect(stored[0].seq).toBe(expected.length + 1);
				// Killed after its commit, the first run already archived: the second finds nothing left.
				expect(r.archived).toBe(
					point === 'audit.archive.committed' || point === 'audit.archive.pruned-batch'
						? 0
						: expected.length,
				);
				expect(await s.verifyAudit(admin)).toMatchObject({
					ok: true,
					archivedThrough: expected.length,
				});
				expect(await s.verifyArchive(admin, out)).toMatchObject({ ok: true });
			});
		}
	});
});

describe(`checkpoints kept outside the store, on ${STORE_KIND}`, () => {
	it('are signed by the tenant and found in the chain until it is rolled back', async () => {
		const statement = await t.service.auditCheckpoint(admin);
		const events = await allEvents();
		expect(statement).toMatchObject({
			type: 'n8n-secrets/audit-checkpoint/v1',
			tenant: 'default',
			seq: events.length,
			hash: events[events.length - 1].hash,
		});
		await t.service.use(admin, { name: 'k', environment: 'production' });
		expect(await t.service.verifyAudit(admin, { checkpoint: statement })).toMatchObject({
			ok: true,
			checkpoint: { seq: statement.seq, found: 'in-store' },
		});
		const forged: CheckpointStatement = { ...statement, seq: statement.seq - 1 };
		expect(await t.service.verifyAudit(admin, { checkpoint: forged })).toMatchObject({
			ok: false,
			brokenAt: { problem: expect.stringContaining('not signed') },
		});
		// Archived past the checkpoint: the store's checkpoint or the archive answers for it.
		await t.service.archiveAudit(admin, { before: at(100), out: join(t.dir, 'a.jsonl') });
		expect(await t.service.verifyAudit(admin, { checkpoint: statement })).toMatchObject({
			ok: true,
			checkpoint: { found: 'archived' },
		});
	});
});

describe(`what verify catches (docs/ARCHITECTURE.md), on ${STORE_KIND}`, () => {
	// Lines "edited event", "removed event", "cut tail", "rewritten chain" are in audit.test.ts.

	it('catches a trail removed whole (every event and the head)', async () => {
		await t.sql("DELETE FROM audit_events WHERE tenant = 'default'");
		await t.sql("DELETE FROM audit_heads WHERE tenant = 'default'");
		const s = await t.open();
		const r = await s.verifyAudit(admin);
		expect(r.ok).toBe(false);
		expect(r.brokenAt!.problem).toContain('whole trail was removed');
	});

	it('does not catch an older sealed head restored after the tail was cut, unless a later checkpoint is checked', async () => {
		const events = await allEvents();
		const [oldHead] = (await t.sql(
			"SELECT seq, hash, dek_id, mac FROM audit_heads WHERE tenant = 'default'",
		)) as {
			seq: number;
			hash: string;
			dek_id: string;
			mac: Uint8Array;
		}[];
		await t.service.use(admin, { name: 'k', environment: 'production' });
		await t.service.use(admin, { name: 'k', environment: 'production' });
		const statement = await t.service.auditCheckpoint(admin);
		// Someone with write access to the database cuts the last events and puts the old head back.
		await t.sql(
			"DELETE FROM audit_events WHERE tenant = 'default' AND seq > ?",
			Number(oldHead.seq),
		);
		await t.sql(
			"UPDATE audit_heads SET seq = ?, hash = ?, dek_id = ?, mac = ? WHERE tenant = 'default'",
			Number(oldHead.seq),
			oldHead.hash,
			oldHead.dek_id,
			oldHead.mac,
		);
		const s = await t.open();
		expect(await s.verifyAudit(admin)).toEqual({ ok: true, events: events.length });
		const r = await s.verifyAudit(admin, { checkpoint: statement });
		expect(r.ok).toBe(false);
		expect(r.brokenAt!.problem).toContain('rolled back');
	});

	it('records a rewritten chain whose head the next write would have re-sealed, and a checkpoint finds the rewrite', async () => {
		const statement = await t.service.auditCheckpoint(admin);
		// Rewrite event 3 and every link after it, and point the head at the new end (its seal is stale).
		const events = await allEvents();
		const edited = events.map((e) => ({ ...e }));
		edited[2].reason = 'rewritten history';
		for (let i = 2; i < edited.length; i++) {
			edited[i].prevHash = edited[i - 1].hash;
			edited[i].hash = eventHash(edited[i]);
			await t.sql(
				"UPDATE audit_events SET reason = COALESCE(?, reason), prev_hash = ?, hash = ? WHERE tenant = 'default' AND seq = ?",
				i === 2 ? edited[i].reason! : (null as unknown as string),
				edited[i].prevHash,
				edited[i].hash,
				edited[i].seq,
			);
		}
		await t.sql(
			"UPDATE audit_heads SET hash = ? WHERE tenant = 'default'",
			edited[edited.length - 1].hash,
		);
		// An ordinary write extends the chain: it must not launder the edit by sealing a new head.
		await t.service.setValue(admin, { name: 'k', environment: 'production', value: 'after' });
		const r = await t.service.verifyAudit(admin);
		expect(r).toMatchObject({ ok: true, integrityAlarms: 1 });
		const [alarm] = (await t.service.listAudit(admin, { outcome: 'failure' })).items;
		expect(alarm.reason).toContain('failed its seal');
		const anchored = await t.service.verifyAudit(admin, { checkpoint: statement });
		expect(anchored.ok).toBe(false);
		expect(anchored.brokenAt!.problem).toContain('rewritten');
	});

	it('catches a trail removed whole and restarted by the next write', async () => {
		await t.sql("DELETE FROM audit_events WHERE tenant = 'default'");
		await t.sql("DELETE FROM audit_heads WHERE tenant = 'default'");
		await t.service.setValue(admin, { name: 'k', environment: 'production', value: 'after' });
		const r = await t.service.verifyAudit(admin);
		expect(r.ok).toBe(false);
		expect(r.brokenAt!.problem).toContain('removed and restarted');
	});

	it('records a deleted head that the next write would have replaced', async () => {
		await t.sql("DELETE FROM audit_heads WHERE tenant = 'default'");
		await t.service.setValue(admin, { name: 'k', environment: 'production', value: 'after' });
		expect(await t.service.verifyAudit(admin)).toMatchObject({ ok: true, integrityAlarms: 1 });
		const [alarm] = (await t.service.listAudit(admin, { outcome: 'failure' })).items;
		expect(alarm.reason).toContain('chain head was missing');
	});

	it('catches the removal of the latest archive checkpoint', async () => {
		await t.service.archiveAudit(admin, { before: at(8), out: join(t.dir, 'a.jsonl') });
		await t.sql("DELETE FROM audit_checkpoints WHERE tenant = 'default'");
		const r = await t.service.verifyAudit(admin);
		expect(r).toMatchObject({ ok: false, brokenAt: { seq: 1, problem: 'event 1 is missing' } });
	});

	it('catches an edited archive checkpoint', async () => {
		await t.service.archiveAudit(admin, { before: at(8), out: join(t.dir, 'a.jsonl') });
		await t.sql("UPDATE audit_checkpoints SET seq = seq + 1 WHERE tenant = 'default'");
		const r = await t.service.verifyAudit(admin);
		expect(r.ok).toBe(false);
		expect(r.brokenAt!.problem).toContain('checkpoint seal');
	});

	it('catches archived events put back after the checkpoint was removed, but not a consistent pair of both', async () => {
		const out = join(t.dir, 'a.jsonl');
		await t.service.archiveAudit(admin, { before: at(8), out });
		const archived = await t.service.verifyArchive(admin, out);
		expect(archived.ok).toBe(true);
		// The archive no longer links to a store whose checkpoint is gone.
		await t.sql("DELETE FROM audit_checkpoints WHERE tenant = 'default'");
		expect(await t.service.verifyArchive(admin, out)).toMatchObject({
			ok: false,
			problem: expect.stringContaining('no checkpoint'),
		});
	});
});
