/**
 * What a secret's rotation policy means, in one place for the service, the CLI, the API and the nodes.
 *
 * - AUTOMATIC: the value is replaced by the rotation workflow (the nightly example, or any workflow
 *   on the Secrets Trigger's "Due for Rotation" event) every `rotationIntervalDays`. The interval is
 *   required: a policy of "rotated by a machine" without a schedule would rotate nothing.
 * - MANUAL: a person rotates the value. An interval is optional; when the current value is older
 *   than it, the secret is due as a reminder for that person (`action: 'remind'`, the trigger's
 *   "Rotation Reminder" event), never rotated by a workflow.
 * - ON_DEMAND: rotated only when someone asks (the Rotate operation, `secret rotate`). It has no
 *   interval and is never due by time; an interval is refused rather than kept and ignored.
 *
 * An interval given without a policy is refused when a secret is created: whether a machine or a
 * person acts on it is the one thing the interval cannot say, and guessing "AUTOMATIC" once rotated
 * secrets nobody had meant to hand to a workflow.
 */
import { SecretsError } from './errors';
import type { RotationPolicy } from './model';

/** What happens when a secret's interval has passed: the workflow rotates it, or a person is reminded. */
export type RotationAction = 'rotate' | 'remind';

/** The action each policy calls for once its interval has passed; null: never due by time. */
export const ROTATION_ACTIONS: Record<RotationPolicy, RotationAction | null> = {
	AUTOMATIC: 'rotate',
	MANUAL: 'remind',
	ON_DEMAND: null,
};

const DAY_MS = 86_400_000;

/** How to spell the fields in a message, for callers of the API and of the CLI alike. */
const INTERVAL = 'rotationIntervalDays (--rotate-every in the CLI)';
const POLICY = 'rotationPolicy (--rotation-policy in the CLI)';

export interface RotationSettings {
	policy: RotationPolicy;
	intervalDays: number | null;
}

/** Refuses a combination of policy and interval that would not mean what it says. */
export function checkRotationSettings(s: RotationSettings): RotationSettings {
	if (s.policy === 'AUTOMATIC' && s.intervalDays === null)
		throw new SecretsError(
			'INVALID_INPUT',
			`Invalid input: AUTOMATIC rotation needs an interval. Give ${INTERVAL}: the days a value may be used ` +
				'before the rotation workflow replaces it. For a secret without a schedule choose MANUAL or ON_DEMAND.',
		);
	if (s.policy === 'ON_DEMAND' && s.intervalDays !== null)
		throw new SecretsError(
			'INVALID_INPUT',
			`Invalid input: ON_DEMAND secrets are rotated only when someone asks, so they take no interval. ` +
				`Leave out ${INTERVAL}, or choose AUTOMATIC (the rotation workflow replaces the value every N days) ` +
				'or MANUAL (a person is reminded every N days).',
		);
	return s;
}

/**
 * The settings of a new secret. Neither given: MANUAL without an interval (nothing is ever due).
 * An interval without a policy is refused: see the module comment.
 */
export function newRotationSettings(
	policy: RotationPolicy | undefined,
	intervalDays: number | null | undefined,
): RotationSettings {
	if (policy === undefined && intervalDays != null)
		throw new SecretsError(
			'INVALID_INPUT',
			`Invalid input: a rotation interval needs a rotation policy that says who rotates. Add ${POLICY}: ` +
				'AUTOMATIC to have the rotation workflow replace the value every N days, or MANUAL to remind a person.',
		);
	return checkRotationSettings({ policy: policy ?? 'MANUAL', intervalDays: intervalDays ?? null });
}

/**
 * The settings after a change of either field; the other one is kept, except that choosing ON_DEMAND
 * without naming an interval drops the interval (ON_DEMAND has none, and the change says so: the
 * audit event lists rotationIntervalDays as changed). The policy never changes unless it is given.
 */
export function changedRotationSettings(
	current: RotationSettings,
	policy: RotationPolicy | undefined,
	intervalDays: number | null | undefined,
): RotationSettings {
	return checkRotationSettings({
		policy: policy ?? current.policy,
		intervalDays:
			intervalDays !== undefined
				? intervalDays
				: policy === 'ON_DEMAND'
					? null
					: current.intervalDays,
	});
}

/**
 * When the value written at `writtenAt` falls due under these settings (ms since the epoch), or null
 * when the policy is never due by time. Rows written before policies were checked may hold any
 * combination: AUTOMATIC or MANUAL without an interval and ON_DEMAND with one are never due.
 */
export function rotationDueAt(s: RotationSettings, writtenAt: string | null): number | null {
	if (ROTATION_ACTIONS[s.policy] === null || !s.intervalDays || !writtenAt) return null;
	return Date.parse(writtenAt) + s.intervalDays * DAY_MS;
}
