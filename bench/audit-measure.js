// Run after `npm run build`: node bench/audit-measure.js (N=50000 uses; KINDS=sqlite,postgres).
// Bytes per audited resolution in the store, and archive throughput, on SQLite and PostgreSQL.
const { SecretsService } = require('../dist/src/service/secrets-service');
const { SqliteDriver } = require('../dist/src/store/sqlite/sqlite-driver');
const { PostgresDriver } = require('../dist/src/store/postgres/postgres-driver');
const { rawKeyProvider } = require('../dist/src/crypto/master-key');
const { randomBytes } = require('crypto');
const fs = require('fs');
const { Client } = require('pg');
const N = Number(process.env.N || 50000);
const URL = 'postgres://postgres@127.0.0.1:5432/test';

async function pg(sql) { const c = new Client({ connectionString: URL }); await c.connect(); try { return (await c.query(sql)).rows; } finally { await c.end(); } }

async function run(kind) {
  const key = rawKeyProvider(randomBytes(32).toString('base64'), 'k');
  const dir = fs.mkdtempSync(require('os').tmpdir() + '/n8n-secrets-audit-measure-');
  const schema = `m_${randomBytes(4).toString('hex')}`;
  if (kind === 'postgres') await pg(`CREATE SCHEMA ${schema}`);
  const driver = () => kind === 'sqlite' ? new SqliteDriver(`${dir}/secrets.db`) : new PostgresDriver(URL, { schema, poolSize: 4 });
  const { service, token } = await SecretsService.init(driver(), key, {});
  const admin = { token };
  await service.createSecret(admin, { name: 'k', environment: 'production', value: 'v' });
  const ctx = { workflowId: 'wf-123456', workflowName: 'Charge customer', executionId: '1234567', node: 'HTTP Request', mode: 'trigger' };
  const size = async () => kind === 'sqlite'
    ? (await service.ingestJournal(), fs.statSync(`${dir}/secrets.db`).size + (fs.existsSync(`${dir}/secrets.db-wal`) ? fs.statSync(`${dir}/secrets.db-wal`).size : 0))
    : Number((await pg(`SELECT pg_total_relation_size('${schema}.audit_events') AS n`))[0].n);
  if (kind === 'sqlite') { await service.ingestJournal(); }
  const s0 = kind === 'sqlite' ? (await checkpointSqlite(dir), await size()) : await size();
  for (let i = 0; i < N; i++) {
    await service.use({ token, context: ctx }, { name: 'k', environment: 'production' });
    if (i % 2000 === 0) await new Promise((r) => setImmediate(r));
  }
  await service.ingestJournal();
  if (kind === 'sqlite') await checkpointSqlite(dir);
  const s1 = await size();
  const t0 = Date.now();
  const r = await service.archiveAudit(admin, { before: new Date(Date.now() + 86400000).toISOString(), out: `${dir}/archive.jsonl` });
  const ms = Date.now() - t0;
  const fileBytes = fs.statSync(`${dir}/archive.jsonl`).size;
  const v = await service.verifyArchive(admin, `${dir}/archive.jsonl`);
  console.log(JSON.stringify({ kind, uses: N, storeBytesPerUse: Math.round((s1 - s0) / N), archived: r.archived, archiveMs: ms, eventsPerSecond: Math.round(r.archived / (ms / 1000)), archiveBytesPerEvent: Math.round(fileBytes / r.archived), verifyArchiveOk: v.ok }));
  await service.close();
  if (kind === 'postgres') await pg(`DROP SCHEMA ${schema} CASCADE`);
  fs.rmSync(dir, { recursive: true, force: true });
}
async function checkpointSqlite(dir) {
  const { DatabaseSync } = require('node:sqlite');
  const db = new DatabaseSync(`${dir}/secrets.db`); db.exec('PRAGMA wal_checkpoint(TRUNCATE)'); db.close();
}
(async () => { for (const k of (process.env.KINDS || 'sqlite,postgres').split(',')) await run(k); })().catch((e) => { console.error(e); process.exit(1); });
