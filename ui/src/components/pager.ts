/**
 * Paging by the API's cursors: "Next" follows `nextCursor`, "Previous" goes back through the
 * cursors already followed (the API has no backward cursor).
 */
import { button, el } from '../dom.js';

export class CursorPager {
	private stack: (string | undefined)[] = [undefined];

	/** The cursor of the page to load now. */
	get cursor(): string | undefined {
		return this.stack[this.stack.length - 1];
	}

	get pageNumber(): number {
		return this.stack.length;
	}

	reset(): void {
		this.stack = [undefined];
	}

	/** The Previous / Page N / Next bar for a page whose answer had `nextCursor`. */
	render(nextCursor: string | undefined, reload: () => void, label = 'Pages'): HTMLElement {
		const prev = button(
			'Previous',
			{ 'data-test': 'page-prev', disabled: this.stack.length === 1 },
			'left',
		);
		const next = button('Next', { 'data-test': 'page-next', disabled: !nextCursor });
		next.appendChild(el('span', { class: 'sr-only' }, ' page'));
		prev.addEventListener('click', () => {
			this.stack.pop();
			reload();
		});
		next.addEventListener('click', () => {
			this.stack.push(nextCursor);
			reload();
		});
		if (this.stack.length === 1 && !nextCursor) return el('div', { class: 'pager pager-empty' });
		return el(
			'nav',
			{ class: 'pager', 'aria-label': label },
			prev,
			el('span', { class: 'pager-page', 'data-test': 'page-number' }, `Page ${this.pageNumber}`),
			next,
		);
	}
}
