/**
 * Where a new value comes from: typed or pasted into a masked field, or generated inside the store
 * (`generate`), so it never passes through the browser at all.
 */
import { el, uid } from '../dom.js';
import { field, secretArea, secretInput, selectInput, textInput } from '../components/fields.js';
import { MULTILINE_TYPES, NOT_GENERATED, typeLabel } from '../rules.js';

export interface ValueSource {
	root: HTMLElement;
	/** Adapts the field to a type: PEM types get a masked text area; some types cannot be generated. */
	setType(type: string): void;
	/** `{ value }` or `{ generate }` for the request body, or null after showing what is missing. */
	read(): { value: string } | { generate: { length?: number; alphabet?: string } } | null;
	/** Empties the value field (after a request, on cancel). */
	clear(): void;
	focus(): void;
}

const ALPHABETS: [string, string][] = [
	['alphanumeric', 'Letters and digits'],
	['hex', 'Hexadecimal'],
	['base64url', 'Base64url'],
	['ascii-printable', 'Printable ASCII (with symbols)'],
];

/** `allowGenerate: false` for stage-by-value dialogs that ask for a value only. */
export function valueSource(options: {
	type: string;
	allowGenerate?: boolean;
	label?: string;
}): ValueSource {
	const name = uid('source');
	const typed = el('input', {
		type: 'radio',
		name,
		value: 'typed',
		checked: true,
		'data-test': 'secret-form-source-value',
	});
	const generated = el('input', {
		type: 'radio',
		name,
		value: 'generate',
		'data-test': 'secret-form-generate',
	});
	let control: HTMLInputElement | HTMLTextAreaElement = secretInput({
		'data-test': 'secret-form-value',
	});
	const valueField = field(options.label ?? 'Value', control, {
		hint: 'Masked as you type or paste. It is encrypted by the store and never shown here again.',
	});
	const length = field(
		'Length',
		textInput({
			type: 'number',
			min: 8,
			max: 4096,
			value: '32',
			inputmode: 'numeric',
			'data-test': 'secret-form-length',
		}),
	);
	const alphabet = field(
		'Characters',
		selectInput(ALPHABETS, { 'data-test': 'secret-form-alphabet' }),
	);
	const generateOptions = el('div', { class: 'grid-2', hidden: true }, length.root, alphabet.root);
	const note = el('p', { class: 'field-hint', hidden: true });
	const allowGenerate = options.allowGenerate !== false;

	const choice = el(
		'fieldset',
		{ class: 'choice', hidden: !allowGenerate },
		el('legend', { class: 'field-label' }, 'Value source'),
		el('label', { class: 'radio' }, typed, 'Enter or paste a value'),
		el(
			'label',
			{ class: 'radio' },
			generated,
			'Generate in the store (the value never reaches this browser)',
		),
		note,
	);
	const root = el('div', { class: 'value-source' }, choice, valueField.root, generateOptions);

	function sync(): void {
		const gen = generated.checked;
		valueField.root.hidden = gen;
		generateOptions.hidden = !gen;
		if (gen) control.value = '';
	}
	typed.addEventListener('change', sync);
	generated.addEventListener('change', sync);

	function setType(type: string): void {
		const multiline = MULTILINE_TYPES.has(type);
		if (multiline !== control instanceof HTMLTextAreaElement) {
			const next = multiline
				? secretArea({ 'data-test': 'secret-form-value' })
				: secretInput({ 'data-test': 'secret-form-value' });
			next.id = control.id;
			next.setAttribute('aria-describedby', control.getAttribute('aria-describedby') ?? '');
			next.value = control.value;
			control.value = '';
			control.replaceWith(next);
			control = next;
		}
		const noGenerate = NOT_GENERATED.has(type);
		generated.disabled = noGenerate;
		note.hidden = !noGenerate;
		note.textContent = noGenerate
			? `A ${typeLabel(type).toLowerCase()} has a structure of its own: paste it.`
			: '';
		if (noGenerate && generated.checked) {
			typed.checked = true;
			sync();
		}
	}
	setType(options.type);

	return {
		root,
		setType,
		read() {
			if (allowGenerate && generated.checked) {
				const n = Number(length.control.value);
				if (!Number.isInteger(n) || n < 8 || n > 4096) {
					length.setError('Use a length from 8 to 4096.');
					length.control.focus();
					return null;
				}
				length.setError(null);
				const generate: { length?: number; alphabet?: string } = {};
				if (n !== 32) generate.length = n;
				if (alphabet.control.value !== 'alphanumeric') generate.alphabet = alphabet.control.value;
				return { generate };
			}
			if (!control.value) {
				valueField.setError('Enter a value, or choose to generate one in the store.');
				control.focus();
				return null;
			}
			valueField.setError(null);
			return { value: control.value };
		},
		clear() {
			control.value = '';
		},
		focus() {
			control.focus();
		},
	};
}
