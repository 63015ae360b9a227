/**
 * The permission matrix of the GraphQL API, generated from the operation table: for every
 * GraphQL-exposed operation and every role preset (and token of a single scope) that lacks one of
 * the scopes the operation declares, the GraphQL call is refused with the code, message and status REST gives for the same
 * call, and leaves the same denial in the audit trail. The rule of who holds a scope is written
 * here on its own, not taken from src/auth.
 */
import { OPERATION_SCOPES } from '../../src/auth/permissions';
import { type AuditEvent, ROLES, SCOPES, type Scope } from '../../src/core/model';
import { type Answer, type ApiServer, startApiServer } from '../helpers/api-server';
import {
	FIELDS,
	SCENARIO,
	client,
	comparable,
	graphqlError,
	restRequest,
	runGraphql,
} from '../helpers/graphql';
import { createTestStore, type TestStore } from '../helpers/store';

let t: TestStore;
let api: ApiServer;

/** The role presets, and a token of each single scope (the only way to lack `secrets:list`). */
const HOLDERS: Record<string, readonly Scope[]> = {
	...ROLES,
	...Object.fromEntries(SCOPES.map((s) => [`only-${s.replace(':', '-')}`, [s]])),
};
const tokens: Record<string, string> = {};

beforeAll(async () => {
	t = await createTestStore();
	t.clock.ms = Date.now();
	for (const [holder, scopes] of Object.entries(HOLDERS)) {
		const role = holder in ROLES ? { role: holder as keyof typeof ROLES } : { scopes: [...scopes] };
		tokens[holder] = (
			await t.service.createToken(t.admin, { subject: `${holder}-subject`, ...role, ttl: '1d' })
		).token;
	}
	api = await startApiServer(t);
});

afterAll(async () => {
	await api.close();
	await t.cleanup();
});

/** `admin` holds every scope, and `secrets:use` includes `secrets:relay`. */
function holds(scopes: readonly Scope[], scope: Scope): boolean {
	return (
		scopes.includes('admin') ||
		scopes.includes(scope) ||
		(scope === 'secrets:relay' && scopes.includes('secrets:use'))
	);
}

/** Input of the right shape (a denial comes before anything is read). */
const EARLIER: Record<string, Answer> = {
	createToken: { info: { jti: '5e989655-9651-4144-9008-91497055c435' } },
};

async function newEvents(afterSeq: number): Promise<AuditEvent[]> {
	return (await t.service.listAudit(t.admin, { afterSeq, limit: 1000 })).items;
}

async function lastSeq(): Promise<number> {
	const [head] = (await t.service.listAudit(t.admin, { limit: 1 })).items;
	return head?.seq ?? 0;
}

describe('the GraphQL permission matrix', () => {
	const cells = FIELDS.flatMap((f) =>
		Object.entries(HOLDERS)
			.filter(([, scopes]) =>
				(OPERATION_SCOPES[f.operation] as readonly Scope[]).some((s) => !holds(scopes, s)),
			)
			.map(([holder]) => ({ op: f.operation, holder })),
	);

	it('has a denial for every operation that needs a scope', () => {
		const needing = FIELDS.filter((f) => OPERATION_SCOPES[f.operation].length > 0).map(
			(f) => f.operation,
		);
		expect(new Set(cells.map((c) => c.op))).toEqual(new Set(needing));
	});

	it.each(cells)('$op is refused to $holder as REST refuses it', async ({ op, holder }) => {
		const input = SCENARIO.find((s) => s.op === op)!.input(EARLIER);

		const before = await lastSeq();
		const g = await graphqlError(runGraphql(client(api, tokens[holder]), op, input));
		const graphqlEvents = await newEvents(before);

		const r = restRequest(op, input);
		const between = await lastSeq();
		const rest = await api.call(r.method, r.path, { token: tokens[holder], body: r.body });
		const restEvents = await newEvents(between);

		expect(rest.body.code).toBe('ACCESS_DENIED');
		expect({ status: g.status, code: g.code, message: g.message }).toEqual({
			status: rest.status,
			code: rest.body.code,
			message: rest.body.message,
		});
		expect(graphqlEvents.map(comparable)).toEqual(restEvents.map(comparable));
		expect(graphqlEvents).toEqual([
			expect.objectContaining({ outcome: 'denied', actor: `${holder}-subject` }),
		]);
	});
});
