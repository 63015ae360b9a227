/** Editing a secret's metadata (PATCH): only the fields that changed are sent. */
import { patch, secretPath } from '../api.js';
import { button, el } from '../dom.js';
import { errorBox, toast } from '../components/feedback.js';
import { field, textArea, textInput, validateAsYouType } from '../components/fields.js';
import { openModal } from '../components/modal.js';
import { listOf, policyLabel, rules } from '../rules.js';
import { can } from '../session.js';
import type { SecretMetadata } from '../types.js';
import { checkList } from './new-secret.js';
import { rotationFields } from './rotation-fields.js';

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

export function openEditSecret(
	secret: SecretMetadata,
	onSaved: (updated: SecretMetadata) => void,
): void {
	const r = rules();
	const description = field(
		'Description',
		textArea({
			rows: 3,
			maxlength: 1000,
			value: secret.description,
			'data-test': 'edit-description',
		}),
		{ optional: true },
	);
	const tags = field(
		'Tags',
		textInput({
			autocomplete: 'off',
			spellcheck: 'false',
			value: secret.tags.join(', '),
			'data-test': 'edit-tags',
		}),
		{
			optional: true,
			hint: 'Comma separated.',
		},
	);
	// Rebinding a secret is as good as reading it: without secrets:reveal the hosts are read-only.
	const mayRebind = can('secrets:reveal');
	const hosts = field(
		'Allowed hosts',
		textInput({
			autocomplete: 'off',
			spellcheck: 'false',
			value: secret.allowedHosts.join(', '),
			readonly: !mayRebind,
			'data-test': 'edit-hosts',
		}),
		{
			optional: true,
			hint: mayRebind
				? 'Comma separated. The value may only be sent to these hosts. Empty: not bound.'
				: 'Changing them needs the "secrets:reveal" permission as well (revealer or admin role): deciding where a value may go is as good as reading it.',
		},
	);
	const rotation = rotationFields(r.rotationPolicies, policyLabel, {
		policy: secret.rotationPolicy,
		intervalDays: secret.rotationIntervalDays,
	});
	const maxVersions = field(
		'Versions kept',
		textInput({
			type: 'number',
			min: 2,
			max: 1000,
			value: secret.maxVersions,
			'data-test': 'edit-max-versions',
		}),
	);
	const previousWindow = field(
		'Previous value served for (days)',
		textInput({
			type: 'number',
			min: 0,
			max: 3650,
			value: secret.previousWindowDays,
			'data-test': 'edit-previous-window',
		}),
	);
	const errors = el('div', { class: 'form-errors' });
	const checkTags = validateAsYouType(tags, (v) => checkList(r.tag, v));

	const save = button('Save changes', {
		kind: 'primary',
		type: 'submit',
		'data-test': 'edit-save',
	});
	const cancel = button('Cancel');
	const modal = openModal({
		title: `Edit ${secret.name}`,
		wide: true,
		testId: 'edit-dialog',
		onSubmit: async (m) => {
			errors.replaceChildren();
			if (!checkTags() || !rotation.validate()) return;
			const next: Record<string, unknown> = {
				description: description.control.value.trim(),
				tags: listOf(tags.control.value),
				allowedHosts: listOf(hosts.control.value),
				maxVersions: Number(maxVersions.control.value),
				previousWindowDays: Number(previousWindow.control.value),
			};
			const rot = rotation.read();
			next.rotationPolicy = rot.rotationPolicy;
			next.rotationIntervalDays = rot.rotationIntervalDays ?? null;
			const before: Record<string, unknown> = {
				description: secret.description,
				tags: secret.tags,
				allowedHosts: secret.allowedHosts,
				maxVersions: secret.maxVersions,
				previousWindowDays: secret.previousWindowDays,
				rotationPolicy: secret.rotationPolicy,
				rotationIntervalDays: secret.rotationIntervalDays,
			};
			const changed = Object.fromEntries(
				Object.entries(next).filter(([k, v]) => !same(v, before[k])),
			);
			if (!Object.keys(changed).length) {
				m.close();
				return;
			}
			m.busy(true);
			try {
				const updated = await patch<SecretMetadata>(secretPath(secret.name), changed);
				m.close();
				toast(`Saved the changes to ${secret.name}.`);
				onSaved(updated);
			} catch (err) {
				errors.replaceChildren(errorBox(err, 'The changes were not saved'));
				m.busy(false);
			}
		},
	});
	modal.body.append(
		description.root,
		tags.root,
		hosts.root,
		rotation.root,
		el('div', { class: 'grid-2' }, maxVersions.root, previousWindow.root),
		errors,
	);
	cancel.addEventListener('click', () => modal.close());
	modal.footer.append(cancel, save);
	description.control.focus();
}
