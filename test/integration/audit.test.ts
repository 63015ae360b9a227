import { randomBytes } from 'node:crypto';
import { appendFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import type { AuditEvent } from '../../src/core/model';
import { rawKeyProvider } from '../../src/crypto/master-key';
import { eventHash } from '../../src/service/audit-chain';
import { createTestStore, itSqlite, type TestStore } from '../helpers/store';

let t: TestStore;

beforeEach(async () => {
	t = await createTestStore();
});

afterEach(() => t.cleanup());

async function allEvents(): Promise<AuditEvent[]> {
	return (await t.service.listAudit(t.admin, { afterSeq: 0, limit: 1000 })).items;
}

/** Ten events: create, updates and uses, so there is a middle and an end to tamper with. */
async function someHistory(): Promise<void> {
	await t.service.createSecret(t.admin, {
		name: 'k',
		environment: 'production',
		value: 'history-1',
	});
	for (let i = 2; i <= 4; i++) {
		await t.service.setValue(t.admin, {
			name: 'k',
			environment: 'production',
			value: `history-${i}`,
		});
	}
	for (let i = 0; i < 4; i++)
		await t.service.use(t.admin, { name: 'k', environment: 'production' });
	await t.service.ingestJournal();
}

describe('what the trail records', () => {
	it('writes an event for every kind of operation, and never a value', async () => {
		const s = t.service;
		const values = [
			'AUDIT-CANARY-one',
			'AUDIT-CANARY-two',
			'AUDIT-CANARY-three',
			'AUDIT-CANARY-four',
		];
		await s.createSecret(t.admin, { name: 'k', environment: 'production', value: values[0] });
		await s.setValue(t.admin, { name: 'k', environment: 'production', value: values[1] });
		await s.stage(t.admin, { name: 'k', environment: 'production', value: values[2] });
		await s.promote(t.admin, { name: 'k', environment: 'production' });
		await s.rollback(t.admin, { name: 'k', environment: 'production' });
		await s.rotate(t.admin, { name: 'k', environment: 'production', value: values[3] });
		await s.use(t.admin, { name: 'k', environment: 'production' });
		await s.reveal(t.admin, { name: 'k', environment: 'production' });
		const user = await s.createToken(t.admin, { subject: 'runner', role: 'user' });
		await s.reveal(user, { name: 'k', environment: 'production' }).catch(() => undefined);
		await s.revokeToken(t.admin, user.info.jti);
		await s.deleteSecret(t.admin, 'k');
		await s.restoreSecret(t.admin, 'k');
		await s.deleteSecret(t.admin, 'k');
		await s.purgeSecret(t.admin, 'k');
		await s.rotateMasterKey({
			newKey: rawKeyProvider(randomBytes(32).toString('base64'), 'next'),
		});

		const events = await allEvents();
		expect(new Set(events.map((e) => e.action))).toEqual(
			new Set([
				'create',
				'update',
				'stage',
				'promote',
				'rollback',
				'rotate',
				'use',
				'reveal',
				'deny',
				'token.create',
				'token.revoke',
				'delete',
				'restore',
				'purge',
				'key.rotate',
			]),
		);
		const text = JSON.stringify(events);
		for (const v of values) expect(text).not.toContain(v);
		expect(text).not.toContain(user.token);
		expect((await s.verifyAudit(t.admin)).ok).toBe(true);
	});

	it('numbers events without gaps and links each to the one before', async () => {
		await someHistory();
		const events = await allEvents();
		expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
		for (let i = 1; i < events.length; i++) expect(events[i].prevHash).toBe(events[i - 1].hash);
		expect(await t.service.verifyAudit(t.admin)).toEqual({ ok: true, events: events.length });
	});
});

describe('verify', () => {
	beforeEach(someHistory);

	it('finds an edited event', async () => {
		await t.sql("UPDATE audit_events SET reason = 'nothing to see' WHERE seq = 4");
		const r = await t.service.verifyAudit(t.admin);
		expect(r.ok).toBe(false);
		expect(r.brokenAt).toMatchObject({ seq: 4 });
		expect(r.events).toBe(3);
	});

	it('finds a removed event in the middle', async () => {
		await t.sql('DELETE FROM audit_events WHERE seq = 5');
		const r = await t.service.verifyAudit(t.admin);
		expect(r).toMatchObject({ ok: false, brokenAt: { seq: 5 } });
		expect(r.brokenAt!.problem).toContain('missing');
	});

	it('finds events cut from the end', async () => {
		const last = (await allEvents()).length;
		await t.sql('DELETE FROM audit_events WHERE seq = ?', last);
		const r = await t.service.verifyAudit(t.admin);
		expect(r.ok).toBe(false);
		expect(r.brokenAt!.problem).toContain('removed from the end');
	});

	it('finds a chain rewritten with recomputed hashes, because its head seal no longer matches', async () => {
		const events = await allEvents();
		const edited = events.map((e) => ({ ...e }));
		edited[2].reason = 'rewritten history';
		for (let i = 2; i < edited.length; i++) {
			edited[i].prevHash = edited[i - 1].hash;
			edited[i].hash = eventHash(edited[i]);
		}
		for (const e of edited.slice(2)) {
			await t.sql(
				'UPDATE audit_events SET reason = ?, prev_hash = ?, hash = ? WHERE seq = ?',
				e.reason!,
				e.prevHash,
				e.hash,
				e.seq,
			);
		}
		const last = edited[edited.length - 1];
		await t.sql('UPDATE audit_heads SET seq = ?, hash = ?', last.seq, last.hash);
		const r = await t.service.verifyAudit(t.admin);
		expect(r.ok).toBe(false);
		expect(r.brokenAt!.problem).toContain('seal');
	});
});

describe('the journal of audited uses', () => {
	it('chains every acknowledged use when the store is next opened, even if the process never closed it', async () => {
		await t.service.createSecret(t.admin, {
			name: 'k',
			environment: 'production',
			value: 'journal-value',
		});
		for (let i = 0; i < 25; i++)
			await t.service.use(t.admin, { name: 'k', environment: 'production' });
		// A second process opening the store is how a crashed process's records reach the chain.
		const other = await t.open();
		const uses = (await other.listAudit(t.admin, { action: 'use', limit: 100 })).items;
		expect(uses).toHaveLength(25);
		expect((await other.verifyAudit(t.admin)).ok).toBe(true);
	});

	itSqlite(
		'records a journal line edited before it was chained as an integrity failure',
		async () => {
			await t.service.createSecret(t.admin, {
				name: 'k',
				environment: 'production',
				value: 'journal-value',
			});
			await t.service.use(t.admin, { name: 'k', environment: 'production' });
			const dir = `${t.path}-audit`;
			const file = join(dir, readdirSync(dir)[0]);
			const original = readFileSync(file, 'utf8');
			writeFileSync(file, original.replace('"action":"use"', '"action":"create"'));
			await t.service.use(t.admin, { name: 'k', environment: 'production' });
			appendFileSync(file, 'not a record\n');
			const events = await allEvents();
			const failures = events.filter((e) => e.outcome === 'failure');
			expect(failures).toHaveLength(2);
			for (const f of failures) expect(f.reason).toContain('failed its seal');
			expect(events.filter((e) => e.action === 'use' && e.outcome === 'success')).toHaveLength(1);
			expect((await t.service.verifyAudit(t.admin)).ok).toBe(true);
		},
	);
});

describe('listing', () => {
	beforeEach(async () => {
		await t.service.createSecret(t.admin, {
			name: 'payment-key',
			environment: 'production',
			value: 'pk',
		});
		await t.service.createSecret(t.admin, {
			name: 'other',
			environment: 'production',
			value: 'ok',
		});
		const runner = await t.service.createToken(t.admin, { subject: 'runner', role: 'user' });
		const ctx = (executionId: string) => ({
			workflowId: 'wf-pay',
			workflowName: 'Charge',
			executionId,
			node: 'Pay',
			mode: 'trigger',
		});
		await t.service.use(
			{ token: runner.token, context: ctx('100') },
			{ name: 'payment-key', environment: 'production' },
		);
		t.clock.advanceDays(1);
		await t.service.use(
			{ token: runner.token, context: ctx('101') },
			{ name: 'payment-key', environment: 'production' },
		);
		await t.service.use(
			{ token: runner.token, context: ctx('101') },
			{ name: 'other', environment: 'production' },
		);
	});

	it('answers who used the payment key on a given day, in which workflow run', async () => {
		const day2 = new Date(t.clock.ms).toISOString().slice(0, 10);
		const r = await t.service.listAudit(t.admin, {
			secret: 'payment-key',
			action: 'use',
			since: `${day2}T00:00:00Z`,
			until: `${day2}T23:59:59Z`,
		});
		expect(r.items.map((e) => [e.actor, e.workflowName, e.executionId])).toEqual([
			['runner', 'Charge', '101'],
		]);
	});

	it('filters by actor and execution, and pages newest first', async () => {
		expect((await t.service.listAudit(t.admin, { actor: 'runner' })).items).toHaveLength(3);
		expect(
			(await t.service.listAudit(t.admin, { executionId: '101' })).items.map((e) => e.secret),
		).toEqual(['other', 'payment-key']);
		const seen: number[] = [];
		let cursor: string | undefined;
		do {
			const page = await t.service.listAudit(t.admin, { limit: 2, cursor });
			seen.push(...page.items.map((e) => e.seq));
			cursor = page.nextCursor;
		} while (cursor);
		expect(seen).toEqual([...seen].sort((a, b) => b - a));
		expect(new Set(seen).size).toBe(seen.length);
		expect(seen).toHaveLength((await allEvents()).length);
	});

	it('returns events after a sequence number in ascending order, for polling', async () => {
		const all = await allEvents();
		const after = await t.service.listAudit(t.admin, { afterSeq: all[2].seq, limit: 100 });
		expect(after.items.map((e) => e.seq)).toEqual(all.slice(3).map((e) => e.seq));
	});
});
