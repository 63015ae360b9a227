import { SecretsError } from '../../src/core/errors';
import {
	ALL_ENVIRONMENTS,
	type Principal,
	ROLES,
	type Role,
	SCOPES,
	type Scope,
} from '../../src/core/model';
import {
	Denial,
	OPERATION_SCOPES,
	type Operation,
	type TokenLimits,
	describeScopes,
	environmentAllowed,
	exceededLimit,
	globCovered,
	hasScope,
	requireConsumer,
	requireEnvironment,
	requireOperation,
	requireScope,
	requireSecret,
	secretAllowed,
	wholeSecretDenial,
} from '../../src/auth/permissions';

function principal(over: Partial<Principal> = {}): Principal {
	return {
		tenant: 'acme',
		subject: 'n8n-prod',
		jti: 'jti-1',
		scopes: [],
		environments: [],
		secrets: [],
		expiresAt: null,
		...over,
	};
}

/** The Denial `fn` threw; fails the test when it threw nothing or something else. */
function denial(fn: () => unknown): Denial {
	try {
		fn();
	} catch (err) {
		expect(err).toBeInstanceOf(Denial);
		expect(err).toBeInstanceOf(SecretsError);
		expect((err as Denial).code).toBe('ACCESS_DENIED');
		return err as Denial;
	}
	throw new Error('expected a Denial, nothing was thrown');
}

describe('hasScope', () => {
	it('holds exactly the scopes listed', () => {
		const p = principal({ scopes: ['secrets:list', 'audit:read'] });
		expect(SCOPES.filter((s) => hasScope(p, s))).toEqual(['secrets:list', 'audit:read']);
	});

	it('gives admin every scope', () => {
		const p = principal({ scopes: ['admin'] });
		expect(SCOPES.filter((s) => hasScope(p, s))).toEqual([...SCOPES]);
	});

	it('gives secrets:use secrets:relay too, and nothing else', () => {
		expect(SCOPES.filter((s) => hasScope(principal({ scopes: ['secrets:use'] }), s))).toEqual([
			'secrets:use',
			'secrets:relay',
		]);
		// Not the other way round: relaying does not let a token take the value itself.
		expect(hasScope(principal({ scopes: ['secrets:relay'] }), 'secrets:use')).toBe(false);
	});

	it('gives no scope to a token without any', () => {
		expect(SCOPES.filter((s) => hasScope(principal(), s))).toEqual([]);
	});
});

/**
 * What each role preset may do, written out by hand: a change to ROLES or to OPERATION_SCOPES that
 * moves a permission shows up here as a changed row, never silently.
 */
const LIST_OPS: Operation[] = [
	'whoami',
	'listSecrets',
	'getSecret',
	'listVersions',
	'expiring',
	'dueForRotation',
	'stats',
];
const WRITE_OPS: Operation[] = [
	'createSecret',
	'updateSecret',
	'setValue',
	'stage',
	'rotate',
	'promote',
	'rollback',
];
const AUDIT_OPS: Operation[] = ['listAudit', 'secretUsage', 'verifyAudit', 'auditCheckpoint'];
const ALLOWED: Record<Role, Operation[]> = {
	viewer: [...LIST_OPS],
	user: [...LIST_OPS, 'use', 'relay'],
	relay: [...LIST_OPS, 'relay'],
	runtime: [...LIST_OPS, 'use', 'resolve', 'relay'],
	operator: [...LIST_OPS, ...WRITE_OPS, 'use', 'relay'],
	revealer: [...LIST_OPS, 'use', 'reveal', 'relay'],
	auditor: [...LIST_OPS, ...AUDIT_OPS],
	admin: Object.keys(OPERATION_SCOPES) as Operation[],
};

describe('role presets against OPERATION_SCOPES', () => {
	const operations = Object.keys(OPERATION_SCOPES) as Operation[];

	it('the table covers every role and every operation', () => {
		expect(Object.keys(ALLOWED).sort()).toEqual(Object.keys(ROLES).sort());
		for (const ops of Object.values(ALLOWED))
			for (const op of ops) expect(operations).toContain(op);
	});

	it.each(Object.keys(ROLES) as Role[])('role %s may do exactly its row of the table', (role) => {
		const p = principal({ scopes: [...ROLES[role]] });
		const may = operations.filter((op) => {
			try {
				requireOperation(p, op, 'do this');
				return true;
			} catch (err) {
				expect(err).toBeInstanceOf(Denial);
				return false;
			}
		});
		expect(may.sort()).toEqual([...ALLOWED[role]].sort());
	});

	it('resolve needs both of its scopes: secrets:use alone or secrets:runtime alone is refused', () => {
		for (const scopes of [['secrets:use'], ['secrets:runtime']] as Scope[][]) {
			const err = denial(() => requireOperation(principal({ scopes }), 'resolve', 'resolve'));
			expect(err.message).toContain(
				scopes[0] === 'secrets:use' ? 'secrets:runtime' : 'secrets:use',
			);
		}
	});

	it('describes the permission of an operation for the docs', () => {
		expect(describeScopes('whoami')).toBe('any valid token');
		expect(describeScopes('resolve')).toBe('secrets:use + secrets:runtime');
		expect(describeScopes('reveal')).toBe('secrets:reveal');
	});
});

describe('requireScope', () => {
	it('names the missing permission and the action, and keeps the reason for the audit trail', () => {
		const err = denial(() =>
			requireScope(principal({ scopes: ['secrets:list'] }), 'secrets:reveal', 'reveal values'),
		);
		expect(err.message).toContain('may not reveal values');
		expect(err.message).toContain('"secrets:reveal"');
		expect(err.auditReason).toBe('missing scope secrets:reveal');
		expect(() =>
			requireScope(principal({ scopes: ['admin'] }), 'secrets:reveal', 'x'),
		).not.toThrow();
	});
});

describe('environment limits', () => {
	it('an empty list means every environment, the all-environments value included', () => {
		for (const env of ['production', 'staging', 'anything', ALL_ENVIRONMENTS])
			expect(environmentAllowed(principal(), env)).toBe(true);
	});

	it('a list allows exactly its environments, compared exactly', () => {
		const p = principal({ environments: ['staging', 'development'] });
		expect(environmentAllowed(p, 'staging')).toBe(true);
		expect(environmentAllowed(p, 'development')).toBe(true);
		for (const env of ['production', 'Staging', 'staging ', 'stag*', ALL_ENVIRONMENTS, ''])
			expect({ env, ok: environmentAllowed(p, env) }).toEqual({ env, ok: false });
	});

	it('a denial names the limit and the environment asked for', () => {
		const p = principal({ environments: ['staging'] });
		const err = denial(() => requireEnvironment(p, 'production'));
		expect(err.message).toContain('limited to staging');
		expect(err.message).toContain('environment "production"');
		expect(err.auditReason).toBe('environment production outside token');
		expect(denial(() => requireEnvironment(p, ALL_ENVIRONMENTS)).message).toContain(
			'the all-environments value',
		);
		expect(() => requireEnvironment(p, 'staging')).not.toThrow();
	});
});

describe('secret-name limits', () => {
	const p = principal({ secrets: ['stripe-*', 'db_?', 'exact'] });

	it('matches names against the globs: * any run, ? one character, the rest literal', () => {
		const allowed = ['stripe-', 'stripe-live', 'stripe-a-b', 'db_1', 'db_x', 'exact'];
		const refused = [
			'stripe',
			'Stripe-live',
			'xstripe-live',
			'db_',
			'db_12',
			'exact2',
			'EXACT',
			'payroll-db',
		];
		for (const name of allowed)
			expect({ name, ok: secretAllowed(p, name) }).toEqual({ name, ok: true });
		for (const name of refused)
			expect({ name, ok: secretAllowed(p, name) }).toEqual({ name, ok: false });
		expect(secretAllowed(principal(), 'anything')).toBe(true);
	});

	it('refuses with a message that names only the secret asked for, not whether it exists', () => {
		const a = denial(() => requireSecret(p, 'payroll-db'));
		const b = denial(() => requireSecret(p, 'no-such-secret'));
		expect(a.message).toBe('This access token may not access secret "payroll-db".');
		expect(b.message).toBe(a.message.replace('payroll-db', 'no-such-secret'));
		// The token's own patterns stay out of the message too.
		expect(a.message).not.toContain('stripe');
		expect(a.auditReason).toBe('name outside token patterns');
	});

	it('requireConsumer refuses a subject outside the consumers with the same message', () => {
		const err = denial(() => requireConsumer(p, 'payroll-db', ['n8n-staging', 'ci-*']));
		expect(err.message).toBe(denial(() => requireSecret(p, 'payroll-db')).message);
		expect(err.message).not.toContain('n8n-staging');
		expect(err.auditReason).toBe('subject n8n-prod not an allowed consumer');
		expect(() => requireConsumer(p, 'x', ['n8n-*'])).not.toThrow();
		expect(() => requireConsumer(p, 'x', [])).not.toThrow();
	});
});

describe('wholeSecretDenial', () => {
	it('names the action, the secret and the limit, and the same text whether the secret exists', () => {
		const p = principal({ environments: ['staging', 'development'] });
		const err = wholeSecretDenial(p, 'stripe-key', 'change the binding');
		expect(err).toBeInstanceOf(Denial);
		expect(err.code).toBe('ACCESS_DENIED');
		expect(err.message).toBe(
			'This access token may not change the binding of secret "stripe-key": that affects every ' +
				'environment of the secret, and the token is limited to staging, development. Use a token ' +
				'for all its environments.',
		);
		expect(err.auditReason).toBe('secret-wide change outside token environments');
		expect(err.message).not.toMatch(/not found|exist/i);
	});
});

describe('globCovered', () => {
	it.each<[string, string, boolean]>([
		['stripe-live', 'stripe-*', true],
		['stripe-*', 'stripe-*', true],
		['stripe-live-*', 'stripe-*', true],
		['stripe-?', 'stripe-*', true],
		['*', '*', true],
		['db_?', 'db_?', true],
		['db_1', 'db_?', true],
		['stripe-*', 'stripe-live', false],
		['*', 'stripe-*', false],
		['stripe*', 'stripe-*', false],
		['db_*', 'db_?', false],
		['db_12', 'db_?', false],
		['stripeXlive', 'stripe.live', false],
		['a', '', false],
	])('%s within %s: %s', (inner, outer, covered) => {
		expect(globCovered(inner, outer)).toBe(covered);
	});
});

describe('exceededLimit', () => {
	const owner = principal({
		scopes: ['secrets:list', 'secrets:use'],
		environments: ['staging', 'development'],
		secrets: ['stripe-*', 'db_?'],
		expiresAt: Date.parse('2027-01-01T00:00:00Z'),
	});
	const within: TokenLimits = {
		scopes: ['secrets:list', 'secrets:relay'],
		environments: ['staging'],
		secrets: ['stripe-live-*', 'db_1'],
		expiresAt: Date.parse('2026-12-31T00:00:00Z'),
	};

	it('is null for a token within every limit (use covers relay)', () => {
		expect(exceededLimit(owner, within)).toBeNull();
		expect(exceededLimit(owner, { ...within, expiresAt: owner.expiresAt })).toBeNull();
		expect(exceededLimit(owner, { ...within, expiresAt: undefined })).toBeNull();
	});

	it.each<[string, Partial<TokenLimits>, string]>([
		['a scope it lacks', { scopes: ['secrets:reveal'] }, 'the "secrets:reveal" permission'],
		['every environment', { environments: [] }, 'all environments'],
		[
			'another environment',
			{ environments: ['staging', 'production'] },
			'environment "production"',
		],
		['every secret', { secrets: [] }, 'all secrets'],
		['a wider pattern', { secrets: ['stripe*'] }, 'secrets "stripe*"'],
		['a name outside', { secrets: ['payroll'] }, 'secrets "payroll"'],
		['a longer life', { expiresAt: Date.parse('2027-01-01T00:00:01Z') }, 'beyond its own expiry'],
		['no expiry', { expiresAt: null }, 'beyond its own expiry (2027-01-01T00:00:00.000Z)'],
	])('names %s', (_case, change, expected) => {
		const reason = exceededLimit(owner, { ...within, ...change });
		expect(reason).toContain(expected);
	});

	it('lets an unlimited admin give anything', () => {
		const admin = principal({ scopes: ['admin'] });
		expect(
			exceededLimit(admin, { scopes: [...SCOPES], environments: [], secrets: [], expiresAt: null }),
		).toBeNull();
	});
});
