/**
 * "Store New Secret": metadata checked as it is typed with the store's own rules, and a first value
 * typed (masked) or generated in the store. After saving, the value field is emptied and removed with
 * the dialog, and the secret's page opens.
 */
import { post } from '../api.js';
import { button, el } from '../dom.js';
import { errorBox, toast } from '../components/feedback.js';
import {
	field,
	selectInput,
	textArea,
	textInput,
	validateAsYouType,
} from '../components/fields.js';
import { openModal } from '../components/modal.js';
import { endOfDay } from '../format.js';
import { hrefOf, navigate } from '../router.js';
import { check, listOf, policyLabel, rules, typeLabel } from '../rules.js';
import { who } from '../session.js';
import type { SecretMetadata } from '../types.js';
import { rotationFields } from './rotation-fields.js';
import { valueSource } from './value-source.js';

export const STORED_NOTICE = 'Stored. The value is encrypted and will not be shown again.';

/** Each comma-separated entry checked against a rule; the first failure's message. */
export function checkList(rule: { pattern: string; message: string }, text: string): string | null {
	for (const item of listOf(text)) {
		const message = check(rule, item);
		if (message) return `“${item}”: ${message}`;
	}
	return null;
}

export function openNewSecret(): void {
	const r = rules();
	const name = field(
		'Name',
		textInput({
			autocomplete: 'off',
			spellcheck: 'false',
			'data-test': 'secret-form-name',
			required: true,
		}),
		{
			hint: 'Workflows refer to it as [[secret:name]].',
		},
	);
	const type = field(
		'Type',
		selectInput(
			r.types.map((t) => [t, typeLabel(t)]),
			{ 'data-test': 'secret-form-type' },
		),
	);
	type.control.value = r.types.includes('API_KEY') ? 'API_KEY' : r.types[0];
	const description = field(
		'Description',
		textArea({ rows: 2, maxlength: 1000, 'data-test': 'secret-form-description' }),
		{ optional: true },
	);
	const tags = field(
		'Tags',
		textInput({
			autocomplete: 'off',
			spellcheck: 'false',
			placeholder: 'team:payments, stripe',
			'data-test': 'secret-form-tags',
		}),
		{
			optional: true,
			hint: 'Comma separated.',
		},
	);
	const allowed = who()?.environments ?? [];
	const environment = field(
		'Environment',
		textInput({
			autocomplete: 'off',
			spellcheck: 'false',
			value: allowed[0] ?? 'production',
			'data-test': 'secret-form-env',
		}),
		{
			hint: 'The environment this first value is for. Add others on the secret’s page.',
		},
	);
	const value = valueSource({ type: type.control.value });
	const hosts = field(
		'Allowed hosts',
		textInput({
			autocomplete: 'off',
			spellcheck: 'false',
			placeholder: 'api.stripe.com, *.example.com',
			'data-test': 'secret-form-hosts',
		}),
		{
			optional: true,
			hint: 'Comma separated. The value may only be sent to these hosts. Empty: not bound.',
		},
	);
	const rotation = rotationFields(r.rotationPolicies, policyLabel);
	const expires = field(
		'Expires',
		textInput({ type: 'date', 'data-test': 'secret-form-expires' }),
		{
			optional: true,
			hint: 'After this day the value is no longer served.',
		},
	);
	const errors = el('div', { class: 'form-errors' });

	const checks = [
		validateAsYouType(name, (v) => (v ? check(r.secretName, v) : 'Give the secret a name.')),
		validateAsYouType(environment, (v) => check(r.environmentName, v.trim())),
		validateAsYouType(tags, (v) => checkList(r.tag, v)),
	];
	type.control.addEventListener('change', () => value.setType(type.control.value));

	const save = button('Store secret', {
		kind: 'primary',
		type: 'submit',
		'data-test': 'secret-form-save',
	});
	const cancel = button('Cancel', { 'data-test': 'secret-form-cancel' });
	const modal = openModal({
		title: 'Store New Secret',
		wide: true,
		testId: 'new-secret-dialog',
		onClose: () => value.clear(),
		onSubmit: async (m) => {
			errors.replaceChildren();
			const okFields = checks.map((run) => run()).every(Boolean) && rotation.validate();
			if (!okFields) {
				m.form.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus();
				return;
			}
			const source = value.read();
			if (!source) return;
			const body: Record<string, unknown> = {
				name: name.control.value,
				type: type.control.value,
				environment: environment.control.value.trim(),
				...source,
				...rotation.read(),
			};
			if (description.control.value.trim()) body.description = description.control.value.trim();
			if (listOf(tags.control.value).length) body.tags = listOf(tags.control.value);
			if (listOf(hosts.control.value).length) body.allowedHosts = listOf(hosts.control.value);
			if (expires.control.value) body.expiresAt = endOfDay(expires.control.value);
			m.busy(true);
			try {
				const created = await post<SecretMetadata>('/secrets', body);
				value.clear();
				m.close();
				toast(STORED_NOTICE);
				navigate(hrefOf.secret(created.name));
			} catch (err) {
				errors.replaceChildren(errorBox(err, 'The secret was not stored'));
				m.busy(false);
			} finally {
				delete body.value;
			}
		},
	});
	modal.body.append(
		el('div', { class: 'grid-2' }, name.root, type.root),
		description.root,
		el('div', { class: 'grid-2' }, tags.root, environment.root),
		value.root,
		hosts.root,
		rotation.root,
		expires.root,
		errors,
	);
	cancel.addEventListener('click', () => modal.close());
	modal.footer.append(cancel, save);
	name.control.focus();
}
