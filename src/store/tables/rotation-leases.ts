import type { SqlExecutor } from '../sql';

export interface RotationLeaseRow {
	tenant: string;
	run_id: string;
	holder: string;
	actor: string;
	started_at: string;
	heartbeat_at: string;
}

/** One re-encryption per tenant at a time, across processes (see reencryptTenant). */
export const rotationLeases = {
	get: (x: SqlExecutor, tenant: string) =>
		x.get<RotationLeaseRow>('SELECT * FROM key_rotations WHERE tenant = ?', [tenant]),
	take: (x: SqlExecutor, r: RotationLeaseRow) =>
		x.run(
			`INSERT INTO key_rotations (tenant, run_id, holder, actor, started_at, heartbeat_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (tenant) DO UPDATE SET run_id = excluded.run_id, holder = excluded.holder, actor = excluded.actor,
         started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at`,
			[r.tenant, r.run_id, r.holder, r.actor, r.started_at, r.heartbeat_at],
		),
	heartbeat: (x: SqlExecutor, tenant: string, runId: string, now: string) =>
		x.run('UPDATE key_rotations SET heartbeat_at = ? WHERE tenant = ? AND run_id = ?', [
			now,
			tenant,
			runId,
		]),
	release: (x: SqlExecutor, tenant: string, runId: string) =>
		x.run('DELETE FROM key_rotations WHERE tenant = ? AND run_id = ?', [tenant, runId]),
};
