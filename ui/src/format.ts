/** Dates, durations and a secret's state as people read them. */
import type { EnvironmentLine, SecretMetadata } from './types.js';

const DAY = 86_400_000;
/** "Expiring" means within this many days, as the API's `status=expiring` filter. */
export const EXPIRING_DAYS = 30;

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const dateOnly = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });

export function formatDateTime(iso: string | null | undefined): string {
	return iso ? dateTime.format(new Date(iso)) : '—';
}

export function formatDate(iso: string | null | undefined): string {
	return iso ? dateOnly.format(new Date(iso)) : '—';
}

/** "3 days ago", "in 2 hours". */
export function fromNow(iso: string, now = Date.now()): string {
	const ms = Date.parse(iso) - now;
	const abs = Math.abs(ms);
	if (abs < 60_000) return relative.format(Math.round(ms / 1000), 'second');
	if (abs < 3_600_000) return relative.format(Math.round(ms / 60_000), 'minute');
	if (abs < DAY) return relative.format(Math.round(ms / 3_600_000), 'hour');
	if (abs < 60 * DAY) return relative.format(Math.round(ms / DAY), 'day');
	if (abs < 365 * DAY) return relative.format(Math.round(ms / (30 * DAY)), 'month');
	return relative.format(Math.round(ms / (365 * DAY)), 'year');
}

export function addDays(iso: string, days: number): string {
	return new Date(Date.parse(iso) + days * DAY).toISOString();
}

/** A date input's day (YYYY-MM-DD) as the end of that day in the viewer's time zone. */
export function endOfDay(day: string): string {
	return new Date(`${day}T23:59:59`).toISOString();
}

/** A datetime-local input's value as ISO 8601, or undefined when empty. */
export function localToIso(value: string): string | undefined {
	return value ? new Date(value).toISOString() : undefined;
}

export type StatusKind = 'deleted' | 'expired' | 'expiring' | 'due' | 'ok';
export interface Status {
	kind: StatusKind;
	text: string;
	/** For `expiring`: whole days left. */
	days?: number;
}

/** What needs attention in one environment line. */
export function lineStatus(line: EnvironmentLine, now = Date.now()): Status[] {
	const out: Status[] = [];
	if (line.expiresAt) {
		const left = Date.parse(line.expiresAt) - now;
		if (left <= 0) out.push({ kind: 'expired', text: 'Expired' });
		else if (left <= EXPIRING_DAYS * DAY) {
			const days = Math.ceil(left / DAY);
			out.push({ kind: 'expiring', text: `Expires in ${days} day${days === 1 ? '' : 's'}`, days });
		}
	}
	if (line.nextRotationAt && Date.parse(line.nextRotationAt) <= now)
		out.push({ kind: 'due', text: 'Rotation due' });
	return out;
}

/** The secret's states, worst first, one per kind; `ok` when nothing needs attention. */
export function secretStatus(secret: SecretMetadata, now = Date.now()): Status[] {
	if (secret.deletedAt) return [{ kind: 'deleted', text: 'Deleted' }];
	const order: StatusKind[] = ['expired', 'expiring', 'due'];
	const all = secret.environments.flatMap((line) => lineStatus(line, now));
	const seen = new Map<StatusKind, Status>();
	for (const s of all) {
		const known = seen.get(s.kind);
		// The soonest expiry is the one to show.
		if (!known || (s.days ?? 0) < (known.days ?? 0)) seen.set(s.kind, s);
	}
	const list = order.flatMap((k) => (seen.has(k) ? [seen.get(k)!] : []));
	return list.length ? list : [{ kind: 'ok', text: 'Active' }];
}
