/** A secret's change log (its audit events) and the workflows that use it: for audit:read only. */
import { get, isAbort, secretPath } from '../api.js';
import { el } from '../dom.js';
import { errorBox, loading } from '../components/feedback.js';
import { CursorPager } from '../components/pager.js';
import { dataTable } from '../components/table.js';
import { formatDateTime, fromNow } from '../format.js';
import { can } from '../session.js';
import type { AuditEvent, Page, Usage } from '../types.js';
import type { ViewContext } from '../view.js';
import { auditTable, workflow } from './audit-table.js';

const NEEDS_AUDIT = 'Needs the audit:read permission (auditor or admin role).';
const PAGE_SIZE = 20;

function card(title: string, test: string, id: string, ...children: (Node | null)[]): HTMLElement {
	return el(
		'section',
		{ class: 'card', 'data-test': test, 'aria-labelledby': id },
		el('h2', { class: 'card-title', id, tabindex: -1 }, title),
		...children,
	);
}

export function changeLog(name: string, ctx: ViewContext): HTMLElement {
	if (!can('audit:read'))
		return card(
			'Change log',
			'changelog',
			'changelog-title',
			el('p', { class: 'muted', 'data-test': 'changelog-denied' }, NEEDS_AUDIT),
		);
	const body = el('div', null, loading('Loading the change log…'));
	const pager = new CursorPager();
	const load = async () => {
		try {
			const page = await get<Page<AuditEvent>>(
				'/audit',
				{ secret: name, limit: PAGE_SIZE, cursor: pager.cursor },
				ctx.signal,
			);
			body.replaceChildren(
				page.items.length
					? auditTable(page.items, {
							withSecret: false,
							rowTest: 'changelog-row',
							caption: `Change log of ${name}`,
						})
					: el('p', { class: 'muted' }, 'No events yet.'),
				pager.render(page.nextCursor, () => void load(), 'Change log pages'),
			);
		} catch (err) {
			if (!isAbort(err)) body.replaceChildren(errorBox(err, 'The change log could not be read'));
		}
	};
	void load();
	return card(
		'Change log',
		'changelog',
		'changelog-title',
		el(
			'p',
			{ class: 'card-intro muted' },
			'Every operation on this secret, newest first, from the tamper-evident audit trail. Values are never recorded.',
		),
		body,
	);
}

export function usedBy(name: string, ctx: ViewContext): HTMLElement {
	if (!can('audit:read'))
		return card(
			'Used by',
			'usedby',
			'usedby-title',
			el('p', { class: 'muted', 'data-test': 'usedby-denied' }, NEEDS_AUDIT),
		);
	const body = el('div', null, loading('Loading the workflows…'));
	void (async () => {
		try {
			const { items } = await get<{ items: Usage[] }>(
				secretPath(name, '/usage'),
				undefined,
				ctx.signal,
			);
			body.replaceChildren(
				items.length
					? dataTable({
							caption: `Workflows that used ${name}`,
							compact: true,
							heads: ['Workflow', 'Last used', 'Last execution', 'Environment', 'Uses'],
							rows: items.map((u) =>
								el(
									'tr',
									{ 'data-test': 'usedby-row', 'data-workflow-id': u.workflowId ?? '' },
									el('td', null, workflow(u.workflowName, u.workflowId, u.lastNode)),
									el(
										'td',
										{ class: 'nowrap' },
										el(
											'time',
											{ datetime: u.lastUsedAt, title: formatDateTime(u.lastUsedAt) },
											fromNow(u.lastUsedAt),
										),
									),
									el('td', { class: 'mono' }, u.lastExecutionId ?? '—'),
									el('td', null, u.lastEnvironment ?? '—'),
									el('td', { class: 'num' }, String(u.uses)),
								),
							),
						})
					: el(
							'p',
							{ class: 'muted', 'data-test': 'usedby-empty' },
							'No workflow has used it yet. Workflows show up here after their first use of the secret.',
						),
			);
		} catch (err) {
			if (!isAbort(err)) body.replaceChildren(errorBox(err, 'The workflows could not be listed'));
		}
	})();
	return card(
		'Used by',
		'usedby',
		'usedby-title',
		el('p', { class: 'card-intro muted' }, 'Workflows that used this secret, most recent first.'),
		body,
	);
}
