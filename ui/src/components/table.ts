/** A data table in a keyboard-scrollable region: captioned for screen readers, headers as columns. */
import { type Child, el } from '../dom.js';

export function dataTable(o: {
	/** Read by screen readers as the table's caption, and names the scrollable region. */
	caption: string;
	/** Column headers: text, or a header cell of its own (a sort button). */
	heads: readonly (string | HTMLElement)[];
	rows: Child;
	compact?: boolean;
	test?: string;
}): HTMLElement {
	return el(
		'div',
		{ class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': o.caption },
		el(
			'table',
			{ class: o.compact ? 'table table-compact' : 'table', 'data-test': o.test },
			el('caption', { class: 'sr-only' }, o.caption),
			el(
				'thead',
				null,
				el(
					'tr',
					null,
					o.heads.map((h) => (typeof h === 'string' ? el('th', { scope: 'col' }, h) : h)),
				),
			),
			el('tbody', null, o.rows),
		),
	);
}
