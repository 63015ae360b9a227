/**
 * Use vs reveal. Each check answers one question about a verified principal; the service calls them
 * before it reads anything, so a denial never depends on whether the secret exists.
 */
import { SecretsError } from '../core/errors';
import { ALL_ENVIRONMENTS, type Principal, type Scope } from '../core/model';
import { matchesAnyGlob } from '../core/matching';

export function hasScope(p: Principal, scope: Scope): boolean {
	return p.scopes.includes('admin') || p.scopes.includes(scope);
}

/**
 * The permission a relayed use needs: `secrets:use` covers it (the stronger right); otherwise the
 * token must have `secrets:relay`.
 */
export function relayScope(p: Principal): Scope {
	return hasScope(p, 'secrets:use') ? 'secrets:use' : 'secrets:relay';
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
