/**
 * A row's action menu (the "⋯" button): a menu button with arrow-key navigation, Escape and Tab to
 * leave, and a click outside to close.
 */
import { type IconName, el, icon, uid } from '../dom.js';

export interface MenuItem {
	label: string;
	icon?: IconName;
	danger?: boolean;
	test?: string;
	run: () => void;
}

let openMenu: { close: (focusButton: boolean) => void } | null = null;

export function actionMenu(label: string, items: MenuItem[], test = 'row-menu'): HTMLElement {
	const menuId = uid('menu');
	const trigger = el(
		'button',
		{
			type: 'button',
			class: 'btn btn-ghost icon-btn',
			'aria-label': label,
			'aria-haspopup': 'menu',
			'aria-expanded': 'false',
			'aria-controls': menuId,
			'data-test': test,
		},
		icon('more'),
	);
	const entries = items.map((item) =>
		el(
			'button',
			{
				type: 'button',
				role: 'menuitem',
				tabindex: -1,
				class: item.danger ? 'menu-item menu-item-danger' : 'menu-item',
				'data-test': item.test ?? null,
			},
			item.icon ? icon(item.icon) : null,
			item.label,
		),
	);
	const menu = el(
		'div',
		{ class: 'menu', role: 'menu', id: menuId, hidden: true, 'aria-label': label },
		entries,
	);

	const onOutside = (event: MouseEvent) => {
		if (!menu.contains(event.target as Node) && event.target !== trigger) close(false);
	};
	const onScroll = () => close(false);
	function close(focusButton: boolean): void {
		if (menu.hidden) return;
		// Focus inside the menu would fall to <body> when it hides: it goes back to the button.
		const hadFocus = menu.contains(document.activeElement);
		menu.hidden = true;
		trigger.setAttribute('aria-expanded', 'false');
		document.removeEventListener('mousedown', onOutside, true);
		window.removeEventListener('scroll', onScroll, true);
		window.removeEventListener('resize', onScroll);
		if (openMenu?.close === close) openMenu = null;
		if (focusButton || hadFocus) trigger.focus();
	}
	function open(): void {
		openMenu?.close(false);
		menu.hidden = false;
		trigger.setAttribute('aria-expanded', 'true');
		// Fixed, so a scrolling table container cannot clip it; placed under the button, right-aligned.
		const r = trigger.getBoundingClientRect();
		menu.style.top = `${Math.round(r.bottom + 4)}px`;
		menu.style.right = `${Math.round(window.innerWidth - r.right)}px`;
		document.addEventListener('mousedown', onOutside, true);
		window.addEventListener('scroll', onScroll, true);
		window.addEventListener('resize', onScroll);
		openMenu = { close };
		entries[0]?.focus();
	}

	trigger.addEventListener('click', () => (menu.hidden ? open() : close(true)));
	trigger.addEventListener('keydown', (event) => {
		if (event.key === 'ArrowDown' && menu.hidden) {
			event.preventDefault();
			open();
		}
	});
	menu.addEventListener('keydown', (event) => {
		const at = entries.indexOf(document.activeElement as HTMLButtonElement);
		const move = (to: number) => entries[(to + entries.length) % entries.length]?.focus();
		if (event.key === 'ArrowDown') move(at + 1);
		else if (event.key === 'ArrowUp') move(at - 1);
		else if (event.key === 'Home') move(0);
		else if (event.key === 'End') move(entries.length - 1);
		else if (event.key === 'Escape') close(true);
		else if (event.key === 'Tab') close(false);
		else return;
		if (event.key !== 'Tab') event.preventDefault();
		event.stopPropagation();
	});
	items.forEach((item, i) =>
		entries[i].addEventListener('click', () => {
			close(true);
			item.run();
		}),
	);
	return el('div', { class: 'menu-wrap' }, trigger, menu);
}
