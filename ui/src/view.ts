/** What every view gets: where to draw, and a signal that aborts its requests when it is left. */
import { type Child, el } from './dom.js';

export interface ViewContext {
	signal: AbortSignal;
	/** Runs when the view is left (or the session ends): drop revealed values, stop timers. */
	onLeave(cleanup: () => void): void;
}

/** The page's title row: a focusable h1 (focus moves there on navigation), a line under it, actions. */
export function pageHeader(title: Child, subtitle?: Child, ...actions: Child[]): HTMLElement {
	return el(
		'header',
		{ class: 'page-header' },
		el(
			'div',
			{ class: 'page-heading' },
			el('h1', { tabindex: -1, class: 'page-title' }, title),
			subtitle ? el('p', { class: 'page-subtitle' }, subtitle) : null,
		),
		actions.length ? el('div', { class: 'page-actions' }, ...actions) : null,
	);
}

/** A titled section of a page (a card). */
export function section(
	title: Child,
	attrs: Record<string, string> = {},
	...children: Child[]
): HTMLElement {
	return el(
		'section',
		{ class: 'card', ...attrs },
		el('h2', { class: 'card-title' }, title),
		...children,
	);
}
