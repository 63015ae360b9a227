/**
 * Freshness across processes: two services on one store, each with its own connections (as two
 * processes). Each caches resolved rows and token states under the store's change counter (SQLite's
 * data_version; on PostgreSQL a counter moved by statement triggers, checked in the statement that
 * appends the resolution's audit record). A change acknowledged by either, or written by raw SQL
 * behind both, is what the other's very next resolution sees; and every resolution is audited once.
 */
import { Client } from 'pg';

import type { AuditEvent } from '../../src/core/model';
import type { AuditQueryInput, ResolveInput } from '../../src/core/schemas';
import type { Caller } from '../../src/service/api';
import type { SecretsService } from '../../src/service/secrets-service';
import { INGEST_LOCK } from '../../src/store/tables/audit-pending';
import { STORE_KIND, TEST_DATABASE_URL, createTestStore, type TestStore } from '../helpers/store';

/** `it` on PostgreSQL only: for its pending audit table, which SQLite does not have. */
const itPostgres: typeof it =
	STORE_KIND === 'postgres' ? it : ((() => undefined) as unknown as typeof it);

const ENV = 'production';
type Row = Record<string, unknown>;

let t: TestStore;
/** The process whose caches are warm; B changes the store under it. */
let a: SecretsService;
let b: SecretsService;
let admin: { token: string };

beforeEach(async () => {
	t = await createTestStore();
	a = t.service;
	b = await t.open();
	admin = t.admin;
	await b.createSecret(admin, {
		name: 'api-key',
		environment: ENV,
		value: 'v1',
		allowedHosts: ['api.example.com'],
	});
});

afterEach(() => t.cleanup());

const use = (
	svc: SecretsService,
	name = 'api-key',
	extra: Partial<ResolveInput> = {},
	caller: Caller = admin,
) => svc.use(caller, { name, environment: ENV, destinationHost: 'api.example.com', ...extra });

const codeOf = (p: Promise<unknown>) =>
	p.then(
		() => 'resolved',
		(e: { code?: string }) => e.code,
	);

/** Several resolutions, so A's rows (or its failure) are cached before B acts. */
async function warm<T>(fn: () => Promise<T>): Promise<T> {
	for (let i = 0; i < 3; i++) await fn().catch(() => undefined);
	return fn();
}

/** The whole trail, oldest first (listAudit chains pending records before it reads). */
async function trail(svc: SecretsService, filter: AuditQueryInput = {}): Promise<AuditEvent[]> {
	const out: AuditEvent[] = [];
	for (let afterSeq = 0; ; ) {
		const page = (await svc.listAudit(admin, { ...filter, afterSeq, limit: 1000 })).items;
		out.push(...page);
		if (page.length < 1000) return out;
		afterSeq = page[page.length - 1].seq;
	}
}

describe(`a change by one process is the other's next resolution, on ${STORE_KIND}`, () => {
	it('setValue, rotate, promote and rollback by B: served by A on its very next use', async () => {
		expect((await warm(() => use(a))).value).toBe('v1');
		await b.setValue(admin, { name: 'api-key', environment: ENV, value: 'v2' });
		expect(await use(a)).toMatchObject({ value: 'v2', version: 2 });

		await warm(() => use(a));
		await b.rotate(admin, { name: 'api-key', environment: ENV, value: 'v3' });
		expect(await use(a)).toMatchObject({ value: 'v3', version: 3 });

		const pending = () => use(a, 'api-key', { selector: { label: 'pending' } });
		expect(await warm(() => codeOf(pending()))).toBe('VERSION_NOT_FOUND');
		await b.stage(admin, { name: 'api-key', environment: ENV, value: 'v4' });
		expect((await pending()).value).toBe('v4');
		expect((await warm(() => use(a))).value).toBe('v3');
		await b.promote(admin, { name: 'api-key', environment: ENV });
		expect(await use(a)).toMatchObject({ value: 'v4', version: 4 });

		await warm(() => use(a));
		await b.rollback(admin, { name: 'api-key', environment: ENV });
		expect(await use(a)).toMatchObject({ value: 'v3', version: 3 });
	});

	it('resolve and reveal see B’s rotation too, and a pinned label moves with it', async () => {
		const input = { name: 'api-key', environment: ENV, destinationHost: 'api.example.com' };
		expect((await warm(() => a.resolve(admin, input))).value).toBe('v1');
		expect((await warm(() => a.reveal(admin, { name: 'api-key', environment: ENV }))).value).toBe(
			'v1',
		);
		const previous = {
			name: 'api-key',
			environment: ENV,
			selector: { label: 'previous' as const },
		};
		expect(await warm(() => codeOf(a.reveal(admin, previous)))).toBe('VERSION_NOT_FOUND');

		await b.rotate(admin, { name: 'api-key', environment: ENV, value: 'v2' });
		expect((await a.resolve(admin, input)).value).toBe('v2');
		expect((await a.reveal(admin, { name: 'api-key', environment: ENV })).value).toBe('v2');
		expect((await a.reveal(admin, previous)).value).toBe('v1');
	});

	it('the line for all environments (*): rotated, then shadowed by an own line', async () => {
		await b.createSecret(admin, { name: 'smtp', environment: '*', value: 'shared-1' });
		const staging = () => a.use(admin, { name: 'smtp', environment: 'staging' });
		expect(await warm(staging)).toMatchObject({ value: 'shared-1', servedFrom: '*' });

		await b.rotate(admin, { name: 'smtp', environment: '*', value: 'shared-2' });
		expect(await staging()).toMatchObject({ value: 'shared-2', servedFrom: '*' });

		await warm(staging);
		await b.setValue(admin, { name: 'smtp', environment: 'staging', value: 'own' });
		expect(await staging()).toMatchObject({ value: 'own', servedFrom: 'staging' });
	});
});

describe(`a failure A cached is checked again, on ${STORE_KIND}`, () => {
	it('SECRET_NOT_FOUND, then B creates the secret (or the missing line): A’s next use succeeds', async () => {
		expect(await warm(() => codeOf(use(a, 'new-key')))).toBe('SECRET_NOT_FOUND');
		await b.createSecret(admin, { name: 'new-key', environment: ENV, value: 'fresh' });
		expect((await use(a, 'new-key')).value).toBe('fresh');

		const staging = () => a.use(admin, { name: 'new-key', environment: 'staging' });
		expect(await warm(() => codeOf(staging()))).toBe('SECRET_NOT_FOUND');
		await b.setValue(admin, { name: 'new-key', environment: 'staging', value: 'stage-value' });
		expect((await staging()).value).toBe('stage-value');
	});

	it('DESTINATION_NOT_ALLOWED, then B widens allowedHosts: A’s next use succeeds; narrowed: refused', async () => {
		const hooks = () => use(a, 'api-key', { destinationHost: 'hooks.example.org' });
		expect(await warm(() => codeOf(hooks()))).toBe('DESTINATION_NOT_ALLOWED');
		await b.updateSecret(admin, {
			name: 'api-key',
			allowedHosts: ['api.example.com', 'hooks.example.org'],
		});
		expect((await hooks()).value).toBe('v1');

		expect((await warm(() => use(a))).value).toBe('v1');
		await b.updateSecret(admin, { name: 'api-key', allowedHosts: ['hooks.example.org'] });
		expect(await codeOf(use(a))).toBe('DESTINATION_NOT_ALLOWED');
	});
});

describe(`deletions and revocations by B, on ${STORE_KIND}`, () => {
	it('deleted: SECRET_DELETED at once; restored: served; purged: SECRET_NOT_FOUND', async () => {
		await warm(() => use(a));
		await b.deleteSecret(admin, 'api-key');
		expect(await codeOf(use(a))).toBe('SECRET_DELETED');
		await b.restoreSecret(admin, 'api-key');
		expect((await use(a)).value).toBe('v1');

		await warm(() => use(a));
		await b.deleteSecret(admin, 'api-key');
		await b.purgeSecret(admin, 'api-key');
		expect(await codeOf(use(a))).toBe('SECRET_NOT_FOUND');
	});

	it('a token revoked by B is TOKEN_REVOKED on A’s next call, resolution or read', async () => {
		const { token, info } = await b.createToken(admin, { subject: 'runner', role: 'user' });
		const user = { token };
		expect((await warm(() => use(a, 'api-key', {}, user))).value).toBe('v1');
		await warm(() => a.getSecret(user, 'api-key'));
		await b.revokeToken(admin, info.jti);
		expect(await codeOf(use(a, 'api-key', {}, user))).toBe('TOKEN_REVOKED');
		expect(await codeOf(a.getSecret(user, 'api-key'))).toBe('TOKEN_REVOKED');
	});
});

describe(`rows edited by raw SQL behind both processes, on ${STORE_KIND}`, () => {
	/** A different value of the column, as an operator (or attacker) at the database would write. */
	const edits: [string, string, (v: unknown) => unknown][] = [
		['versions', 'ciphertext', (v) => Buffer.from(v as Uint8Array).map((x, i) => (i ? x : x ^ 1))],
		['versions', 'expires_at', () => '2031-01-01T00:00:00.000Z'],
		['secrets', 'allowed_hosts', () => '["*"]'],
		['value_lines', 'current_version', () => 1],
		['tokens', 'revoked_at', () => '2026-11-23T00:00:00.000Z'],
	];

	it.each(edits)(
		'%s.%s edited: A’s next resolution is refused although it had the row cached',
		async (table, column, edit) => {
			await b.rotate(admin, { name: 'api-key', environment: ENV, value: 'v2' });
			const { token, info } = await b.createToken(admin, { subject: 'runner', role: 'user' });
			const user = { token };
			expect((await warm(() => use(a, 'api-key', {}, user))).value).toBe('v2');
			const where = {
				versions: "version = 2 AND environment = 'production'",
				secrets: "name = 'api-key'",
				value_lines: "environment = 'production'",
				tokens: `jti = '${info.jti}'`,
			}[table];
			const [row] = (await t.sql(`SELECT ${column} AS c FROM ${table} WHERE ${where}`)) as Row[];
			await t.sql(`UPDATE ${table} SET ${column} = ? WHERE ${where}`, edit(row.c) as string);
			expect(await codeOf(use(a, 'api-key', {}, user))).toBe('INTEGRITY_ERROR');

			await t.sql(`UPDATE ${table} SET ${column} = ? WHERE ${where}`, row.c as string);
			expect((await use(a, 'api-key', {}, user)).value).toBe('v2');
			const failures = await trail(b, { outcome: 'failure' });
			expect(failures.some((e) => e.reason === 'INTEGRITY_ERROR')).toBe(true);
		},
	);
});

describe(`the audit trail of concurrent resolutions, on ${STORE_KIND}`, () => {
	const caller = (who: string, i: number) => ({
		token: admin.token,
		context: { workflowId: 'wf-fresh', executionId: `${who}-${i}` },
	});

	it('64 uses from each process at once, B rotating among them: each recorded once, chain verifies', async () => {
		const rotations: Promise<unknown>[] = [];
		const uses: Promise<{ id: string; version: number }>[] = [];
		for (let i = 0; i < 64; i++) {
			for (const [who, svc] of [
				['a', a],
				['b', b],
			] as const) {
				const c = caller(who, i);
				uses.push(use(svc, 'api-key', {}, c).then((r) => ({ id: c.context.executionId, ...r })));
			}
			if (i % 16 === 8)
				rotations.push(b.rotate(admin, { name: 'api-key', environment: ENV, value: `r${i}` }));
		}
		const served = await Promise.all(uses);
		await Promise.all(rotations);

		const events = await trail(a, { workflowId: 'wf-fresh' });
		const counts = new Map<string, number>();
		for (const e of events) counts.set(e.executionId!, (counts.get(e.executionId!) ?? 0) + 1);
		expect(events).toHaveLength(128);
		expect([...counts.values()].every((n) => n === 1)).toBe(true);
		const recorded = new Map(events.map((e) => [e.executionId, e]));
		for (const s of served)
			expect(recorded.get(s.id)).toMatchObject({
				action: 'use',
				outcome: 'success',
				version: s.version,
			});
		expect((await a.verifyAudit(admin)).ok).toBe(true);
		expect((await b.verifyAudit(admin)).ok).toBe(true);
	});

	it('uses acknowledged before B’s rotation are chained before its event, later ones after', async () => {
		await Promise.all(
			Array.from({ length: 20 }, (_, i) => use(i % 2 ? a : b, 'api-key', {}, caller('before', i))),
		);
		await b.rotate(admin, { name: 'api-key', environment: ENV, value: 'v2' });
		for (let i = 0; i < 5; i++)
			expect((await use(a, 'api-key', {}, caller('after', i))).value).toBe('v2');

		const events = await trail(b);
		const rotation = events.filter((e) => e.action === 'rotate' && e.secret === 'api-key');
		expect(rotation).toHaveLength(1);
		const seqOf = (prefix: string) =>
			events.filter((e) => e.executionId?.startsWith(prefix)).map((e) => e.seq);
		expect(seqOf('before-')).toHaveLength(20);
		expect(seqOf('after-')).toHaveLength(5);
		expect(Math.max(...seqOf('before-'))).toBeLessThan(rotation[0].seq);
		expect(Math.min(...seqOf('after-'))).toBeGreaterThan(rotation[0].seq);
		expect((await a.verifyAudit(admin)).ok).toBe(true);
	});

	itPostgres(
		'a pending record altered before it is chained: an INTEGRITY_ERROR event, chain verifies',
		async () => {
			// The ingest lock (INGEST_LOCK of store/tables/audit-pending.ts) held here, so no process
			// chains the record before it is altered.
			const holder = new Client({ connectionString: TEST_DATABASE_URL });
			await holder.connect();
			let altered: Row[];
			try {
				await holder.query('BEGIN');
				await holder.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [
					INGEST_LOCK,
					t.schema,
				]);
				await use(a, 'api-key', {}, caller('altered', 0));
				altered = (await t.sql(
					'UPDATE audit_pending SET record = replace(record, \'"altered-0"\', \'"forged-0"\') RETURNING id',
				)) as Row[];
			} finally {
				await holder.query('COMMIT');
				await holder.end();
			}
			expect(altered).toHaveLength(1);

			const events = await trail(b);
			expect(
				events.filter((e) => e.executionId === 'altered-0' || e.executionId === 'forged-0'),
			).toEqual([]);
			const alarm = events.find(
				(e) =>
					e.outcome === 'failure' &&
					e.reason ===
						`INTEGRITY_ERROR: pending audit record ${String(altered[0].id)} failed its seal and was not trusted`,
			);
			expect(alarm).toMatchObject({ actor: 'n8n-secrets', action: 'use' });
			expect((await b.verifyAudit(admin)).ok).toBe(true);
			expect(await t.sql('SELECT count(*)::int AS n FROM audit_pending')).toEqual([{ n: 0 }]);
		},
	);
});

describe(`resolutions under a stream of writes, on ${STORE_KIND}`, () => {
	it('never STORE_BUSY, never older than the newest value acknowledged before the call', async () => {
		// A and B stand for two processes: on SQLite every statement is synchronous, so each loop
		// lets the other run between its calls (a loop of microtasks would hold the event loop).
		const turn = () => new Promise((resolve) => setImmediate(resolve));
		let acknowledged = 1;
		let written = 1;
		const end = Date.now() + 1000;
		const writer = (async () => {
			while (Date.now() < end) {
				const n = ++written;
				if (n % 5 === 0) await b.rotateDataKeys(admin);
				const v = await b.setValue(admin, { name: 'api-key', environment: ENV, value: `s-${n}` });
				expect(v.version).toBe(n);
				acknowledged = n;
				await turn();
			}
		})();
		const problems: string[] = [];
		let resolutions = 0;
		const reader = async () => {
			while (Date.now() < end) {
				const floor = acknowledged;
				try {
					const r = await use(a);
					const n = r.value === 'v1' ? 1 : Number(r.value.slice(2));
					if (n < floor || n > written || r.version !== n)
						problems.push(`served ${n} (version ${r.version}), ${floor} acknowledged before`);
				} catch (err) {
					problems.push(`failed: ${(err as { code?: string }).code ?? String(err)}`);
				}
				resolutions++;
				await turn();
			}
		};
		await Promise.all([writer, reader(), reader(), reader(), reader()]);

		expect(problems).toEqual([]);
		expect(written).toBeGreaterThanOrEqual(4);
		expect(resolutions).toBeGreaterThan(20);
		expect((await use(a)).value).toBe(`s-${acknowledged}`);
		expect((await a.verifyAudit(admin)).ok).toBe(true);
	});
});
