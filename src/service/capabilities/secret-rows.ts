/**
 * Reading secrets as a caller may see them: the one place secret and line rows become metadata, and
 * the checks that a secret is live and that a change reaching every environment is the caller's to make.
 */
import { SecretsError } from '../../core/errors';
import {
	ALL_ENVIRONMENTS,
	type EnvironmentLine,
	type Principal,
	type SecretMetadata,
} from '../../core/model';
import { environmentAllowed, wholeSecretDenial } from '../../auth/permissions';
import { type SecretRow, lines, secrets, toLine, toMetadata } from '../../store/repository';
import type { SqlExecutor } from '../../store/sql';

/** A secret that does not exist: one message wherever a name is looked up. */
export function notFound(name: string): SecretsError {
	return new SecretsError(
		'SECRET_NOT_FOUND',
		`Secret "${name}" does not exist (or was purged). Check the name: names are case-sensitive.`,
	);
}

/** The secret, or SECRET_NOT_FOUND (also for a purged one). */
export async function existingSecret(
	x: SqlExecutor,
	tenant: string,
	name: string,
): Promise<SecretRow> {
	const row = await secrets.byName(x, tenant, name);
	if (!row) throw notFound(name);
	return row;
}

/** The secret, which must exist and not be deleted. */
export async function liveSecret(x: SqlExecutor, tenant: string, name: string): Promise<SecretRow> {
	const row = await secrets.byName(x, tenant, name);
	if (!row) throw notFound(name);
	if (row.deleted_at) {
		throw new SecretsError(
			'SECRET_DELETED',
			`Secret "${name}" was deleted on ${row.deleted_at}. Restore it with \`n8n-secrets secret restore ${name}\` to use it again.`,
		);
	}
	return row;
}

/**
 * A secret's metadata as `p` may see it: only the environment lines the token may act in (and the
 * line shared by all environments, which serves the token's own environments too).
 */
export async function metadata(
	x: SqlExecutor,
	row: SecretRow,
	p: Principal,
): Promise<SecretMetadata> {
	return (await metadataOf(x, [row], p))[0];
}

/**
 * The metadata of several secrets of `p`'s tenant (a page of a listing) from one read of all their
 * lines, each joined with its current version's expiry.
 */
export async function metadataOf(
	x: SqlExecutor,
	rows: readonly SecretRow[],
	p: Principal,
): Promise<SecretMetadata[]> {
	const bySecret = new Map<string, EnvironmentLine[]>(rows.map((r) => [r.id, []]));
	for (const { line, currentExpiresAt, currentCreatedAt } of await lines.ofSecrets(
		x,
		p.tenant,
		rows.map((r) => r.id),
	)) {
		if (line.environment !== ALL_ENVIRONMENTS && !environmentAllowed(p, line.environment)) continue;
		bySecret.get(line.secret_id)?.push(toLine(line, currentExpiresAt, currentCreatedAt));
	}
	return rows.map((r) => toMetadata(r, bySecret.get(r.id)!));
}

/** For changes that reach every environment of a secret: the token must cover all of them. */
export async function requireWholeSecret(
	x: SqlExecutor,
	p: Principal,
	row: SecretRow,
	action: string,
): Promise<void> {
	if (!(await coversWholeSecret(x, p, row))) throw wholeSecretDenial(p, row.name, action);
}

/** Whether `p` may act in every environment the secret has a value in. */
export async function coversWholeSecret(
	x: SqlExecutor,
	p: Principal,
	row: SecretRow,
): Promise<boolean> {
	if (p.environments.length === 0) return true;
	return (await lines.ofSecret(x, row.tenant, row.id)).every((l) =>
		environmentAllowed(p, l.environment),
	);
}
