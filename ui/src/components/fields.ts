/** Labelled form fields: every control has a <label for>, a hint and an error slot it is described by. */
import { type Attrs, type Child, el, uid } from '../dom.js';

type Control = HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement;

export interface Field<T extends Control> {
	root: HTMLElement;
	control: T;
	/** Shows (or clears, with null) the message under the field and marks the control invalid. */
	setError(message: string | null): void;
}

export function field<T extends Control>(
	label: Child,
	control: T,
	options: { hint?: Child; optional?: boolean; className?: string } = {},
): Field<T> {
	control.id ||= uid('field');
	const hintId = `${control.id}-hint`;
	const errorId = `${control.id}-error`;
	const error = el('p', { class: 'field-error', id: errorId, 'aria-live': 'polite' });
	const described = [options.hint ? hintId : null, errorId].filter(Boolean).join(' ');
	control.setAttribute('aria-describedby', described);
	const root = el(
		'div',
		{ class: ['field', options.className].filter(Boolean).join(' ') },
		el(
			'label',
			{ for: control.id, class: 'field-label' },
			label,
			options.optional ? el('span', { class: 'optional' }, ' (optional)') : null,
		),
		control,
		options.hint ? el('p', { class: 'field-hint', id: hintId }, options.hint) : null,
		error,
	);
	return {
		root,
		control,
		setError(message) {
			error.textContent = message ?? '';
			if (message) control.setAttribute('aria-invalid', 'true');
			else control.removeAttribute('aria-invalid');
		},
	};
}

export function textInput(attrs: Attrs = {}): HTMLInputElement {
	return el('input', { type: 'text', class: 'input', ...attrs });
}

/**
 * A field for a secret value: masked, never autocompleted or spell-checked (a spell checker may send
 * what it reads to a service), value set as a property only.
 */
export function secretInput(attrs: Attrs = {}): HTMLInputElement {
	return el('input', {
		type: 'password',
		class: 'input input-mono',
		autocomplete: 'off',
		spellcheck: 'false',
		autocapitalize: 'off',
		...attrs,
	});
}

/** A masked text area (for PEM blocks, which a one-line password field would flatten). */
export function secretArea(attrs: Attrs = {}): HTMLTextAreaElement {
	return el('textarea', {
		class: 'input input-mono masked',
		rows: 5,
		autocomplete: 'off',
		spellcheck: 'false',
		autocapitalize: 'off',
		...attrs,
	});
}

export function textArea(attrs: Attrs = {}): HTMLTextAreaElement {
	return el('textarea', { class: 'input', rows: 3, ...attrs });
}

export function selectInput(
	options: readonly (readonly [value: string, label: string])[],
	attrs: Attrs = {},
): HTMLSelectElement {
	return el(
		'select',
		{ class: 'input select', ...attrs },
		options.map(([value, label]) => el('option', { value }, label)),
	);
}

/** Validates a field as it is typed, with a check that returns the message or null. */
export function validateAsYouType<T extends Control>(
	f: Field<T>,
	check: (value: string) => string | null,
): () => boolean {
	const run = () => {
		const message = check(f.control.value);
		f.setError(message);
		return message === null;
	};
	f.control.addEventListener('input', run);
	return run;
}
