/**
 * Numbered schema migrations, each applied in its own transaction together with the version bump, so
 * a crash leaves the database at one version or the next, never between. A store refuses to open a
 * database written by a newer release rather than misread it.
 */
import { SecretsError } from '../core/errors';
import type { SqlDriver } from './sql';

interface Migration {
	version: number;
	description: string;
	sql: string;
	/** Statements for PostgreSQL only, each run whole (a function body holds semicolons). */
	postgres?: string[];
}

/**
 * The tables whose rows any process may cache (secrets, values, tokens, keys): every statement that
 * writes one moves the store's change counter, in the writer's own transaction, whoever runs it (the
 * service, a migration, an operator's hand-written SQL). The audit tables do not move it.
 */
const CACHED_TABLES = [
	'meta',
	'master_keys',
	'tenants',
	'data_keys',
	'signing_keys',
	'tokens',
	'secrets',
	'secret_tags',
	'value_lines',
	'versions',
	'key_rotations',
];

const MIGRATIONS: Migration[] = [
	{
		version: 1,
		description: 'secrets, versions, tokens, keys and the audit chain',
		sql: `
CREATE TABLE master_keys (
  id TEXT PRIMARY KEY,
  check_value {{blob}} NOT NULL,
  kdf_salt {{blob}},
  state TEXT NOT NULL,
  created_at TEXT NOT NULL,
  retired_at TEXT
);
CREATE TABLE tenants (
  id TEXT PRIMARY KEY,
  created_at TEXT NOT NULL
);
CREATE TABLE data_keys (
  tenant TEXT NOT NULL REFERENCES tenants(id),
  id TEXT NOT NULL,
  master_key_id TEXT NOT NULL REFERENCES master_keys(id),
  wrapped {{blob}} NOT NULL,
  state TEXT NOT NULL,
  created_at TEXT NOT NULL,
  PRIMARY KEY (tenant, id)
);
CREATE TABLE signing_keys (
  tenant TEXT NOT NULL REFERENCES tenants(id),
  kid TEXT NOT NULL,
  public_key TEXT NOT NULL,
  dek_id TEXT NOT NULL,
  private_iv {{blob}} NOT NULL,
  private_key {{blob}} NOT NULL,
  created_at TEXT NOT NULL,
  PRIMARY KEY (tenant, kid)
);
CREATE TABLE tokens (
  jti TEXT PRIMARY KEY,
  tenant TEXT NOT NULL REFERENCES tenants(id),
  subject TEXT NOT NULL,
  role TEXT NOT NULL,
  scopes TEXT NOT NULL,
  environments TEXT NOT NULL,
  secrets TEXT NOT NULL,
  created_at TEXT NOT NULL,
  created_by TEXT NOT NULL,
  expires_at TEXT,
  revoked_at TEXT
);
CREATE INDEX tokens_by_tenant ON tokens (tenant, created_at);
CREATE TABLE secrets (
  id TEXT PRIMARY KEY,
  tenant TEXT NOT NULL REFERENCES tenants(id),
  name TEXT NOT NULL,
  type TEXT NOT NULL,
  description TEXT NOT NULL,
  tags TEXT NOT NULL,
  rotation_policy TEXT NOT NULL,
  rotation_interval_days INTEGER,
  allowed_hosts TEXT NOT NULL,
  allowed_consumers TEXT NOT NULL,
  max_versions INTEGER NOT NULL,
  previous_window_days INTEGER NOT NULL,
  created_at TEXT NOT NULL,
  created_by TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  updated_by TEXT NOT NULL,
  deleted_at TEXT,
  deleted_by TEXT,
  UNIQUE (tenant, name)
);
CREATE TABLE secret_tags (
  secret_id TEXT NOT NULL REFERENCES secrets(id) ON DELETE CASCADE,
  tenant TEXT NOT NULL,
  tag TEXT NOT NULL,
  PRIMARY KEY (secret_id, tag)
);
CREATE INDEX secret_tags_by_tag ON secret_tags (tenant, tag);
CREATE TABLE value_lines (
  secret_id TEXT NOT NULL REFERENCES secrets(id) ON DELETE CASCADE,
  tenant TEXT NOT NULL,
  environment TEXT NOT NULL,
  current_version INTEGER,
  previous_version INTEGER,
  pending_version INTEGER,
  latest_version INTEGER NOT NULL,
  current_since TEXT,
  previous_since TEXT,
  PRIMARY KEY (secret_id, environment)
);
CREATE TABLE versions (
  secret_id TEXT NOT NULL REFERENCES secrets(id) ON DELETE CASCADE,
  tenant TEXT NOT NULL,
  environment TEXT NOT NULL,
  version INTEGER NOT NULL,
  dek_id TEXT NOT NULL,
  iv {{blob}},
  ciphertext {{blob}},
  mac {{blob}},
  created_at TEXT NOT NULL,
  created_by TEXT NOT NULL,
  reason TEXT,
  not_before TEXT,
  expires_at TEXT,
  destroyed_at TEXT,
  PRIMARY KEY (secret_id, environment, version)
);
CREATE INDEX versions_by_dek ON versions (tenant, dek_id);
CREATE TABLE audit_events (
  tenant TEXT NOT NULL,
  seq {{bigint}} NOT NULL,
  id TEXT NOT NULL,
  time TEXT NOT NULL,
  actor TEXT NOT NULL,
  token_id TEXT,
  action TEXT NOT NULL,
  secret TEXT,
  environment TEXT,
  version INTEGER,
  outcome TEXT NOT NULL,
  reason TEXT,
  workflow_id TEXT,
  workflow_name TEXT,
  execution_id TEXT,
  node TEXT,
  mode TEXT,
  destination_host TEXT,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL,
  PRIMARY KEY (tenant, seq)
);
CREATE INDEX audit_by_secret ON audit_events (tenant, secret, seq);
CREATE INDEX audit_by_time ON audit_events (tenant, time);
CREATE TABLE audit_journals (
  file TEXT PRIMARY KEY,
  ingested_to {{bigint}} NOT NULL
);
CREATE TABLE audit_heads (
  tenant TEXT PRIMARY KEY,
  seq {{bigint}} NOT NULL,
  hash TEXT NOT NULL,
  dek_id TEXT NOT NULL,
  mac {{blob}} NOT NULL
);
`,
	},
	{
		version: 2,
		description: 'row seals (tamper-evident metadata) and the key rotation lease',
		sql: `
ALTER TABLE secrets ADD COLUMN seal {{blob}};
ALTER TABLE secrets ADD COLUMN seal_key TEXT;
ALTER TABLE value_lines ADD COLUMN seal {{blob}};
ALTER TABLE value_lines ADD COLUMN seal_key TEXT;
ALTER TABLE versions ADD COLUMN seal {{blob}};
ALTER TABLE tokens ADD COLUMN seal {{blob}};
ALTER TABLE tokens ADD COLUMN seal_key TEXT;
ALTER TABLE signing_keys ADD COLUMN seal {{blob}};
CREATE TABLE key_rotations (
  tenant TEXT PRIMARY KEY,
  run_id TEXT NOT NULL,
  holder TEXT NOT NULL,
  actor TEXT NOT NULL,
  started_at TEXT NOT NULL,
  heartbeat_at TEXT NOT NULL
)
`,
	},
	{
		version: 3,
		description:
			'audit journal files accounted for, and sealed checkpoints of archived audit events',
		sql: `
ALTER TABLE audit_journals ADD COLUMN state TEXT NOT NULL DEFAULT 'open';
UPDATE audit_journals SET state = 'legacy';
CREATE TABLE audit_checkpoints (
  tenant TEXT NOT NULL,
  seq {{bigint}} NOT NULL,
  hash TEXT NOT NULL,
  prev_seq {{bigint}} NOT NULL,
  archived_at TEXT NOT NULL,
  archive_file TEXT NOT NULL,
  archive_sha256 TEXT NOT NULL,
  dek_id TEXT NOT NULL,
  mac {{blob}} NOT NULL,
  PRIMARY KEY (tenant, seq)
)
`,
	},
	{
		version: 4,
		description: 'indexes for listing secrets by last change and by creation (the Secrets page)',
		sql: `
CREATE INDEX secrets_by_updated ON secrets (tenant, updated_at, name);
CREATE INDEX secrets_by_created ON secrets (tenant, created_at, name)
`,
	},
	{
		version: 5,
		description:
			'a change counter every process can check in the same round trip as its audit record, and audit records awaiting their place in the chain (PostgreSQL)',
		sql: `
CREATE TABLE store_changes (id INTEGER PRIMARY KEY, counter {{bigint}} NOT NULL);
INSERT INTO store_changes (id, counter) VALUES (1, 1);
CREATE TABLE audit_pending (id {{serial}} PRIMARY KEY, record TEXT NOT NULL)
`,
		postgres: [
			// SET search_path FROM CURRENT: the counter of this schema, whatever the writer's search_path.
			`CREATE FUNCTION n8ns_store_changed() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
  UPDATE store_changes SET counter = counter + 1 WHERE id = 1;
  RETURN NULL;
END $$`,
			...CACHED_TABLES.map(
				(t) =>
					`CREATE TRIGGER n8ns_${t}_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON ${t} FOR EACH STATEMENT EXECUTE FUNCTION n8ns_store_changed()`,
			),
		],
	},
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version;

function dialectSql(driver: SqlDriver, sql: string): string {
	const types =
		driver.dialect === 'postgres'
			? { blob: 'BYTEA', bigint: 'BIGINT', serial: 'BIGSERIAL' }
			: { blob: 'BLOB', bigint: 'INTEGER', serial: 'INTEGER' };
	return sql.replace(
		/\{\{(blob|bigint|serial)\}\}/g,
		(_, t: 'blob' | 'bigint' | 'serial') => types[t],
	);
}

/** Brings the database to SCHEMA_VERSION; returns the version it found. */
export async function migrate(driver: SqlDriver): Promise<number> {
	await driver.exec('CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
	let found = 0;
	for (;;) {
		const applied = await driver.transaction(async (tx) => {
			const row = await tx.get<{ value: string }>(
				"SELECT value FROM meta WHERE key = 'schema_version'",
			);
			const current = row ? Number(row.value) : 0;
			if (found === 0) found = current;
			if (current > SCHEMA_VERSION) {
				throw new SecretsError(
					'SCHEMA_TOO_NEW',
					`The secrets store at ${driver.location} was written by a newer n8n-nodes-secrets (schema ` +
						`${current}; this release knows ${SCHEMA_VERSION}). Upgrade the package; nothing was changed.`,
				);
			}
			const next = MIGRATIONS.find((m) => m.version === current + 1);
			if (!next) return false;
			for (const statement of dialectSql(driver, next.sql)
				.split(';')
				.map((s) => s.trim())
				.filter(Boolean)) {
				await tx.run(statement);
			}
			if (driver.dialect === 'postgres')
				for (const statement of next.postgres ?? []) await tx.run(statement);
			await tx.run(
				"INSERT INTO meta (key, value) VALUES ('schema_version', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
				[String(next.version)],
			);
			return true;
		});
		if (!applied) return found;
	}
}

/** The schema version of the database as it is, without changing it (0 for an empty database). */
export async function schemaVersion(driver: SqlDriver): Promise<number> {
	const exists =
		driver.dialect === 'postgres'
			? await driver.get(
					"SELECT 1 AS x FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'meta'",
				)
			: await driver.get("SELECT 1 AS x FROM sqlite_master WHERE type = 'table' AND name = 'meta'");
	if (!exists) return 0;
	const row = await driver.get<{ value: string }>(
		"SELECT value FROM meta WHERE key = 'schema_version'",
	);
	return row ? Number(row.value) : 0;
}
