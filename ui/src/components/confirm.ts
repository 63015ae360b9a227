/**
 * Confirmation before anything that changes or reveals: the request runs while the dialog is open,
 * so a refusal (with the API's code and message) shows where the decision was made.
 */
import { type Child, add, button, el } from '../dom.js';
import { errorBox } from './feedback.js';
import { textArea, field, textInput } from './fields.js';
import { openModal } from './modal.js';

export interface ConfirmOptions {
	title: string;
	message: Child;
	confirmLabel: string;
	danger?: boolean;
	/** data-test of the confirm button (default "confirm-ok"). */
	confirmTest?: string;
	/** Ask for an optional reason, recorded in the audit trail. */
	reason?: boolean;
	/** The button stays disabled until this exact text is typed (purge: the secret's name). */
	requireText?: { label: Child; expected: string; test: string };
	/** What confirming does; the dialog closes when it resolves and shows its error when it throws. */
	action: (reason: string | undefined) => Promise<void>;
}

/** Resolves true when the action succeeded, false when the dialog was dismissed. */
export function confirmDialog(options: ConfirmOptions): Promise<boolean> {
	return new Promise((resolve) => {
		let done = false;
		const ok = button(options.confirmLabel, {
			kind: options.danger ? 'danger' : 'primary',
			type: 'submit',
			'data-test': options.confirmTest ?? 'confirm-ok',
		});
		const cancel = button('Cancel', { 'data-test': 'confirm-cancel' });
		const errors = el('div', { class: 'form-errors' });
		const reason = options.reason
			? field(
					'Reason (optional, recorded in the audit trail)',
					textArea({ rows: 2, maxlength: 500 }),
				)
			: null;
		const typed = options.requireText
			? field(
					options.requireText.label,
					textInput({
						autocomplete: 'off',
						spellcheck: 'false',
						'data-test': options.requireText.test,
					}),
				)
			: null;
		if (typed) {
			ok.disabled = true;
			typed.control.addEventListener('input', () => {
				ok.disabled = typed.control.value !== options.requireText!.expected;
			});
		}
		const modal = openModal({
			title: options.title,
			testId: 'confirm-dialog',
			onClose: () => resolve(done),
			onSubmit: async (m) => {
				if (typed && typed.control.value !== options.requireText!.expected) return;
				errors.replaceChildren();
				m.busy(true);
				try {
					await options.action(reason?.control.value.trim() || undefined);
					done = true;
					m.close();
				} catch (err) {
					errors.replaceChildren(errorBox(err));
					m.busy(false);
					if (typed) ok.disabled = typed.control.value !== options.requireText!.expected;
				}
			},
		});
		add(
			modal.body,
			el('div', { class: 'confirm-message' }, options.message),
			reason?.root ?? null,
			typed?.root ?? null,
			errors,
		);
		cancel.addEventListener('click', () => modal.close());
		modal.footer.append(cancel, ok);
		(typed?.control ?? cancel).focus();
	});
}
