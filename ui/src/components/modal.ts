/**
 * Modal dialogs on the native <dialog> (showModal): the rest of the page is inert, focus stays
 * inside, Escape closes, and focus returns to where it was.
 */
import { type Child, button, el, uid } from '../dom.js';

export interface Modal {
	dialog: HTMLDialogElement;
	body: HTMLElement;
	footer: HTMLElement;
	/** The form around body and footer: Enter in a field submits it. */
	form: HTMLFormElement;
	close(): void;
	/** Disables the footer's buttons while a request runs. */
	busy(on: boolean): void;
}

export interface ModalOptions {
	title: string;
	intro?: Child;
	wide?: boolean;
	testId?: string;
	onSubmit?: (modal: Modal) => void | Promise<void>;
	/** Runs however the dialog closes (button, Escape, after success): clear secret fields here. */
	onClose?: () => void;
}

export function openModal(options: ModalOptions): Modal {
	const titleId = uid('dialog-title');
	const body = el('div', { class: 'modal-body' });
	const footer = el('div', { class: 'modal-footer' });
	const form = el('form', { class: 'modal-form', novalidate: true }, body, footer);
	const closeButton = button(
		'',
		{ kind: 'ghost', className: 'icon-btn', 'aria-label': 'Close' },
		'close',
	);
	const dialog = el(
		'dialog',
		{
			class: options.wide ? 'modal modal-wide' : 'modal',
			'aria-labelledby': titleId,
			'aria-modal': 'true',
			'data-test': options.testId ?? 'modal',
		},
		el('header', { class: 'modal-header' }, el('h2', { id: titleId }, options.title), closeButton),
		options.intro ? el('div', { class: 'modal-intro' }, options.intro) : null,
		form,
	);
	const returnTo = document.activeElement instanceof HTMLElement ? document.activeElement : null;
	const modal: Modal = {
		dialog,
		body,
		footer,
		form,
		close: () => dialog.close(),
		busy: (on) => {
			for (const b of footer.querySelectorAll('button')) b.disabled = on;
			form.setAttribute('aria-busy', String(on));
		},
	};
	closeButton.addEventListener('click', () => modal.close());
	dialog.addEventListener('close', () => {
		options.onClose?.();
		dialog.remove();
		if (returnTo?.isConnected) returnTo.focus();
	});
	form.addEventListener('submit', (event) => {
		event.preventDefault();
		void options.onSubmit?.(modal);
	});
	document.body.appendChild(dialog);
	dialog.showModal();
	return modal;
}

/** Closes every open dialog (at sign-out or when the session ends). */
export function closeAllModals(): void {
	for (const d of document.querySelectorAll('dialog')) d.close();
}
