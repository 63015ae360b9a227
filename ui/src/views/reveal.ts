/**
 * Reveal: after a confirmation (the reveal is audited), the current value shows in a box for ten
 * seconds with a Copy button; then its text node is removed from the DOM and every reference to it
 * dropped. Leaving the page or the session ending removes it at once.
 */
import { post, secretPath } from '../api.js';
import { button, el, icon, uid } from '../dom.js';
import { confirmDialog } from '../components/confirm.js';
import { copyText } from '../components/copy.js';
import { can } from '../session.js';
import type { ViewContext } from '../view.js';

export const REVEAL_SECONDS = 10;

export function revealControl(
	name: string,
	environment: string,
	slot: HTMLElement,
	ctx: ViewContext,
): HTMLElement {
	if (!can('secrets:reveal')) {
		const noteId = uid('reveal-note');
		return el(
			'span',
			{ class: 'reveal-denied' },
			el(
				'button',
				{
					type: 'button',
					class: 'btn btn-secondary',
					'aria-disabled': 'true',
					'aria-describedby': noteId,
					'data-test': 'reveal',
					title: 'Needs the secrets:reveal permission',
				},
				icon('eye'),
				el('span', null, 'Reveal'),
			),
			el(
				'span',
				{ class: 'field-hint', id: noteId },
				'Needs the "secrets:reveal" permission (revealer or admin role).',
			),
		);
	}
	const trigger = button('Reveal', { 'data-test': 'reveal' }, 'eye');
	let hide: (() => void) | null = null;
	ctx.onLeave(() => hide?.());

	trigger.addEventListener('click', () => {
		hide?.();
		void confirmDialog({
			title: 'Reveal the value?',
			message: el(
				'p',
				null,
				'Reveal the current value of ',
				el('strong', null, name),
				' in ',
				el('strong', null, environment === '*' ? 'all environments (*)' : environment),
				'? This is recorded in the audit trail.',
			),
			confirmLabel: 'Reveal',
			confirmTest: 'reveal-confirm',
			action: async () => {
				const answer = await post<{ value?: string; version: number }>(
					secretPath(name, '/reveal'),
					{},
					{ env: environment },
				);
				const value = answer.value ?? '';
				// The answer object would otherwise hold the value as long as anything refers to it.
				delete answer.value;
				show(value, answer.version);
			},
		});
	});

	function show(revealed: string, version: number): void {
		let value: string | null = revealed;
		let left = REVEAL_SECONDS;
		const text = document.createTextNode(value);
		const code = el('code', { class: 'revealed-value', 'data-test': 'revealed-value' }, text);
		const countdown = el('span', { class: 'countdown', 'data-test': 'reveal-countdown' });
		const copy = button('Copy', { 'data-test': 'reveal-copy' }, 'copy');
		const hideNow = button('Hide now', { kind: 'ghost', 'data-test': 'reveal-hide' });
		const box = el(
			'div',
			{
				class: 'reveal-box',
				role: 'group',
				'aria-label': `Value of ${name}, version ${version}`,
				tabindex: -1,
				'data-test': 'reveal-box',
			},
			el('div', { class: 'reveal-head' }, el('span', null, `Version ${version}`), countdown),
			code,
			el('div', { class: 'reveal-actions' }, copy, hideNow),
		);
		const tick = () => {
			countdown.textContent = `Hidden in ${left} s`;
			if (left <= 0) hide?.();
			left -= 1;
		};
		const timer = setInterval(tick, 1000);
		hide = () => {
			clearInterval(timer);
			// Remove the text node itself (not just hide it) and drop every reference to the value.
			text.remove();
			text.data = '';
			value = null;
			box.remove();
			hide = null;
			if (document.activeElement === document.body) trigger.focus();
		};
		copy.addEventListener('click', () => {
			if (value !== null) void copyText(value, code);
		});
		hideNow.addEventListener('click', () => {
			hide?.();
			trigger.focus();
		});
		tick();
		slot.replaceChildren(box);
		box.focus();
	}
	return trigger;
}
