/**
 * Use vs reveal. Each check answers one question about a verified principal; the service calls them
 * before it reads anything, so a denial never depends on whether the secret exists.
 */
import { SecretsError } from '../core/errors';
import { ALL_ENVIRONMENTS, type Principal, type Scope } from '../core/model';
import { matchesAnyGlob } from '../core/matching';

/**
 * Whether the principal holds `scope`: `admin` holds every scope, and `secrets:use` (sending a value
 * from one's own code) includes `secrets:relay` (having the server send it).
 */
export function hasScope(p: Principal, scope: Scope): boolean {
	return (
		p.scopes.includes('admin') ||
		p.scopes.includes(scope) ||
		(scope === 'secrets:relay' && p.scopes.includes('secrets:use'))
	);
}

/**
 * The permission each operation needs: the one declaration the service enforces and the route
 * table, the OpenAPI document and the docs show. Every listed scope is required.
 */
export const OPERATION_SCOPES = {
	whoami: [],
	listSecrets: ['secrets:list'],
	getSecret: ['secrets:list'],
	listVersions: ['secrets:list'],
	expiring: ['secrets:list'],
	dueForRotation: ['secrets:list'],
	stats: ['secrets:list'],
	createSecret: ['secrets:write'],
	updateSecret: ['secrets:write'],
	setValue: ['secrets:write'],
	stage: ['secrets:write'],
	rotate: ['secrets:write'],
	promote: ['secrets:write'],
	rollback: ['secrets:write'],
	deleteSecret: ['secrets:delete'],
	restoreSecret: ['secrets:delete'],
	purgeSecret: ['secrets:delete'],
	/** In-process use (embedded mode): the value stays inside the package's own code. */
	use: ['secrets:use'],
	/** `POST /secrets/{name}/resolve`: the value crosses the network to the caller's process. */
	resolve: ['secrets:use', 'secrets:runtime'],
	reveal: ['secrets:reveal'],
	relay: ['secrets:relay'],
	maintenance: ['admin'],
	listAudit: ['audit:read'],
	/** "Used by": which workflows used a secret, from the audit trail. */
	secretUsage: ['audit:read'],
	verifyAudit: ['audit:read'],
	/** A signed statement of the chain's last event, for an auditor to keep outside the store. */
	auditCheckpoint: ['audit:read'],
	/** Moves the oldest events to a file and removes them from the store (CLI on the store's host). */
	archiveAudit: ['admin'],
	listTokens: ['admin'],
	createToken: ['admin'],
	revokeToken: ['admin'],
	rotateDataKeys: ['admin'],
} as const satisfies Record<string, readonly Scope[]>;
export type Operation = keyof typeof OPERATION_SCOPES;

/** The permission text shown for an operation in the docs and the OpenAPI document. */
export function describeScopes(op: Operation): string {
	const scopes: readonly Scope[] = OPERATION_SCOPES[op];
	return scopes.length ? scopes.join(' + ') : 'any valid token';
}

/** A denial, with the reason kept for the audit trail (the caller sees the message, never more). */
export class Denial extends SecretsError {
	constructor(
		message: string,
		readonly auditReason: string,
	) {
		super('ACCESS_DENIED', message);
	}
}

export function requireScope(p: Principal, scope: Scope, action: string): void {
	if (!hasScope(p, scope)) {
		throw new Denial(
			`This access token may not ${action}: it lacks the "${scope}" permission. Use a token with a role that includes it.`,
			`missing scope ${scope}`,
		);
	}
}

/** Checks every scope `op` declares (see OPERATION_SCOPES). */
export function requireOperation(p: Principal, op: Operation, action: string): void {
	for (const scope of OPERATION_SCOPES[op] as readonly Scope[]) requireScope(p, scope, action);
}

export function environmentAllowed(p: Principal, environment: string): boolean {
	return p.environments.length === 0 || p.environments.includes(environment);
}

export function requireEnvironment(p: Principal, environment: string): void {
	if (!environmentAllowed(p, environment)) {
		const which =
			environment === ALL_ENVIRONMENTS
				? 'the all-environments value'
				: `environment "${environment}"`;
		throw new Denial(
			`This access token is limited to ${p.environments.join(', ')} and may not act in ${which}.`,
			`environment ${environment} outside token`,
		);
	}
}

export function secretAllowed(p: Principal, name: string): boolean {
	return matchesAnyGlob(name, p.secrets);
}

/**
 * The same message whether or not the secret exists: a token limited to `stripe-*` learns nothing
 * about `payroll-db`.
 */
export function requireSecret(p: Principal, name: string): void {
	if (!secretAllowed(p, name)) {
		throw new Denial(
			`This access token may not access secret "${name}".`,
			'name outside token patterns',
		);
	}
}

export function requireConsumer(
	p: Principal,
	name: string,
	allowedConsumers: readonly string[],
): void {
	if (!matchesAnyGlob(p.subject, allowedConsumers)) {
		throw new Denial(
			`This access token may not access secret "${name}".`,
			`subject ${p.subject} not an allowed consumer`,
		);
	}
}

/**
 * The refusal of a change that reaches every environment of a secret (its binding, consumers,
 * retention, rotation policy, deletion) to a token that may not act in all the secret's environments.
 */
export function wholeSecretDenial(p: Principal, name: string, action: string): Denial {
	return new Denial(
		`This access token may not ${action} of secret "${name}": that affects every environment of the ` +
			`secret, and the token is limited to ${p.environments.join(', ')}. Use a token for all its environments.`,
		`secret-wide change outside token environments`,
	);
}

/**
 * Whether every name glob `inner` matches is also matched by `outer` (sound, not complete: a `*` in
 * `outer` absorbs any part of `inner`, a `?` stands for one character of `inner` but never its `*`).
 */
export function globCovered(inner: string, outer: string): boolean {
	const body = outer
		.split('')
		.map((ch) =>
			ch === '*' ? '.*' : ch === '?' ? '[^*]' : ch.replace(/[.+^${}()|[\]\\?*]/g, '\\$&'),
		)
		.join('');
	return new RegExp(`^${body}$`).test(inner);
}

/** The limits of a token about to be issued, and of the principal issuing it. */
export interface TokenLimits {
	scopes: readonly Scope[];
	environments: readonly string[];
	secrets: readonly string[];
	/** Epoch milliseconds; null: never expires; undefined: not a limit here (listing, revoking). */
	expiresAt?: number | null;
}

/**
 * What a token may not give away: a token may only mint (or revoke) tokens within its own scopes,
 * environments, name patterns and lifetime. Returns the first limit exceeded, or null.
 */
export function exceededLimit(p: Principal, t: TokenLimits): string | null {
	const scope = t.scopes.find((s) => !hasScope(p, s));
	if (scope) return `the "${scope}" permission, which it does not have`;
	if (p.environments.length > 0) {
		if (t.environments.length === 0) return 'all environments, while it is limited to some';
		const env = t.environments.find((e) => !p.environments.includes(e));
		if (env) return `environment "${env}"`;
	}
	if (p.secrets.length > 0) {
		if (t.secrets.length === 0) return 'all secrets, while it is limited to some names';
		const glob = t.secrets.find((g) => !p.secrets.some((own) => globCovered(g, own)));
		if (glob) return `secrets "${glob}"`;
	}
	if (
		t.expiresAt !== undefined &&
		p.expiresAt !== null &&
		(t.expiresAt === null || t.expiresAt > p.expiresAt)
	)
		return `a lifetime beyond its own expiry (${new Date(p.expiresAt).toISOString()})`;
	return null;
}

/** Whether the token is limited to some environments or secret names. */
export function isLimited(p: Principal): boolean {
	return p.environments.length > 0 || p.secrets.length > 0;
}
