/**
 * What the Secrets Trigger watches. Each poll returns only events not emitted before: changes and
 * denials by the audit trail's sequence number, expiry and rotation states by what they are about
 * (secret, environment, version), so one event fires once and a new version fires again.
 * Items carry metadata only.
 *
 * Rotation follows the secret's policy: `due` fires for AUTOMATIC secrets, the ones a workflow
 * rotates; `reminder` fires for MANUAL secrets with an interval, for a person to rotate (a workflow
 * on it notifies, it never rotates); ON_DEMAND secrets fire neither.
 */
import type { IDataObject } from 'n8n-workflow';

import type { SecretsApi } from '../service/api';
import type { Caller } from '../service/secrets-service';

export type TriggerEvent = 'expiring' | 'due' | 'reminder' | 'changed' | 'denied';

/** The policy each rotation event watches. */
const ROTATION_EVENTS = { due: 'AUTOMATIC', reminder: 'MANUAL' } as const;

export interface TriggerState {
	/** Audit sequence number already looked at (changes and denials). */
	afterSeq?: number;
	/** Keys of state events already emitted, with when they were last seen. */
	emitted?: Record<string, string>;
}

const CHANGES = new Set([
	'update',
	'rotate',
	'promote',
	'rollback',
	'create',
	'delete',
	'restore',
	'purge',
]);

async function auditSince(
	service: SecretsApi,
	caller: Caller,
	state: TriggerState,
	event: 'changed' | 'denied',
	manual: boolean,
): Promise<IDataObject[]> {
	const wanted = (action: string) => (event === 'denied' ? action === 'deny' : CHANGES.has(action));
	if (state.afterSeq === undefined || manual) {
		// First poll: start from now, so activating a workflow does not replay history. A manual test
		// run shows the latest matching event instead, so the user sees what an item looks like.
		const latest = await service.listAudit(caller, { limit: 200 });
		if (!manual) {
			state.afterSeq = latest.items[0]?.seq ?? 0;
			return [];
		}
		const sample = latest.items.find((e) => wanted(e.action));
		return sample ? [{ event, ...sample } as unknown as IDataObject] : [];
	}
	const out: IDataObject[] = [];
	for (;;) {
		const page = await service.listAudit(caller, { afterSeq: state.afterSeq, limit: 500 });
		for (const e of page.items) {
			state.afterSeq = e.seq;
			if (wanted(e.action) && e.outcome !== 'failure')
				out.push({ event, ...e } as unknown as IDataObject);
		}
		if (page.items.length < 500) return out;
	}
}

/** Polls once; mutates `state` (n8n's static data) so the next poll continues where this one ended. */
export async function pollSecretEvents(
	service: SecretsApi,
	caller: Caller,
	opts: { event: TriggerEvent; withinDays: number; environment?: string },
	state: TriggerState,
	manual: boolean,
): Promise<IDataObject[]> {
	if (opts.event === 'changed' || opts.event === 'denied')
		return auditSince(service, caller, state, opts.event, manual);
	const emitted = manual ? {} : (state.emitted ??= {});
	const now = new Date().toISOString();
	const current: Record<string, string> = {};
	const fresh: IDataObject[] = [];
	const items =
		opts.event === 'expiring'
			? (
					await service.expiring(caller, {
						withinDays: opts.withinDays,
						environment: opts.environment,
					})
				).map((x) => ({
					key: `expiring|${x.name}|${x.environment}|${x.version}|${x.expired}`,
					item: { event: 'expiring', ...x },
				}))
			: (
					await service.dueForRotation(caller, {
						environment: opts.environment,
						rotationPolicy: ROTATION_EVENTS[opts.event],
					})
				).map((x) => ({
					key: `${opts.event}|${x.name}|${x.environment}|${x.currentSince}`,
					item: { event: opts.event, ...x },
				}));
	for (const { key, item } of items) {
		current[key] = now;
		if (!emitted[key]) fresh.push(item as unknown as IDataObject);
	}
	// Forget states that ended (rotated, renewed), so a future occurrence fires again.
	if (!manual) state.emitted = current;
	return fresh;
}
