/**
 * Listing secrets the way the Secrets page and the API page through them: a case-insensitive search
 * over name, description and tags, filters by type, environment and the state of the values
 * (expiring, expired, due for rotation, deleted), three orders, and keyset paging that costs the
 * same on the thousandth page of 100,000 secrets as on the first.
 */
import { SecretsError } from '../../core/errors';
import type { SecretMetadata } from '../../core/model';
import type { ListStatus } from '../../core/schemas';
import { secretAllowed } from '../../auth/permissions';
import { type PageKey, type SecretRow, secrets } from '../../store/repository';
import { DAY_MS } from '../core';
import type { Impl } from '../runner';
import { EXPIRING_DAYS } from './reports';
import { metadataOf } from './secret-rows';

/**
 * A cursor is the last name shown, as before sorting existed; sorted by a time, the time and the
 * name joined by `|` (neither holds one).
 */
function cursorOf(key: PageKey): string {
	return key.key === undefined ? key.name : `${key.key}|${key.name}`;
}

function parseCursor(cursor: string | undefined, sort: string): PageKey | undefined {
	if (cursor === undefined) return undefined;
	const byName = sort === 'name' || sort === '-name';
	const bar = cursor.indexOf('|');
	if (byName ? bar !== -1 : bar === -1)
		throw new SecretsError(
			'INVALID_INPUT',
			'Invalid input: cursor is not one this listing gave; pass nextCursor back unchanged, with the same sort.',
		);
	return byName ? { name: cursor } : { key: cursor.slice(0, bar), name: cursor.slice(bar + 1) };
}

/** Whether the lines the caller sees (in `environment`, if given) are in the state asked for. */
function inStatus(
	m: SecretMetadata,
	status: ListStatus | undefined,
	environment: string | undefined,
	nowMs: number,
): boolean {
	if (status === undefined || status === 'deleted') return true;
	const now = new Date(nowMs).toISOString();
	const horizon = new Date(nowMs + EXPIRING_DAYS * DAY_MS).toISOString();
	return m.environments
		.filter((l) => environment === undefined || l.environment === environment)
		.some((l) =>
			status === 'expired'
				? l.currentVersion !== null && l.expiresAt !== null && l.expiresAt <= now
				: status === 'expiring'
					? l.currentVersion !== null &&
						l.expiresAt !== null &&
						l.expiresAt > now &&
						l.expiresAt <= horizon
					: l.nextRotationAt !== null && l.nextRotationAt <= now,
		);
}

const listSecrets: Impl<'listSecrets'> = async (c, { p, i }, x) => {
	const nowMs = c.now().getTime();
	const filter = {
		prefix: i.prefix,
		search: i.search,
		tag: i.tag,
		type: i.type,
		environment: i.environment,
		sort: i.sort,
		deleted:
			i.status === 'deleted' ? ('only' as const) : i.includeDeleted ? ('all' as const) : undefined,
		expiresBefore:
			i.status === 'expired'
				? new Date(nowMs).toISOString()
				: i.status === 'expiring'
					? new Date(nowMs + EXPIRING_DAYS * DAY_MS).toISOString()
					: undefined,
		expiresAfter: i.status === 'expiring' ? new Date(nowMs).toISOString() : undefined,
		writtenBefore:
			i.status === 'due'
				? (await secrets.rotationIntervals(x, p.tenant)).map((days) => ({
						days,
						before: new Date(nowMs - days * DAY_MS).toISOString(),
					}))
				: undefined,
	};
	// The SQL narrows to the state asked for; what it cannot decide (token patterns, environments the
	// token may not see) is skipped here, batch by batch.
	const batchSize = i.limit + 1;
	// Without a state filter, the lines of the page's rows are read once at the end, whatever was skipped.
	const judged = i.status !== undefined && i.status !== 'deleted';
	const rows: SecretRow[] = [];
	const items: SecretMetadata[] = [];
	let after = parseCursor(i.cursor, i.sort);
	let more = false;
	for (;;) {
		const batch = await secrets.page(x, p.tenant, { ...filter, after, limit: batchSize });
		const allowed = batch.filter((row) => secretAllowed(p, row.name));
		const shown = judged ? await metadataOf(x, allowed, p) : undefined;
		for (let k = 0; k < allowed.length && !more; k++) {
			if (shown && !inStatus(shown[k], i.status, i.environment, nowMs)) continue;
			if (rows.length === i.limit) more = true;
			else {
				rows.push(allowed[k]);
				if (shown) items.push(shown[k]);
			}
		}
		if (more || batch.length < batchSize) break;
		after = secrets.keyOf(batch[batch.length - 1], i.sort);
	}
	const page = judged ? items : await metadataOf(x, rows, p);
	return more
		? { items: page, nextCursor: cursorOf(secrets.keyOf(rows[rows.length - 1], i.sort)) }
		: { items: page };
};

export const LISTING = { listSecrets };
