/**
 * The GraphQL result types cannot drift from what the service returns: every GraphQL-exposed
 * operation runs through the service's runner on this store, and its real result is parsed with
 * the output schema of src/graphql/outputs.ts, strictly (a field the service adds, drops or types
 * otherwise fails here). Results with their optional parts present (a next cursor, a due item, an
 * expiring token) are parsed too.
 */
import { OUTPUTS, type GraphqlOperationName } from '../../src/graphql/outputs';
import { runScenario } from '../helpers/graphql';
import { createTestStore, type TestStore } from '../helpers/store';

let t: TestStore;

beforeEach(async () => {
	t = await createTestStore();
	t.clock.ms = Date.now();
});

afterEach(async () => {
	await t.cleanup();
});

async function parsed(op: GraphqlOperationName, input: Record<string, unknown>, token = t.admin) {
	const result = await t.service.run(op, token, input);
	const check = OUTPUTS[op].safeParse(result);
	expect({ op, issues: check.success ? [] : check.error.issues }).toEqual({ op, issues: [] });
	return result as never;
}

describe('the GraphQL output types', () => {
	it("describe every operation's real result", async () => {
		const seen = new Set<string>();
		await runScenario(async (op, input) => {
			seen.add(op);
			return parsed(op, input);
		});
		expect([...seen].sort()).toEqual(Object.keys(OUTPUTS).sort());
	});

	it('describe results with their optional parts present', async () => {
		for (const name of ['a-key', 'b-key'])
			await t.service.createSecret(t.admin, {
				name,
				type: 'PASSWORD',
				environment: 'production',
				value: 'v',
				rotationPolicy: 'AUTOMATIC',
				rotationIntervalDays: 1,
			});
		const firstPage: { nextCursor?: string } = await parsed('listSecrets', { limit: 1 });
		expect(firstPage.nextCursor).toEqual(expect.any(String));
		const auditPage: { nextCursor?: string } = await parsed('listAudit', { limit: 1 });
		expect(auditPage.nextCursor).toEqual(expect.any(String));

		t.clock.advanceDays(2);
		const due: unknown[] = await parsed('dueForRotation', {});
		expect(due).toHaveLength(2);
		const stats: { dueForRotation: number } = await parsed('stats', {});
		expect(stats.dueForRotation).toBe(2);

		const issued: { token: string } = await parsed('createToken', {
			subject: 'short-lived',
			role: 'viewer',
			ttl: '1h',
		});
		const me: { expiresAt: string | null } = await parsed('whoami', {}, { token: issued.token });
		expect(me.expiresAt).toEqual(expect.any(String));
	});
});
