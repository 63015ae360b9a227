/** The secrets list's table: a row per secret with its environments, dates and state. */
import { el } from '../dom.js';
import { badge } from '../components/feedback.js';
import { dataTable } from '../components/table.js';
import { formatDateTime, fromNow, secretStatus } from '../format.js';
import { hrefOf } from '../router.js';
import { typeLabel } from '../rules.js';
import type { SecretMetadata } from '../types.js';

function sortHeader(
	label: string,
	field: string,
	firstDescending: boolean,
	sort: string,
	setSort: (value: string) => void,
): HTMLElement {
	const active = sort === field || sort === `-${field}`;
	const descending = sort === `-${field}`;
	const next = active ? (descending ? field : `-${field}`) : firstDescending ? `-${field}` : field;
	const b = el(
		'button',
		{ type: 'button', class: 'th-sort', 'data-test': `sort-${field}` },
		label,
		el(
			'span',
			{ class: 'sort-mark', 'aria-hidden': 'true' },
			active ? (descending ? '↓' : '↑') : '↕',
		),
	);
	b.addEventListener('click', () => setSort(next));
	return el(
		'th',
		{ scope: 'col', 'aria-sort': active ? (descending ? 'descending' : 'ascending') : null },
		b,
	);
}

export interface TableOptions {
	sort: string;
	setSort: (value: string) => void;
	/** The row's action menu (what the session may do with it). */
	menu: (secret: SecretMetadata) => HTMLElement;
}

/** The secrets as a table, with sortable name and date columns. */
export function secretsTable(items: SecretMetadata[], o: TableOptions): HTMLElement {
	return dataTable({
		caption: 'Secrets',
		test: 'secrets-table',
		heads: [
			sortHeader('Name', 'name', false, o.sort, o.setSort),
			'Description',
			'Type',
			'Environments',
			sortHeader('Last updated', 'updatedAt', true, o.sort, o.setSort),
			sortHeader('Created', 'createdAt', true, o.sort, o.setSort),
			'Status',
			el('th', { scope: 'col' }, el('span', { class: 'sr-only' }, 'Actions')),
		],
		rows: items.map((s) => row(s, o.menu(s))),
	});
}

function row(s: SecretMetadata, menu: HTMLElement): HTMLElement {
	return el(
		'tr',
		{ 'data-test': 'secret-row', 'data-name': s.name, class: s.deletedAt ? 'row-deleted' : null },
		el(
			'td',
			{ class: 'cell-name' },
			el('a', { href: hrefOf.secret(s.name), class: 'secret-link' }, s.name),
			s.tags.length
				? el(
						'div',
						{ class: 'tags' },
						s.tags.map((t) => el('span', { class: 'tag' }, t)),
					)
				: null,
		),
		el(
			'td',
			{ class: 'cell-description' },
			s.description
				? el('span', { class: 'clamp' }, s.description)
				: el('span', { class: 'muted' }, '—'),
		),
		el('td', { class: 'nowrap' }, typeLabel(s.type)),
		el('td', null, envChips(s)),
		el('td', { class: 'nowrap' }, when(s.updatedAt, s.updatedBy)),
		el('td', { class: 'nowrap' }, when(s.createdAt, s.createdBy)),
		el(
			'td',
			null,
			el(
				'div',
				{ class: 'badges' },
				secretStatus(s).map((st) => badge(st.text, st.kind, { 'data-status': st.kind })),
			),
		),
		el('td', { class: 'cell-actions' }, menu),
	);
}

function when(iso: string, by: string): HTMLElement {
	return el(
		'span',
		null,
		el('time', { datetime: iso, title: formatDateTime(iso) }, fromNow(iso)),
		el('span', { class: 'by' }, by),
	);
}

function envChips(s: SecretMetadata): HTMLElement {
	if (!s.environments.length) return el('span', { class: 'muted' }, 'No value yet');
	return el(
		'div',
		{ class: 'chips' },
		s.environments.map((line) =>
			el(
				'span',
				{ class: 'env-chip', 'data-env': line.environment },
				line.environment === '*' ? 'all environments' : line.environment,
				' ',
				el(
					'span',
					{ class: 'env-version' },
					line.currentVersion === null ? 'no current' : `v${line.currentVersion}`,
				),
				line.pendingVersion !== null
					? el(
							'span',
							{ class: 'env-pending', title: `Pending v${line.pendingVersion}` },
							' +pending',
						)
					: null,
			),
		),
	);
}
