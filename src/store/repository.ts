/**
 * Every query the service runs, in one place, each taking the executor of the transaction it belongs to.
 * Every query on tenant data filters by tenant: isolation does not depend on the caller remembering.
 */
import type {
	AuditEvent,
	EnvironmentLine,
	RotationPolicy,
	SecretMetadata,
	SecretType,
	TokenInfo,
	VersionInfo,
	VersionLabel,
} from '../core/model';
import type { WrappedDataKey } from '../crypto/keyring';
import { type SqlExecutor, toBuffer } from './sql';

// ---- rows ---------------------------------------------------------------------------------------

export interface SecretRow {
	id: string;
	tenant: string;
	name: string;
	type: SecretType;
	description: string;
	tags: string;
	rotation_policy: RotationPolicy;
	rotation_interval_days: number | null;
	allowed_hosts: string;
	allowed_consumers: string;
	max_versions: number;
	previous_window_days: number;
	created_at: string;
	created_by: string;
	updated_at: string;
	updated_by: string;
	deleted_at: string | null;
	deleted_by: string | null;
}

export interface LineRow {
	secret_id: string;
	tenant: string;
	environment: string;
	current_version: number | null;
	previous_version: number | null;
	pending_version: number | null;
	latest_version: number;
	current_since: string | null;
	previous_since: string | null;
}

export interface VersionRow {
	secret_id: string;
	tenant: string;
	environment: string;
	version: number;
	dek_id: string;
	iv: Uint8Array | null;
	ciphertext: Uint8Array | null;
	mac: Uint8Array | null;
	created_at: string;
	created_by: string;
	reason: string | null;
	not_before: string | null;
	expires_at: string | null;
	destroyed_at: string | null;
}

interface AuditRow {
	tenant: string;
	seq: number | string;
	id: string;
	time: string;
	actor: string;
	token_id: string | null;
	action: string;
	secret: string | null;
	environment: string | null;
	version: number | null;
	outcome: string;
	reason: string | null;
	workflow_id: string | null;
	workflow_name: string | null;
	execution_id: string | null;
	node: string | null;
	mode: string | null;
	destination_host: string | null;
	prev_hash: string;
	hash: string;
}

export interface TokenRow {
	jti: string;
	tenant: string;
	subject: string;
	role: string;
	scopes: string;
	environments: string;
	secrets: string;
	created_at: string;
	created_by: string;
	expires_at: string | null;
	revoked_at: string | null;
}

export interface AuditHeadRow {
	tenant: string;
	seq: number | string;
	hash: string;
	dek_id: string;
	mac: Uint8Array;
}

// ---- mapping ------------------------------------------------------------------------------------

export function labelsOf(line: LineRow, version: number): VersionLabel[] {
	const labels: VersionLabel[] = [];
	if (line.current_version === version) labels.push('current');
	if (line.previous_version === version) labels.push('previous');
	if (line.pending_version === version) labels.push('pending');
	return labels;
}

export function toLine(line: LineRow, currentExpiresAt: string | null): EnvironmentLine {
	return {
		environment: line.environment,
		currentVersion: line.current_version,
		previousVersion: line.previous_version,
		pendingVersion: line.pending_version,
		latestVersion: line.latest_version,
		currentSince: line.current_since,
		previousSince: line.previous_since,
		expiresAt: currentExpiresAt,
	};
}

export function toMetadata(row: SecretRow, lines: EnvironmentLine[]): SecretMetadata {
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
		environments: lines,
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

function toAuditEvent(r: AuditRow): AuditEvent {
	return {
		seq: Number(r.seq),
		id: r.id,
		time: r.time,
		tenant: r.tenant,
		actor: r.actor,
		tokenId: r.token_id,
		action: r.action as AuditEvent['action'],
		secret: r.secret,
		environment: r.environment,
		version: r.version === null ? null : Number(r.version),
		outcome: r.outcome as AuditEvent['outcome'],
		reason: r.reason,
		workflowId: r.workflow_id,
		workflowName: r.workflow_name,
		executionId: r.execution_id,
		node: r.node,
		mode: r.mode,
		destinationHost: r.destination_host,
		prevHash: r.prev_hash,
		hash: r.hash,
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

// ---- keys and tenants ---------------------------------------------------------------------------

export interface MasterKeyRow {
	id: string;
	check_value: Uint8Array;
	kdf_salt: Uint8Array | null;
	state: 'active' | 'retired';
	created_at: string;
	retired_at: string | null;
}

export const masterKeys = {
	all: (x: SqlExecutor) => x.all<MasterKeyRow>('SELECT * FROM master_keys ORDER BY created_at'),
	insert: (x: SqlExecutor, id: string, checkValue: Buffer, salt: Buffer | null, now: string) =>
		x.run(
			"INSERT INTO master_keys (id, check_value, kdf_salt, state, created_at) VALUES (?, ?, ?, 'active', ?)",
			[id, checkValue, salt, now],
		),
	retireAllBut: (x: SqlExecutor, id: string, now: string) =>
		x.run(
			"UPDATE master_keys SET state = 'retired', retired_at = ? WHERE id <> ? AND state = 'active'",
			[now, id],
		),
};

export const tenants = {
	exists: async (x: SqlExecutor, id: string) =>
		(await x.get<{ id: string }>('SELECT id FROM tenants WHERE id = ?', [id])) !== undefined,
	insert: (x: SqlExecutor, id: string, now: string) =>
		x.run('INSERT INTO tenants (id, created_at) VALUES (?, ?)', [id, now]),
	all: (x: SqlExecutor) => x.all<{ id: string }>('SELECT id FROM tenants ORDER BY id'),
};

interface DataKeyRow {
	tenant: string;
	id: string;
	master_key_id: string;
	wrapped: Uint8Array;
	state: 'active' | 'retiring';
}

function toWrapped(r: DataKeyRow): WrappedDataKey {
	return {
		tenant: r.tenant,
		id: r.id,
		masterKeyId: r.master_key_id,
		wrapped: toBuffer(r.wrapped)!,
	};
}

export const dataKeys = {
	get: async (x: SqlExecutor, tenant: string, id: string) => {
		const r = await x.get<DataKeyRow>('SELECT * FROM data_keys WHERE tenant = ? AND id = ?', [
			tenant,
			id,
		]);
		return r && toWrapped(r);
	},
	active: async (x: SqlExecutor, tenant: string) => {
		const r = await x.get<DataKeyRow>(
			"SELECT * FROM data_keys WHERE tenant = ? AND state = 'active'",
			[tenant],
		);
		return r && toWrapped(r);
	},
	all: async (x: SqlExecutor) =>
		(await x.all<DataKeyRow>('SELECT * FROM data_keys ORDER BY tenant, created_at')).map(toWrapped),
	insert: (x: SqlExecutor, k: WrappedDataKey, now: string) =>
		x.run(
			"INSERT INTO data_keys (tenant, id, master_key_id, wrapped, state, created_at) VALUES (?, ?, ?, ?, 'active', ?)",
			[k.tenant, k.id, k.masterKeyId, k.wrapped, now],
		),
	rewrap: (x: SqlExecutor, k: WrappedDataKey) =>
		x.run('UPDATE data_keys SET master_key_id = ?, wrapped = ? WHERE tenant = ? AND id = ?', [
			k.masterKeyId,
			k.wrapped,
			k.tenant,
			k.id,
		]),
	retireActive: (x: SqlExecutor, tenant: string) =>
		x.run("UPDATE data_keys SET state = 'retiring' WHERE tenant = ? AND state = 'active'", [
			tenant,
		]),
	retiring: async (x: SqlExecutor, tenant: string) =>
		(
			await x.all<DataKeyRow>("SELECT * FROM data_keys WHERE tenant = ? AND state = 'retiring'", [
				tenant,
			])
		).map(toWrapped),
	remove: (x: SqlExecutor, tenant: string, id: string) =>
		x.run('DELETE FROM data_keys WHERE tenant = ? AND id = ?', [tenant, id]),
};

export interface SigningKeyRow {
	tenant: string;
	kid: string;
	public_key: string;
	dek_id: string;
	private_iv: Uint8Array;
	private_key: Uint8Array;
	created_at: string;
}

export const signingKeys = {
	get: (x: SqlExecutor, tenant: string, kid: string) =>
		x.get<SigningKeyRow>('SELECT * FROM signing_keys WHERE tenant = ? AND kid = ?', [tenant, kid]),
	latest: (x: SqlExecutor, tenant: string) =>
		x.get<SigningKeyRow>(
			'SELECT * FROM signing_keys WHERE tenant = ? ORDER BY created_at DESC LIMIT 1',
			[tenant],
		),
	byDek: (x: SqlExecutor, tenant: string, dekId: string) =>
		x.all<SigningKeyRow>('SELECT * FROM signing_keys WHERE tenant = ? AND dek_id = ?', [
			tenant,
			dekId,
		]),
	insert: (
		x: SqlExecutor,
		r: Omit<SigningKeyRow, 'private_iv' | 'private_key'> & {
			private_iv: Buffer;
			private_key: Buffer;
		},
	) =>
		x.run(
			'INSERT INTO signing_keys (tenant, kid, public_key, dek_id, private_iv, private_key, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
			[r.tenant, r.kid, r.public_key, r.dek_id, r.private_iv, r.private_key, r.created_at],
		),
	reseal: (x: SqlExecutor, tenant: string, kid: string, dekId: string, iv: Buffer, data: Buffer) =>
		x.run(
			'UPDATE signing_keys SET dek_id = ?, private_iv = ?, private_key = ? WHERE tenant = ? AND kid = ?',
			[dekId, iv, data, tenant, kid],
		),
};

// ---- tokens -------------------------------------------------------------------------------------

export const tokens = {
	get: (x: SqlExecutor, tenant: string, jti: string) =>
		x.get<TokenRow>('SELECT * FROM tokens WHERE tenant = ? AND jti = ?', [tenant, jti]),
	revokedAt: async (x: SqlExecutor, tenant: string, jti: string) => {
		const r = await x.get<{ revoked_at: string | null }>(
			'SELECT revoked_at FROM tokens WHERE tenant = ? AND jti = ?',
			[tenant, jti],
		);
		return r === undefined ? undefined : r.revoked_at;
	},
	insert: (x: SqlExecutor, t: TokenInfo) =>
		x.run(
			'INSERT INTO tokens (jti, tenant, subject, role, scopes, environments, secrets, created_at, created_by, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
			[
				t.jti,
				t.tenant,
				t.subject,
				t.role,
				JSON.stringify(t.scopes),
				JSON.stringify(t.environments),
				JSON.stringify(t.secrets),
				t.createdAt,
				t.createdBy,
				t.expiresAt,
			],
		),
	revoke: (x: SqlExecutor, tenant: string, jti: string, now: string) =>
		x.run('UPDATE tokens SET revoked_at = ? WHERE tenant = ? AND jti = ? AND revoked_at IS NULL', [
			now,
			tenant,
			jti,
		]),
	list: async (x: SqlExecutor, tenant: string) =>
		(
			await x.all<TokenRow>('SELECT * FROM tokens WHERE tenant = ? ORDER BY created_at, jti', [
				tenant,
			])
		).map(toTokenInfo),
};

// ---- secrets, lines and versions ----------------------------------------------------------------

export const secrets = {
	byName: (x: SqlExecutor, tenant: string, name: string) =>
		x.get<SecretRow>('SELECT * FROM secrets WHERE tenant = ? AND name = ?', [tenant, name]),
	insert: async (x: SqlExecutor, r: SecretRow) => {
		await x.run(
			`INSERT INTO secrets (id, tenant, name, type, description, tags, rotation_policy, rotation_interval_days,
        allowed_hosts, allowed_consumers, max_versions, previous_window_days, created_at, created_by, updated_at, updated_by)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			[
				r.id,
				r.tenant,
				r.name,
				r.type,
				r.description,
				r.tags,
				r.rotation_policy,
				r.rotation_interval_days,
				r.allowed_hosts,
				r.allowed_consumers,
				r.max_versions,
				r.previous_window_days,
				r.created_at,
				r.created_by,
				r.updated_at,
				r.updated_by,
			],
		);
		await secrets.writeTags(x, r);
	},
	update: async (x: SqlExecutor, r: SecretRow) => {
		await x.run(
			`UPDATE secrets SET description = ?, tags = ?, rotation_policy = ?, rotation_interval_days = ?, allowed_hosts = ?,
        allowed_consumers = ?, max_versions = ?, previous_window_days = ?, updated_at = ?, updated_by = ?
       WHERE tenant = ? AND id = ?`,
			[
				r.description,
				r.tags,
				r.rotation_policy,
				r.rotation_interval_days,
				r.allowed_hosts,
				r.allowed_consumers,
				r.max_versions,
				r.previous_window_days,
				r.updated_at,
				r.updated_by,
				r.tenant,
				r.id,
			],
		);
		await x.run('DELETE FROM secret_tags WHERE secret_id = ?', [r.id]);
		await secrets.writeTags(x, r);
	},
	writeTags: async (x: SqlExecutor, r: SecretRow) => {
		for (const tag of JSON.parse(r.tags) as string[]) {
			await x.run('INSERT INTO secret_tags (secret_id, tenant, tag) VALUES (?, ?, ?)', [
				r.id,
				r.tenant,
				tag,
			]);
		}
	},
	touch: (x: SqlExecutor, tenant: string, id: string, now: string, by: string) =>
		x.run('UPDATE secrets SET updated_at = ?, updated_by = ? WHERE tenant = ? AND id = ?', [
			now,
			by,
			tenant,
			id,
		]),
	setDeleted: (x: SqlExecutor, tenant: string, id: string, at: string | null, by: string | null) =>
		x.run('UPDATE secrets SET deleted_at = ?, deleted_by = ? WHERE tenant = ? AND id = ?', [
			at,
			by,
			tenant,
			id,
		]),
	remove: async (x: SqlExecutor, tenant: string, id: string) => {
		// Children first: PostgreSQL and SQLite agree on this order whatever their cascade settings.
		await x.run('DELETE FROM versions WHERE tenant = ? AND secret_id = ?', [tenant, id]);
		await x.run('DELETE FROM value_lines WHERE tenant = ? AND secret_id = ?', [tenant, id]);
		await x.run('DELETE FROM secret_tags WHERE tenant = ? AND secret_id = ?', [tenant, id]);
		await x.run('DELETE FROM secrets WHERE tenant = ? AND id = ?', [tenant, id]);
	},
	/** Keyset page ordered by name; the caller filters by token patterns and asks again if needed. */
	page: (
		x: SqlExecutor,
		tenant: string,
		f: {
			after: string;
			prefix?: string;
			tag?: string;
			type?: string;
			environment?: string;
			includeDeleted?: boolean;
			limit: number;
		},
	) => {
		const where = ['s.tenant = ?', 's.name > ?'];
		const params: (string | number)[] = [tenant, f.after];
		if (f.prefix) {
			where.push('substr(s.name, 1, ?) = ?');
			params.push(f.prefix.length, f.prefix);
		}
		if (f.type) {
			where.push('s.type = ?');
			params.push(f.type);
		}
		if (!f.includeDeleted) where.push('s.deleted_at IS NULL');
		if (f.tag) {
			where.push('EXISTS (SELECT 1 FROM secret_tags t WHERE t.secret_id = s.id AND t.tag = ?)');
			params.push(f.tag);
		}
		if (f.environment) {
			where.push(
				'EXISTS (SELECT 1 FROM value_lines l WHERE l.secret_id = s.id AND l.environment = ?)',
			);
			params.push(f.environment);
		}
		params.push(f.limit);
		return x.all<SecretRow>(
			`SELECT s.* FROM secrets s WHERE ${where.join(' AND ')} ORDER BY s.name LIMIT ?`,
			params,
		);
	},
	allLive: (x: SqlExecutor, tenant: string) =>
		x.all<SecretRow>(
			'SELECT * FROM secrets WHERE tenant = ? AND deleted_at IS NULL ORDER BY name',
			[tenant],
		),
	deletedBefore: (x: SqlExecutor, tenant: string, before: string) =>
		x.all<SecretRow>(
			'SELECT * FROM secrets WHERE tenant = ? AND deleted_at IS NOT NULL AND deleted_at < ?',
			[tenant, before],
		),
};

export const lines = {
	get: (x: SqlExecutor, tenant: string, secretId: string, environment: string) =>
		x.get<LineRow>(
			'SELECT * FROM value_lines WHERE tenant = ? AND secret_id = ? AND environment = ?',
			[tenant, secretId, environment],
		),
	ofSecret: (x: SqlExecutor, tenant: string, secretId: string) =>
		x.all<LineRow>(
			'SELECT * FROM value_lines WHERE tenant = ? AND secret_id = ? ORDER BY environment',
			[tenant, secretId],
		),
	allOfTenant: (x: SqlExecutor, tenant: string) =>
		x.all<LineRow & { expires_at: string | null; current_created_at: string | null }>(
			`SELECT l.*, v.expires_at, v.created_at AS current_created_at FROM value_lines l
       LEFT JOIN versions v ON v.secret_id = l.secret_id AND v.environment = l.environment AND v.version = l.current_version
       WHERE l.tenant = ?`,
			[tenant],
		),
	upsert: (x: SqlExecutor, l: LineRow) =>
		x.run(
			`INSERT INTO value_lines (secret_id, tenant, environment, current_version, previous_version, pending_version, latest_version, current_since, previous_since)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (secret_id, environment) DO UPDATE SET current_version = excluded.current_version,
         previous_version = excluded.previous_version, pending_version = excluded.pending_version,
         latest_version = excluded.latest_version, current_since = excluded.current_since, previous_since = excluded.previous_since`,
			[
				l.secret_id,
				l.tenant,
				l.environment,
				l.current_version,
				l.previous_version,
				l.pending_version,
				l.latest_version,
				l.current_since,
				l.previous_since,
			],
		),
};

export const versions = {
	get: (x: SqlExecutor, tenant: string, secretId: string, environment: string, version: number) =>
		x.get<VersionRow>(
			'SELECT * FROM versions WHERE tenant = ? AND secret_id = ? AND environment = ? AND version = ?',
			[tenant, secretId, environment, version],
		),
	ofLine: (x: SqlExecutor, tenant: string, secretId: string, environment: string) =>
		x.all<VersionRow>(
			'SELECT * FROM versions WHERE tenant = ? AND secret_id = ? AND environment = ? ORDER BY version',
			[tenant, secretId, environment],
		),
	insert: (x: SqlExecutor, r: VersionRow) =>
		x.run(
			`INSERT INTO versions (secret_id, tenant, environment, version, dek_id, iv, ciphertext, mac, created_at, created_by, reason, not_before, expires_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			[
				r.secret_id,
				r.tenant,
				r.environment,
				r.version,
				r.dek_id,
				r.iv,
				r.ciphertext,
				r.mac,
				r.created_at,
				r.created_by,
				r.reason,
				r.not_before,
				r.expires_at,
			],
		),
	destroy: (
		x: SqlExecutor,
		tenant: string,
		secretId: string,
		environment: string,
		version: number,
		now: string,
	) =>
		x.run(
			'UPDATE versions SET iv = NULL, ciphertext = NULL, mac = NULL, destroyed_at = ? WHERE tenant = ? AND secret_id = ? AND environment = ? AND version = ? AND destroyed_at IS NULL',
			[now, tenant, secretId, environment, version],
		),
	/** Rows still encrypted under a data key other than `dekId`, for resumable re-encryption. */
	notUnder: (x: SqlExecutor, tenant: string, dekId: string, limit: number) =>
		x.all<VersionRow>(
			'SELECT * FROM versions WHERE tenant = ? AND dek_id <> ? AND ciphertext IS NOT NULL LIMIT ?',
			[tenant, dekId, limit],
		),
	countNotUnder: async (x: SqlExecutor, tenant: string, dekId: string) =>
		Number(
			(await x.get<{ n: number }>(
				'SELECT COUNT(*) AS n FROM versions WHERE tenant = ? AND dek_id <> ? AND ciphertext IS NOT NULL',
				[tenant, dekId],
			))!.n,
		),
	reseal: (
		x: SqlExecutor,
		r: VersionRow,
		dekId: string,
		iv: Buffer,
		ciphertext: Buffer,
		mac: Buffer,
	) =>
		x.run(
			'UPDATE versions SET dek_id = ?, iv = ?, ciphertext = ?, mac = ? WHERE tenant = ? AND secret_id = ? AND environment = ? AND version = ?',
			[dekId, iv, ciphertext, mac, r.tenant, r.secret_id, r.environment, r.version],
		),
	/** Destroyed rows keep their metadata but no longer need a data key. */
	rekeyDestroyed: (x: SqlExecutor, tenant: string, fromDek: string, toDek: string) =>
		x.run('UPDATE versions SET dek_id = ? WHERE tenant = ? AND dek_id = ? AND ciphertext IS NULL', [
			toDek,
			tenant,
			fromDek,
		]),
};

// ---- audit --------------------------------------------------------------------------------------

export const audit = {
	head: (x: SqlExecutor, tenant: string, lock: boolean) =>
		x.get<AuditHeadRow>(`SELECT * FROM audit_heads WHERE tenant = ?${lock ? ' FOR UPDATE' : ''}`, [
			tenant,
		]),
	writeHead: (
		x: SqlExecutor,
		h: { tenant: string; seq: number; hash: string; dekId: string; mac: Buffer },
	) =>
		x.run(
			`INSERT INTO audit_heads (tenant, seq, hash, dek_id, mac) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (tenant) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, dek_id = excluded.dek_id, mac = excluded.mac`,
			[h.tenant, h.seq, h.hash, h.dekId, h.mac],
		),
	insert: (x: SqlExecutor, e: AuditEvent) =>
		x.run(
			`INSERT INTO audit_events (tenant, seq, id, time, actor, token_id, action, secret, environment, version, outcome, reason,
        workflow_id, workflow_name, execution_id, node, mode, destination_host, prev_hash, hash)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			[
				e.tenant,
				e.seq,
				e.id,
				e.time,
				e.actor,
				e.tokenId,
				e.action,
				e.secret,
				e.environment,
				e.version,
				e.outcome,
				e.reason,
				e.workflowId,
				e.workflowName,
				e.executionId,
				e.node,
				e.mode,
				e.destinationHost,
				e.prevHash,
				e.hash,
			],
		),
	/** Events in sequence order, for verification, in bounded batches. */
	range: async (x: SqlExecutor, tenant: string, afterSeq: number, limit: number) =>
		(
			await x.all<AuditRow>(
				'SELECT * FROM audit_events WHERE tenant = ? AND seq > ? ORDER BY seq LIMIT ?',
				[tenant, afterSeq, limit],
			)
		).map(toAuditEvent),
	query: async (
		x: SqlExecutor,
		tenant: string,
		f: {
			secret?: string;
			action?: string;
			actor?: string;
			tokenId?: string;
			outcome?: string;
			workflowId?: string;
			executionId?: string;
			since?: string;
			until?: string;
			afterSeq?: number;
			beforeSeq?: number;
			limit: number;
		},
	) => {
		const where = ['tenant = ?'];
		const params: (string | number)[] = [tenant];
		const eq: [string, string | undefined][] = [
			['secret', f.secret],
			['action', f.action],
			['actor', f.actor],
			['token_id', f.tokenId],
			['outcome', f.outcome],
			['workflow_id', f.workflowId],
			['execution_id', f.executionId],
		];
		for (const [col, v] of eq) {
			if (v !== undefined) {
				where.push(`${col} = ?`);
				params.push(v);
			}
		}
		if (f.since) {
			where.push('time >= ?');
			params.push(f.since);
		}
		if (f.until) {
			where.push('time < ?');
			params.push(f.until);
		}
		if (f.afterSeq !== undefined) {
			where.push('seq > ?');
			params.push(f.afterSeq);
		}
		if (f.beforeSeq !== undefined) {
			where.push('seq < ?');
			params.push(f.beforeSeq);
		}
		// Polling (afterSeq) reads forward; browsing reads newest first.
		const order = f.afterSeq !== undefined ? 'ASC' : 'DESC';
		params.push(f.limit);
		const rows = await x.all<AuditRow>(
			`SELECT * FROM audit_events WHERE ${where.join(' AND ')} ORDER BY seq ${order} LIMIT ?`,
			params,
		);
		return rows.map(toAuditEvent);
	},
};

export const journals = {
	offset: async (x: SqlExecutor, file: string) =>
		Number(
			(
				await x.get<{ ingested_to: number }>(
					'SELECT ingested_to FROM audit_journals WHERE file = ?',
					[file],
				)
			)?.ingested_to ?? 0,
		),
	setOffset: (x: SqlExecutor, file: string, offset: number) =>
		x.run(
			'INSERT INTO audit_journals (file, ingested_to) VALUES (?, ?) ON CONFLICT (file) DO UPDATE SET ingested_to = excluded.ingested_to',
			[file, offset],
		),
	forget: (x: SqlExecutor, file: string) =>
		x.run('DELETE FROM audit_journals WHERE file = ?', [file]),
};
