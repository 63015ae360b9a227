/**
 * Secrets as metadata: create (with an optional first value), change, read, delete, restore and purge
 * (listing is listing.ts). Permissions and audit come from the operation table through the runner.
 */
import { randomUUID } from 'node:crypto';

import { SecretsError } from '../../core/errors';
import { normalizeHostPattern } from '../../core/matching';
import { DEFAULT_MAX_VERSIONS, DEFAULT_PREVIOUS_WINDOW_DAYS } from '../../core/model';
import { changedRotationSettings, newRotationSettings } from '../../core/rotation';
import { Denial, hasScope } from '../../auth/permissions';
import { generateValue } from '../../crypto/generate';
import { type SecretRow, secrets } from '../../store/repository';
import type { Impl } from '../runner';
import { addVersion, newLine, promoteInLine, saveLine } from './lines';
import { existingSecret, liveSecret, metadata, requireWholeSecret } from './secret-rows';

/** Metadata that decides how every environment's value is served, kept or bound. */
const SECRET_WIDE_FIELDS = [
	'allowedHosts',
	'allowedConsumers',
	'rotationPolicy',
	'rotationIntervalDays',
	'maxVersions',
	'previousWindowDays',
] as const;

/** Metadata that decides where a value may go and who may use it. */
const STEERING_FIELDS = ['allowedHosts', 'allowedConsumers'] as const;

const createSecret: Impl<'createSecret'> = async (c, { p, i }, tx, note) => {
	const rotation = newRotationSettings(i.rotationPolicy, i.rotationIntervalDays);
	const existing = await secrets.byName(tx, p.tenant, i.name);
	if (existing?.deleted_at) {
		throw new SecretsError(
			'SECRET_DELETED',
			`Secret "${i.name}" was deleted on ${existing.deleted_at} and can still be restored. Restore it, or purge it before creating a new one.`,
		);
	}
	if (existing)
		throw new SecretsError(
			'SECRET_EXISTS',
			`Secret "${i.name}" already exists. Set a new value for it instead.`,
		);
	const now = c.iso();
	const row: SecretRow = {
		id: randomUUID(),
		tenant: p.tenant,
		name: i.name,
		type: i.type,
		description: i.description ?? '',
		tags: JSON.stringify(i.tags ?? []),
		rotation_policy: rotation.policy,
		rotation_interval_days: rotation.intervalDays,
		allowed_hosts: JSON.stringify((i.allowedHosts ?? []).map(normalizeHostPattern)),
		allowed_consumers: JSON.stringify(i.allowedConsumers ?? []),
		max_versions: i.maxVersions ?? DEFAULT_MAX_VERSIONS,
		previous_window_days: i.previousWindowDays ?? DEFAULT_PREVIOUS_WINDOW_DAYS,
		created_at: now,
		created_by: p.subject,
		updated_at: now,
		updated_by: p.subject,
		deleted_at: null,
		deleted_by: null,
		seal: null,
		seal_key: null,
	};
	await secrets.insert(tx, row);
	if (i.environment !== undefined) {
		const value = i.value ?? generateValue(i.generate!.length, i.generate!.alphabet);
		const line = newLine(row, i.environment);
		const v = await addVersion(c, tx, p, row, line, { ...i, value });
		promoteInLine(c, line, v.version);
		await saveLine(c, tx, p, row, line);
		note.version = v.version;
	}
	return metadata(tx, row, p);
};

const updateSecret: Impl<'updateSecret'> = async (c, { p, i }, tx, note) => {
	const row = await liveSecret(tx, p.tenant, i.name);
	// Only the description and tags are one environment's business as much as another's.
	const wide = SECRET_WIDE_FIELDS.filter((f) => i[f] !== undefined);
	// Whoever decides where a value may go, or who may use it, can steer it to itself (bind it to its
	// own server, then relay it there): that is as much as reading it.
	const steering = STEERING_FIELDS.filter((f) => i[f] !== undefined);
	if (steering.length > 0 && !hasScope(p, 'secrets:reveal'))
		throw new Denial(
			`This access token may not change ${steering.join(' or ')} of secret "${i.name}": deciding where a ` +
				'value may be sent, or who may use it, is as good as reading it, so it needs the "secrets:reveal" ' +
				'permission too (the revealer or admin role).',
			`change ${steering.join(', ')} without secrets:reveal`,
		);
	if (wide.length > 0) await requireWholeSecret(tx, p, row, `change ${wide.join(', ')}`);
	const changed: string[] = [];
	const set = <K extends keyof SecretRow>(
		field: string,
		key: K,
		value: SecretRow[K] | undefined,
	) => {
		if (value !== undefined && value !== row[key]) {
			row[key] = value;
			changed.push(field);
		}
	};
	set('description', 'description', i.description);
	set('tags', 'tags', i.tags && JSON.stringify(i.tags));
	// Checked only when changed: a row from before policies were checked keeps working as is.
	if (i.rotationPolicy !== undefined || i.rotationIntervalDays !== undefined) {
		const rotation = changedRotationSettings(
			{ policy: row.rotation_policy, intervalDays: row.rotation_interval_days },
			i.rotationPolicy,
			i.rotationIntervalDays,
		);
		set('rotationPolicy', 'rotation_policy', rotation.policy);
		set('rotationIntervalDays', 'rotation_interval_days', rotation.intervalDays);
	}
	set(
		'allowedHosts',
		'allowed_hosts',
		i.allowedHosts && JSON.stringify(i.allowedHosts.map(normalizeHostPattern)),
	);
	set(
		'allowedConsumers',
		'allowed_consumers',
		i.allowedConsumers && JSON.stringify(i.allowedConsumers),
	);
	set('maxVersions', 'max_versions', i.maxVersions);
	set('previousWindowDays', 'previous_window_days', i.previousWindowDays);
	row.updated_at = c.iso();
	row.updated_by = p.subject;
	await secrets.update(tx, row);
	note.reason = changed.length ? `metadata: ${changed.join(', ')}` : 'metadata: no change';
	return metadata(tx, row, p);
};

const getSecret: Impl<'getSecret'> = async (_c, { p, i }, x) =>
	metadata(x, await existingSecret(x, p.tenant, i.name), p);

const deleteSecret: Impl<'deleteSecret'> = async (c, { p, i }, tx) => {
	const row = await liveSecret(tx, p.tenant, i.name);
	await requireWholeSecret(tx, p, row, 'delete');
	row.deleted_at = c.iso();
	await secrets.setDeleted(tx, p.tenant, row.id, row.deleted_at, p.subject);
	return metadata(tx, row, p);
};

const restoreSecret: Impl<'restoreSecret'> = async (_c, { p, i }, tx) => {
	const row = await existingSecret(tx, p.tenant, i.name);
	if (!row.deleted_at)
		throw new SecretsError('SECRET_NOT_DELETED', `Secret "${i.name}" is not deleted.`);
	await requireWholeSecret(tx, p, row, 'restore');
	row.deleted_at = null;
	await secrets.setDeleted(tx, p.tenant, row.id, null, null);
	return metadata(tx, row, p);
};

/** Erases a deleted secret for good: ciphertext, versions and metadata. Its audit history stays. */
const purgeSecret: Impl<'purgeSecret'> = async (_c, { p, i }, tx) => {
	const row = await existingSecret(tx, p.tenant, i.name);
	if (!row.deleted_at)
		throw new SecretsError(
			'SECRET_NOT_DELETED',
			`Secret "${i.name}" must be deleted before it can be purged.`,
		);
	await requireWholeSecret(tx, p, row, 'purge');
	await secrets.remove(tx, p.tenant, row.id);
	return { purged: i.name };
};

export const SECRETS = {
	createSecret,
	updateSecret,
	getSecret,
	deleteSecret,
	restoreSecret,
	purgeSecret,
};
