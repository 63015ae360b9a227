/**
 * Rows to the domain objects the service hands out, apart from the SQL (tables/). They stay in the
 * store layer, not the service, because repository.ts lists tokens through one (the store never
 * imports the service).
 */
import type {
	EnvironmentLine,
	SecretMetadata,
	TokenInfo,
	VersionInfo,
	VersionLabel,
} from '../core/model';
import { rotationDueAt } from '../core/rotation';
import type { LineRow } from './tables/lines';
import type { SecretRow } from './tables/secrets';
import type { TokenRow } from './tables/tokens';
import type { VersionRow } from './tables/versions';
import type { Unsealed } from './row-seals';

export function labelsOf(line: LineRow, version: number): VersionLabel[] {
	const labels: VersionLabel[] = [];
	if (line.current_version === version) labels.push('current');
	if (line.previous_version === version) labels.push('previous');
	if (line.pending_version === version) labels.push('pending');
	return labels;
}

/**
 * A line as the API shows it. `currentCreatedAt` is when the current version was written (null
 * without a current version); `nextRotationAt` is filled in by `toMetadata`, which knows the policy.
 */
export function toLine(
	line: LineRow,
	currentExpiresAt: string | null,
	currentCreatedAt: string | null,
): EnvironmentLine {
	return {
		environment: line.environment,
		currentVersion: line.current_version,
		previousVersion: line.previous_version,
		pendingVersion: line.pending_version,
		latestVersion: line.latest_version,
		currentSince: line.current_since,
		previousSince: line.previous_since,
		expiresAt: currentExpiresAt,
		// A line whose current version is gone from the join still starts its interval when it became current.
		currentCreatedAt:
			line.current_version === null ? null : (currentCreatedAt ?? line.current_since),
		nextRotationAt: null,
	};
}

/**
 * A secret's metadata. Each line's `nextRotationAt` is when its current value falls due under the
 * secret's policy (AUTOMATIC: rotated; MANUAL: a reminder); the secret's is the earliest of its lines
 * (the ones the caller may see). Null when the policy has no interval, or nothing is current.
 */
export function toMetadata(row: SecretRow, lines: EnvironmentLine[]): SecretMetadata {
	const settings = { policy: row.rotation_policy, intervalDays: row.rotation_interval_days };
	const withDue = lines.map((l) => {
		const dueAt = rotationDueAt(settings, l.currentCreatedAt);
		return { ...l, nextRotationAt: dueAt === null ? null : new Date(dueAt).toISOString() };
	});
	const next = withDue
		.map((l) => l.nextRotationAt)
		.filter((t): t is string => t !== null)
		.sort()[0];
	return {
		id: row.id,
		name: row.name,
		type: row.type,
		description: row.description,
		tags: JSON.parse(row.tags) as string[],
		rotationPolicy: row.rotation_policy,
		rotationIntervalDays: row.rotation_interval_days,
		allowedHosts: JSON.parse(row.allowed_hosts) as string[],
		allowedConsumers: JSON.parse(row.allowed_consumers) as string[],
		maxVersions: row.max_versions,
		previousWindowDays: row.previous_window_days,
		createdAt: row.created_at,
		createdBy: row.created_by,
		updatedAt: row.updated_at,
		updatedBy: row.updated_by,
		deletedAt: row.deleted_at,
		deletedBy: row.deleted_by,
		nextRotationAt: next ?? null,
		environments: withDue,
	};
}

export function toVersionInfo(row: VersionRow, line: LineRow): VersionInfo {
	return {
		version: row.version,
		environment: row.environment,
		labels: labelsOf(line, row.version),
		createdAt: row.created_at,
		createdBy: row.created_by,
		reason: row.reason,
		notBefore: row.not_before,
		expiresAt: row.expires_at,
		destroyedAt: row.destroyed_at,
	};
}

export function toTokenInfo(r: TokenRow): TokenInfo {
	return {
		jti: r.jti,
		tenant: r.tenant,
		subject: r.subject,
		role: r.role,
		scopes: JSON.parse(r.scopes) as TokenInfo['scopes'],
		environments: JSON.parse(r.environments) as string[],
		secrets: JSON.parse(r.secrets) as string[],
		createdAt: r.created_at,
		createdBy: r.created_by,
		expiresAt: r.expires_at,
		revokedAt: r.revoked_at,
	};
}

/** The row a new token is stored as (the tokens table seals it). */
export function toTokenRow(info: TokenInfo): Unsealed<TokenRow> {
	return {
		jti: info.jti,
		tenant: info.tenant,
		subject: info.subject,
		role: info.role,
		scopes: JSON.stringify(info.scopes),
		environments: JSON.stringify(info.environments),
		secrets: JSON.stringify(info.secrets),
		created_at: info.createdAt,
		created_by: info.createdBy,
		expires_at: info.expiresAt,
		revoked_at: info.revokedAt,
	};
}
