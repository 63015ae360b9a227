/** A table of audit events, for the Audit page and a secret's change log. */
import { el } from '../dom.js';
import { badge } from '../components/feedback.js';
import { dataTable } from '../components/table.js';
import { formatDateTime } from '../format.js';
import { hrefOf } from '../router.js';
import type { AuditEvent } from '../types.js';

const OUTCOME_KIND: Record<string, string> = {
	success: 'success',
	denied: 'warning',
	failure: 'danger',
};
const dash = () => el('span', { class: 'muted' }, '—');

export function auditTable(
	events: AuditEvent[],
	options: { withSecret: boolean; rowTest: string; caption: string },
): HTMLElement {
	const heads = [
		'Time',
		'Actor',
		'Action',
		options.withSecret ? 'Secret' : null,
		'Environment',
		'Version',
		'Outcome',
		'Reason',
		'Workflow',
		'Execution',
	].filter((h): h is string => h !== null);
	return dataTable({
		caption: options.caption,
		compact: true,
		heads,
		rows: events.map((e) =>
			el(
				'tr',
				{
					'data-test': options.rowTest,
					'data-seq': e.seq,
					'data-action': e.action,
					'data-outcome': e.outcome,
				},
				el('td', { class: 'nowrap' }, el('time', { datetime: e.time }, formatDateTime(e.time))),
				el('td', { class: 'nowrap' }, e.actor),
				el('td', null, el('code', { class: 'action' }, e.action)),
				options.withSecret
					? el('td', null, e.secret ? el('a', { href: hrefOf.secret(e.secret) }, e.secret) : dash())
					: null,
				el('td', null, e.environment ?? dash()),
				el('td', { class: 'mono' }, e.version !== null ? `v${e.version}` : dash()),
				el('td', null, badge(e.outcome, OUTCOME_KIND[e.outcome] ?? 'neutral')),
				el('td', { class: 'cell-reason' }, e.reason ?? dash()),
				el('td', null, workflow(e.workflowName, e.workflowId, e.node, e.destinationHost)),
				el('td', { class: 'mono' }, e.executionId ?? dash()),
			),
		),
	});
}

export function workflow(
	name: string | null,
	id: string | null,
	node?: string | null,
	host?: string | null,
): HTMLElement {
	if (!name && !id && !host) return dash();
	return el(
		'div',
		{ class: 'stack' },
		name ? el('span', null, name) : null,
		id ? el('span', { class: 'muted mono' }, id) : null,
		node ? el('span', { class: 'muted' }, `node ${node}`) : null,
		host ? el('span', { class: 'muted' }, `to ${host}`) : null,
	);
}
