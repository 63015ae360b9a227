/**
 * What a scheduler asks: values that expire soon, values due for rotation, counts, and the
 * housekeeping an operator runs on a schedule (purge past the recovery window, retention).
 */
import { DEFAULT_RECOVERY_WINDOW_DAYS, type Principal } from '../../core/model';
import { ROTATION_ACTIONS, rotationDueAt } from '../../core/rotation';
import { environmentAllowed, secretAllowed } from '../../auth/permissions';
import { type SecretRow, lines, secrets } from '../../store/repository';
import type { SqlExecutor } from '../../store/sql';
import type { DueItem, ExpiringItem, Stats } from '../api';
import { type Core, DAY_MS } from '../core';
import type { Impl } from '../runner';
import { applyRetention, previousExpired } from './lines';
import { coversWholeSecret } from './secret-rows';

/** How far ahead "expiring" looks: `stats.expiringWithin30Days` and the listing's status filter. */
export const EXPIRING_DAYS = 30;

type VisibleLine = {
	line: Awaited<ReturnType<typeof lines.allOfTenant>>[number];
	secret: SecretRow;
};

/** The live lines of secrets `p` may see, in its environments (or one of them). */
async function visibleLines(
	x: SqlExecutor,
	p: Principal,
	environment?: string,
): Promise<VisibleLine[]> {
	const live = new Map(
		(await secrets.allLive(x, p.tenant))
			.filter((s) => secretAllowed(p, s.name))
			.map((s) => [s.id, s]),
	);
	return (await lines.allOfTenant(x, p.tenant))
		.filter(
			(l) =>
				live.has(l.secret_id) &&
				environmentAllowed(p, l.environment) &&
				(environment === undefined || l.environment === environment),
		)
		.map((l) => ({ line: l, secret: live.get(l.secret_id)! }));
}

const expiring: Impl<'expiring'> = async (c, { p, i }, x): Promise<ExpiringItem[]> => {
	const nowMs = c.now().getTime();
	const horizon = new Date(nowMs + i.withinDays * DAY_MS).toISOString();
	return (await visibleLines(x, p, i.environment))
		.filter(
			({ line }) =>
				line.current_version !== null && line.expires_at !== null && line.expires_at <= horizon,
		)
		.map(({ line, secret }) => ({
			name: secret.name,
			type: secret.type,
			environment: line.environment,
			version: line.current_version!,
			expiresAt: line.expires_at!,
			daysLeft: Math.floor((Date.parse(line.expires_at!) - nowMs) / DAY_MS),
			expired: Date.parse(line.expires_at!) <= nowMs,
		}))
		.sort((a, b) => a.expiresAt.localeCompare(b.expiresAt) || a.name.localeCompare(b.name));
};

/**
 * Due when the current value is older than the interval. Age counts from when the value was written,
 * not when it became current: a rollback to an old value after a failed rotation leaves the secret
 * due, so the next scheduled rotation tries again instead of waiting a whole interval. ON_DEMAND
 * secrets are never due.
 */
function dueItems(c: Pick<Core, 'now'>, rows: VisibleLine[]): DueItem[] {
	const nowMs = c.now().getTime();
	const out: DueItem[] = [];
	for (const { line, secret } of rows) {
		const since = line.current_created_at ?? line.current_since;
		const dueAt = rotationDueAt(
			{ policy: secret.rotation_policy, intervalDays: secret.rotation_interval_days },
			since,
		);
		if (dueAt === null || dueAt > nowMs) continue;
		out.push({
			name: secret.name,
			type: secret.type,
			environment: line.environment,
			rotationPolicy: secret.rotation_policy,
			action: ROTATION_ACTIONS[secret.rotation_policy]!,
			rotationIntervalDays: secret.rotation_interval_days!,
			currentSince: since!,
			dueAt: new Date(dueAt).toISOString(),
			overdueDays: Math.floor((nowMs - dueAt) / DAY_MS),
		});
	}
	return out.sort((a, b) => a.dueAt.localeCompare(b.dueAt) || a.name.localeCompare(b.name));
}

/** AUTOMATIC secrets for the rotation workflow to rotate, MANUAL ones as reminders for a person. */
const dueForRotation: Impl<'dueForRotation'> = async (c, { p, i }, x) =>
	dueItems(c, await visibleLines(x, p, i.environment)).filter(
		(d) => i.rotationPolicy === undefined || d.rotationPolicy === i.rotationPolicy,
	);

const stats: Impl<'stats'> = async (c, { p }, x): Promise<Stats> => {
	const rows = await visibleLines(x, p);
	const all = (await secrets.page(x, p.tenant, { deleted: 'all', limit: 1_000_000 })).filter((s) =>
		secretAllowed(p, s.name),
	);
	const live = all.filter((s) => !s.deleted_at);
	const nowMs = c.now().getTime();
	const horizon = new Date(nowMs + EXPIRING_DAYS * DAY_MS).toISOString();
	const now = new Date(nowMs).toISOString();
	const byType: Record<string, number> = {};
	for (const s of live) byType[s.type] = (byType[s.type] ?? 0) + 1;
	const byEnvironment: Record<string, number> = {};
	for (const { line } of rows) {
		// A line with only a staged value has nothing in use there yet.
		if (line.current_version === null) continue;
		byEnvironment[line.environment] = (byEnvironment[line.environment] ?? 0) + 1;
	}
	const due = dueItems(c, rows);
	return {
		secrets: live.length,
		deleted: all.length - live.length,
		byType,
		byEnvironment,
		dueForRotation: due.filter((d) => d.action === 'rotate').length,
		remindersDue: due.filter((d) => d.action === 'remind').length,
		expiringWithin30Days: rows.filter(
			({ line }) => line.expires_at && line.expires_at > now && line.expires_at <= horizon,
		).length,
		expired: rows.filter(({ line }) => line.expires_at && line.expires_at <= now).length,
	};
};

/**
 * Purges secrets deleted longer ago than the recovery window and applies retention windows to lines
 * nobody has written to lately. Each purge is its own audit event (so no event of its own).
 */
const maintenance: Impl<'maintenance'> = async (c, { p, caller }, tx, note) => {
	note.skip = true;
	const windowDays = c.options.recoveryWindowDays ?? DEFAULT_RECOVERY_WINDOW_DAYS;
	const purged: string[] = [];
	// A limited token tidies only what it could delete or change itself.
	for (const row of await secrets.deletedBefore(tx, p.tenant, c.iso(-windowDays * DAY_MS))) {
		if (!secretAllowed(p, row.name) || !(await coversWholeSecret(tx, p, row))) continue;
		await secrets.remove(tx, p.tenant, row.id);
		purged.push(row.name);
		await c.audit.write(tx, p.tenant, {
			actor: p.subject,
			tokenId: p.jti,
			action: 'purge',
			secret: row.name,
			outcome: 'success',
			reason: `recovery window of ${windowDays} days passed`,
			context: caller.context,
		});
	}
	let retentionApplied = 0;
	const live = new Map((await secrets.allLive(tx, p.tenant)).map((s) => [s.id, s]));
	for (const line of await lines.allOfTenant(tx, p.tenant)) {
		const row = live.get(line.secret_id);
		if (!row || !secretAllowed(p, row.name) || !environmentAllowed(p, line.environment)) continue;
		if (line.previous_version !== null && previousExpired(c, row, line)) {
			await applyRetention(c, tx, row, line);
			await lines.upsert(tx, line);
			retentionApplied++;
		}
	}
	return { purged, retentionApplied };
};

export const REPORTS = { expiring, dueForRotation, stats, maintenance };
