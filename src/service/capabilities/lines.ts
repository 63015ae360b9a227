/**
 * An environment line's versions: adding an encrypted version, moving the labels, and retention. The
 * operations in versions.ts and secrets.ts compose these inside their transaction.
 */
import { SecretsError } from '../../core/errors';
import type { Principal } from '../../core/model';
import { checkValue } from '../../core/secret-types';
import {
	type LineRow,
	type SecretRow,
	type VersionRow,
	lines,
	secrets,
	versions,
} from '../../store/repository';
import type { SqlExecutor } from '../../store/sql';
import { type Core, DAY_MS } from '../core';
import { activeDataKey } from '../store-keys';

export type LineDeps = Pick<Core, 'iso' | 'now' | 'keyring'>;

export function newLine(row: SecretRow, environment: string): LineRow {
	return {
		secret_id: row.id,
		tenant: row.tenant,
		environment,
		current_version: null,
		previous_version: null,
		pending_version: null,
		latest_version: 0,
		current_since: null,
		previous_since: null,
		// The repository seals every row it writes.
		seal: null,
		seal_key: null,
	};
}

/** The line of an environment, or a new empty one. */
export async function lineOf(
	x: SqlExecutor,
	row: SecretRow,
	environment: string,
): Promise<LineRow> {
	return (await lines.get(x, row.tenant, row.id, environment)) ?? newLine(row, environment);
}

/** Check-and-set: a writer that read an older version number does not silently lose to another. */
export function checkExpected(line: LineRow, expected: number | undefined, name: string): void {
	if (expected !== undefined && expected !== line.latest_version) {
		throw new SecretsError(
			'VERSION_CONFLICT',
			`Secret "${name}" in ${line.environment} is at version ${line.latest_version}, not ${expected}: someone else wrote it first. ` +
				'Read the versions again and retry with the new number.',
			{ details: { expectedVersion: expected, latestVersion: line.latest_version } },
		);
	}
}

/** Encrypts and inserts a new version at latest+1; labels are the caller's business. */
export async function addVersion(
	d: LineDeps,
	tx: SqlExecutor,
	p: Principal,
	row: SecretRow,
	line: LineRow,
	input: { value: string; notBefore?: string; expiresAt?: string; reason?: string },
): Promise<VersionRow> {
	const intrinsic = checkValue(row.type, input.value);
	const notBefore = input.notBefore ?? intrinsic.notBefore ?? null;
	// A certificate cannot be used past its notAfter, whatever expiry the caller asked for.
	const expiresAt =
		input.expiresAt && intrinsic.expiresAt
			? input.expiresAt < intrinsic.expiresAt
				? input.expiresAt
				: intrinsic.expiresAt
			: (input.expiresAt ?? intrinsic.expiresAt ?? null);
	const version = line.latest_version + 1;
	const key = await activeDataKey(tx, d.keyring, p.tenant);
	const enc = key.encryptValue(
		{ tenant: p.tenant, secretId: row.id, environment: line.environment, version },
		input.value,
	);
	const v: VersionRow = {
		secret_id: row.id,
		tenant: p.tenant,
		environment: line.environment,
		version,
		dek_id: key.id,
		iv: enc.iv,
		ciphertext: enc.ciphertext,
		mac: enc.mac,
		created_at: d.iso(),
		created_by: p.subject,
		reason: input.reason ?? null,
		not_before: notBefore,
		expires_at: expiresAt,
		destroyed_at: null,
		seal: null,
	};
	await versions.insert(tx, v);
	line.latest_version = version;
	return v;
}

/** Whether `previous` is past its secret's window and no longer served or restorable. */
export function previousExpired(
	d: Pick<Core, 'now'>,
	row: Pick<SecretRow, 'previous_window_days'>,
	line: Pick<LineRow, 'previous_since'>,
): boolean {
	return (
		line.previous_since !== null &&
		Date.parse(line.previous_since) + row.previous_window_days * DAY_MS <= d.now().getTime()
	);
}

/** Retention: `previous` lives for its window; beyond `maxVersions`, the oldest unlabeled go. */
export async function applyRetention(
	d: LineDeps,
	tx: SqlExecutor,
	row: SecretRow,
	line: LineRow,
): Promise<void> {
	const now = d.iso();
	if (line.previous_version !== null && line.previous_since && previousExpired(d, row, line)) {
		await versions.destroy(tx, row.tenant, row.id, line.environment, line.previous_version, now);
		line.previous_version = null;
		line.previous_since = null;
	}
	const all = await versions.ofLine(tx, row.tenant, row.id, line.environment);
	let live = all.filter((v) => v.destroyed_at === null);
	const labeled = new Set([line.current_version, line.previous_version, line.pending_version]);
	for (const v of live) {
		if (live.length <= row.max_versions) break;
		if (labeled.has(v.version)) continue;
		await versions.destroy(tx, row.tenant, row.id, line.environment, v.version, now);
		live = live.filter((x) => x !== v);
	}
}

/** Retention, then the line and the secret's last-updated stamp are written. */
export async function saveLine(
	d: LineDeps,
	tx: SqlExecutor,
	p: Principal,
	row: SecretRow,
	line: LineRow,
): Promise<void> {
	await applyRetention(d, tx, row, line);
	await lines.upsert(tx, line);
	await secrets.touch(tx, p.tenant, row.id, d.iso(), p.subject);
}

/** `version` becomes current; the old current becomes previous. */
export function promoteInLine(d: Pick<Core, 'iso'>, line: LineRow, version: number): void {
	const now = d.iso();
	if (line.current_version !== null) {
		line.previous_version = line.current_version;
		line.previous_since = now;
	}
	line.current_version = version;
	line.current_since = now;
	if (line.pending_version === version) line.pending_version = null;
}
