/** Messages: toasts (announced politely), error boxes with the API's code, badges, empty states. */
import { ApiError } from '../api.js';
import { type Child, type IconName, button, el, icon, prose } from '../dom.js';

/** The API's code and message, or what is known about an unexpected failure. */
export function describeError(err: unknown): { code: string; message: string } {
	if (err instanceof ApiError) return { code: err.code, message: err.message };
	return {
		code: 'UNEXPECTED',
		message: err instanceof Error ? err.message : 'Something went wrong in the page.',
	};
}

/** An error box (role=alert): the code as a tag, then the message, which says what to do. */
export function errorBox(err: unknown, title?: string): HTMLElement {
	const { code, message } = describeError(err);
	return el(
		'div',
		{ class: 'callout callout-danger', role: 'alert', 'data-test': 'error', 'data-code': code },
		icon('alert'),
		el(
			'div',
			null,
			title ? el('strong', { class: 'callout-title' }, title) : null,
			el('p', null, el('code', { class: 'error-code' }, code), ' ', ...prose(message)),
		),
	);
}

export function callout(
	kind: 'info' | 'warning' | 'success' | 'danger',
	...children: Child[]
): HTMLElement {
	const icons: Record<string, IconName> = {
		info: 'shield',
		warning: 'alert',
		success: 'check',
		danger: 'alert',
	};
	return el(
		'div',
		{ class: `callout callout-${kind}` },
		icon(icons[kind]),
		el('div', null, ...children),
	);
}

export function badge(
	text: string,
	kind = 'neutral',
	attrs: Record<string, string> = {},
): HTMLElement {
	return el('span', { class: `badge badge-${kind}`, ...attrs }, text);
}

export function emptyState(title: string, text: string, action?: HTMLElement): HTMLElement {
	return el(
		'div',
		{ class: 'empty', 'data-test': 'empty' },
		el('div', { class: 'empty-icon' }, icon('key', 28)),
		el('h2', { class: 'empty-title' }, title),
		el('p', null, text),
		action ?? null,
	);
}

export function loading(label = 'Loading…'): HTMLElement {
	return el('div', { class: 'loading', role: 'status' }, el('span', { class: 'spinner' }), label);
}

/** A short message in the toast area (an aria-live region), gone after a few seconds. */
export function toast(message: string, kind: 'success' | 'error' | 'info' = 'success'): void {
	const region = document.getElementById('toasts');
	if (!region) return;
	const item = el(
		'div',
		{ class: `toast toast-${kind}`, 'data-test': 'toast', 'data-kind': kind },
		icon(kind === 'error' ? 'alert' : 'check'),
		el('span', { class: 'toast-text' }, ...prose(message)),
	);
	const close = button(
		'',
		{ kind: 'ghost', 'aria-label': 'Dismiss', className: 'icon-btn' },
		'close',
	);
	const remove = () => item.remove();
	close.addEventListener('click', remove);
	item.appendChild(close);
	region.appendChild(item);
	setTimeout(remove, kind === 'error' ? 10_000 : 6_000);
}

/** Removes every toast (at sign-out: nothing of the last session stays on screen). */
export function clearToasts(): void {
	document.getElementById('toasts')?.replaceChildren();
}
