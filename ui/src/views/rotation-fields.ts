/** Rotation policy and interval, as the store requires them together (AUTOMATIC needs an interval). */
import { el } from '../dom.js';
import { field, selectInput, textInput } from '../components/fields.js';

export interface RotationFields {
	root: HTMLElement;
	validate(): boolean;
	read(): { rotationPolicy: string; rotationIntervalDays?: number | null };
}

const HINTS: Record<string, string> = {
	ON_DEMAND: 'Rotated only when someone asks; no interval.',
	MANUAL: 'A person rotates it; with an interval, it shows as due when the time comes.',
	AUTOMATIC: 'The rotation workflow replaces the value every interval.',
};

export function rotationFields(
	policies: string[],
	label: (policy: string) => string,
	current?: { policy: string; intervalDays: number | null },
): RotationFields {
	const policy = field(
		'Rotation policy',
		selectInput(
			policies.map((p) => [p, label(p)]),
			{ 'data-test': 'secret-form-rotation' },
		),
	);
	policy.control.value = current?.policy ?? (policies.includes('MANUAL') ? 'MANUAL' : policies[0]);
	const interval = field(
		'Rotation interval (days)',
		textInput({
			type: 'number',
			min: 1,
			max: 3650,
			inputmode: 'numeric',
			'data-test': 'secret-form-interval',
			value: current?.intervalDays ?? '',
		}),
	);
	const hint = el('p', { class: 'field-hint' });
	policy.root.append(hint);

	function sync(): void {
		const p = policy.control.value;
		hint.textContent = HINTS[p] ?? '';
		interval.control.disabled = p === 'ON_DEMAND';
		if (p === 'ON_DEMAND') interval.control.value = '';
		interval.control.required = p === 'AUTOMATIC';
		interval.setError(null);
	}
	policy.control.addEventListener('change', sync);
	sync();

	return {
		root: el('div', { class: 'grid-2' }, policy.root, interval.root),
		validate() {
			const p = policy.control.value;
			const text = interval.control.value.trim();
			const n = Number(text);
			let message: string | null = null;
			if (text && (!Number.isInteger(n) || n < 1 || n > 3650))
				message = 'Use a whole number of days from 1 to 3650.';
			else if (!text && p === 'AUTOMATIC') message = 'Automatic rotation needs an interval.';
			interval.setError(message);
			return message === null;
		},
		read() {
			const text = interval.control.value.trim();
			const p = policy.control.value;
			if (p === 'ON_DEMAND') return { rotationPolicy: p };
			return { rotationPolicy: p, rotationIntervalDays: text ? Number(text) : null };
		},
	};
}
