/**
 * How many statements list-like reads send to the store: a page of secrets is one read of the secret
 * rows and one of all their lines (each a round trip on PostgreSQL, where a statement per secret and
 * per line made a page of 50 cost 102), and no list costs more as the store grows. Also the resolve
 * row cache's eviction order, seen through the reads a resolution makes.
 */
import type { SecretMetadata } from '../../src/core/model';
import { SecretsService, type ServiceOptions } from '../../src/service/secrets-service';
import { type CountingDriver, countingDriver } from '../helpers/counting-driver';
import { createTestStore, itSqlite, type TestStore } from '../helpers/store';

const DAY_MS = 86_400_000;
const SECRETS = 60;

let t: TestStore;
let admin: { token: string };

const name = (i: number) => `s-${String(i).padStart(2, '0')}`;
const inDays = (days: number) => new Date(t.clock.ms + days * DAY_MS).toISOString();

/**
 * Secret i: a production value expiring in i+1 days, a staging value without expiry; every fifth
 * also a value for all environments; every seventh a staged (not yet current) value in development.
 */
async function seed(from: number, to: number): Promise<void> {
	for (let i = from; i < to; i++) {
		await t.service.createSecret(admin, {
			name: name(i),
			type: 'API_KEY',
			environment: 'production',
			value: `p-${i}`,
			expiresAt: inDays(i + 1),
		});
		await t.service.setValue(admin, { name: name(i), environment: 'staging', value: `s-${i}` });
		if (i % 5 === 0)
			await t.service.setValue(admin, { name: name(i), environment: '*', value: `a-${i}` });
		if (i % 7 === 0)
			await t.service.stage(admin, { name: name(i), environment: 'development', value: `d-${i}` });
	}
}

/** What secret i's lines must be, from how it was seeded (not from another read of the store). */
function expectedLines(i: number, environments?: string[]) {
	const all = [
		...(i % 5 === 0 ? [{ environment: '*', currentVersion: 1, expiresAt: null }] : []),
		...(i % 7 === 0 ? [{ environment: 'development', currentVersion: null, expiresAt: null }] : []),
		{ environment: 'production', currentVersion: 1, expiresAt: inDays(i + 1) },
		{ environment: 'staging', currentVersion: 1, expiresAt: null },
	];
	return all.filter(
		(l) => l.environment === '*' || !environments || environments.includes(l.environment),
	);
}

function shape(items: SecretMetadata[]) {
	return items.map((s) => ({
		name: s.name,
		type: s.type,
		environments: s.environments.map((l) => ({
			environment: l.environment,
			currentVersion: l.currentVersion,
			expiresAt: l.expiresAt,
		})),
	}));
}

function expectedPage(indexes: number[], environments?: string[]) {
	return indexes.map((i) => ({
		name: name(i),
		type: 'API_KEY',
		environments: expectedLines(i, environments),
	}));
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => from + k);

let counted: CountingDriver;
let svc: SecretsService;

async function openCounted(options: ServiceOptions = {}): Promise<void> {
	counted = countingDriver(t.driver());
	// Through the public open path, as any process opens the store.
	svc = await SecretsService.open(counted, t.key, { now: t.clock.now, ...options });
}

/** The statements `fn` sends, after anything a previous call left running has settled. */
async function statementsOf(fn: () => Promise<unknown>): Promise<string[]> {
	await svc.ingestJournal();
	counted.reset();
	await fn();
	return [...counted.statements];
}

/**
 * Of those, the ones that read what was asked for: every operation also reads its token's state
 * (twice on PostgreSQL, where nothing is cached) and, once per process, the token's signing key and
 * the data key that checks the rows' seals.
 */
const reads = (sql: string[]) =>
	sql.filter((s) => !/FROM (tokens|signing_keys|data_keys)\b/.test(s));
const kinds = (sql: string[]) =>
	reads(sql).map((s) =>
		/FROM secrets\b/.test(s) ? 'secrets' : /FROM value_lines\b/.test(s) ? 'lines' : s,
	);

beforeAll(async () => {
	t = await createTestStore();
	admin = t.admin;
	await seed(0, SECRETS);
	await openCounted();
}, 120_000);

afterAll(async () => {
	await svc.close();
	await t.cleanup();
});

describe('a page of secrets', () => {
	it('is one read of its secret rows and one of all their lines, plus the token check', async () => {
		let first: Awaited<ReturnType<SecretsService['listSecrets']>> | undefined;
		const sql = await statementsOf(async () => {
			first = await svc.listSecrets(admin, { limit: 50 });
		});
		expect(shape(first!.items)).toEqual(expectedPage(range(0, 50)));
		expect(first!.nextCursor).toBe(name(49));
		expect(kinds(sql)).toEqual(['secrets', 'lines']);
		expect(sql.length).toBeLessThanOrEqual(6);

		let second: Awaited<ReturnType<SecretsService['listSecrets']>> | undefined;
		const sql2 = await statementsOf(async () => {
			second = await svc.listSecrets(admin, { limit: 50, cursor: first!.nextCursor });
		});
		expect(shape(second!.items)).toEqual(expectedPage(range(50, SECRETS)));
		expect(second!.nextCursor).toBeUndefined();
		expect(kinds(sql2)).toEqual(['secrets', 'lines']);
		expect(sql2.length).toBeLessThanOrEqual(4);
	});

	it('shows a token limited to environments only its lines, at the same cost', async () => {
		const prod = await t.service.createToken(admin, {
			subject: 'prod-reader',
			scopes: ['secrets:list'],
			environments: ['production'],
		});
		let page: Awaited<ReturnType<SecretsService['listSecrets']>> | undefined;
		const sql = await statementsOf(async () => {
			page = await svc.listSecrets(prod, { limit: 20, cursor: name(9) });
		});
		expect(shape(page!.items)).toEqual(expectedPage(range(10, 30), ['production']));
		expect(page!.nextCursor).toBe(name(29));
		expect(kinds(sql)).toEqual(['secrets', 'lines']);
	});

	it('fills a page for a token limited by name with one read of the lines however many rows it skips', async () => {
		const some = await t.service.createToken(admin, {
			subject: 'five-reader',
			scopes: ['secrets:list'],
			secrets: ['s-?5'],
		});
		const pages: string[][] = [];
		let cursor: string | undefined;
		do {
			let page: Awaited<ReturnType<SecretsService['listSecrets']>> | undefined;
			const sql = await statementsOf(async () => {
				page = await svc.listSecrets(some, { limit: 2, cursor });
			});
			expect(shape(page!.items)).toEqual(
				expectedPage(page!.items.map((s) => Number(s.name.slice(2)))),
			);
			// Rows are read in batches until the page is full; their lines once, whatever was skipped.
			const k = kinds(sql);
			expect(k.filter((x) => x === 'lines')).toHaveLength(1);
			expect(k.every((x) => x === 'secrets' || x === 'lines')).toBe(true);
			pages.push(page!.items.map((s) => s.name));
			cursor = page!.nextCursor;
		} while (cursor);
		expect(pages).toEqual([
			['s-05', 's-15'],
			['s-25', 's-35'],
			['s-45', 's-55'],
		]);
	});

	it('answers one secret with two reads too', async () => {
		let one: SecretMetadata | undefined;
		const sql = await statementsOf(async () => {
			one = await svc.getSecret(admin, name(35));
		});
		expect(shape([one!])).toEqual(expectedPage([35]));
		expect(kinds(sql)).toEqual(['secrets', 'lines']);
	});
});

describe('list-like reads', () => {
	it('cost the same number of statements with more secrets in the store', async () => {
		const user = await t.service.createToken(admin, { subject: 'user', role: 'user' });
		const reads: [string, () => Promise<unknown>][] = [
			['list', () => svc.listSecrets(admin, { limit: 1000 })],
			['list (limited)', () => svc.listSecrets(user, { limit: 1000 })],
			['expiring', () => svc.expiring(admin, { withinDays: 365 })],
			['due', () => svc.dueForRotation(admin)],
			['stats', () => svc.stats(admin)],
			['tokens', () => svc.listTokens(admin)],
			['audit', () => svc.listAudit(admin, { limit: 1000 })],
		];
		const before: Record<string, number> = {};
		for (const [what, read] of reads) before[what] = (await statementsOf(read)).length;
		await seed(SECRETS, SECRETS + 25);
		const after: Record<string, number> = {};
		for (const [what, read] of reads) after[what] = (await statementsOf(read)).length;
		expect(after).toEqual(before);
		expect(before.list).toBeLessThanOrEqual(4);
		expect((await svc.listSecrets(admin, { limit: 1000 })).items).toHaveLength(SECRETS + 25);
	}, 120_000);
});

describe('the resolve row cache', () => {
	itSqlite('evicts rows not used lately when full (second chance), not everything', async () => {
		await svc.close();
		await openCounted({ resolveCacheEntries: 3 });
		const user = await t.service.createToken(admin, { subject: 'resolver', role: 'user' });
		/** Whether resolving secret i read its secret row (a cache miss). */
		const missed = async (i: number) => {
			const sql = await statementsOf(() =>
				svc.use(user, { name: name(i), environment: 'staging' }).then((r) => {
					expect(r.value).toBe(`s-${i}`);
				}),
			);
			return sql.some((s) => /FROM secrets\b/.test(s));
		};
		// Nothing commits between these calls but the audit journal's ingest, which leaves rows valid.
		expect([await missed(1), await missed(2), await missed(3)]).toEqual([true, true, true]);
		expect(await missed(1)).toBe(false);
		// Full: 2 is the least recently used (1 was used after it), so 4 takes its place.
		expect(await missed(4)).toBe(true);
		expect([await missed(1), await missed(3), await missed(4)]).toEqual([false, false, false]);
		// 3, 1 and 4 were all used since: each gets a second chance, and the oldest of them (3) goes.
		expect(await missed(2)).toBe(true);
		expect([await missed(1), await missed(4)]).toEqual([false, false]);
		// 1 and 4 were used again, 2 was not: 2 goes for 3, and 1 and 4 stay.
		expect(await missed(3)).toBe(true);
		expect([await missed(1), await missed(4)]).toEqual([false, false]);
		expect(await missed(2)).toBe(true);
	});
});
