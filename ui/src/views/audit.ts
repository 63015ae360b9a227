/** The audit trail (audit:read): filters, paging, and a check of the hash chain. */
import { get, isAbort } from '../api.js';
import { button, el, icon } from '../dom.js';
import { callout, emptyState, errorBox, loading } from '../components/feedback.js';
import { field, selectInput, textInput } from '../components/fields.js';
import { CursorPager } from '../components/pager.js';
import { formatDateTime, localToIso } from '../format.js';
import { rules } from '../rules.js';
import { can } from '../session.js';
import type { AuditEvent, Page } from '../types.js';
import { type ViewContext, pageHeader } from '../view.js';
import { auditTable } from './audit-table.js';

const PAGE_SIZE = 50;

interface VerifyReport {
	ok: boolean;
	events: number;
	archivedThrough?: number;
	integrityAlarms?: number;
	brokenAt?: { seq: number; id: string | null; problem: string };
	[more: string]: unknown;
}

export function renderAudit(root: HTMLElement, ctx: ViewContext): void {
	if (!can('audit:read')) {
		root.append(
			pageHeader('Audit'),
			callout('warning', el('p', null, 'Needs the audit:read permission (auditor or admin role).')),
		);
		return;
	}
	const verify = button('Verify chain', { 'data-test': 'audit-verify' }, 'shield');
	const verifyResult = el('div', { class: 'verify-slot', 'aria-live': 'polite' });
	const text = (label: string, test: string, attrs: Record<string, string> = {}) =>
		field(
			label,
			textInput({ autocomplete: 'off', spellcheck: 'false', 'data-test': test, ...attrs }),
		);
	const f = {
		secret: text('Secret', 'audit-filter-secret'),
		action: field(
			'Action',
			selectInput(
				[['', 'Any action'], ...rules().auditActions.map((a) => [a, a] as [string, string])],
				{
					'data-test': 'audit-filter-action',
				},
			),
		),
		actor: text('Actor', 'audit-filter-actor'),
		outcome: field(
			'Outcome',
			selectInput(
				[
					['', 'Any outcome'],
					['success', 'success'],
					['denied', 'denied'],
					['failure', 'failure'],
				],
				{ 'data-test': 'audit-filter-outcome' },
			),
		),
		workflowId: text('Workflow id', 'audit-filter-workflow'),
		executionId: text('Execution id', 'audit-filter-execution'),
		since: text('Since', 'audit-filter-since', { type: 'datetime-local' }),
		until: text('Until', 'audit-filter-until', { type: 'datetime-local' }),
	};
	const apply = button('Apply filters', {
		kind: 'primary',
		type: 'submit',
		'data-test': 'audit-apply',
	});
	const reset = button('Clear', { type: 'reset', 'data-test': 'audit-clear' });
	const filters = el(
		'form',
		{ class: 'card filters', 'aria-label': 'Filter events', novalidate: true },
		el(
			'div',
			{ class: 'filter-grid' },
			Object.values(f).map((x) => x.root),
		),
		el('div', { class: 'filter-actions' }, reset, apply),
	);
	const results = el('div', { 'aria-live': 'polite' }, loading('Loading events…'));
	const pager = new CursorPager();
	root.append(
		pageHeader(
			'Audit',
			'Every operation, success or not, with who, which token, workflow and execution. Never a value.',
			verify,
		),
		verifyResult,
		filters,
		results,
	);

	async function load(): Promise<void> {
		results.setAttribute('aria-busy', 'true');
		try {
			const page = await get<Page<AuditEvent>>(
				'/audit',
				{
					secret: f.secret.control.value.trim(),
					action: f.action.control.value,
					actor: f.actor.control.value.trim(),
					outcome: f.outcome.control.value,
					workflowId: f.workflowId.control.value.trim(),
					executionId: f.executionId.control.value.trim(),
					since: localToIso(f.since.control.value),
					until: localToIso(f.until.control.value),
					limit: PAGE_SIZE,
					cursor: pager.cursor,
				},
				ctx.signal,
			);
			results.replaceChildren(
				page.items.length
					? auditTable(page.items, {
							withSecret: true,
							rowTest: 'audit-row',
							caption: 'Audit events',
						})
					: emptyState('No event matches.', 'Change or clear the filters.'),
				pager.render(page.nextCursor, () => void load(), 'Audit pages'),
			);
		} catch (err) {
			if (!isAbort(err))
				results.replaceChildren(errorBox(err, 'The audit trail could not be read'));
		} finally {
			results.setAttribute('aria-busy', 'false');
		}
	}

	filters.addEventListener('submit', (event) => {
		event.preventDefault();
		pager.reset();
		void load();
	});
	filters.addEventListener('reset', () => {
		setTimeout(() => {
			pager.reset();
			void load();
		});
	});

	verify.addEventListener('click', async () => {
		verify.disabled = true;
		verifyResult.replaceChildren(loading('Checking every event of the chain…'));
		try {
			verifyResult.replaceChildren(
				report(await get<VerifyReport>('/audit/verify', undefined, ctx.signal)),
			);
		} catch (err) {
			if (!isAbort(err))
				verifyResult.replaceChildren(errorBox(err, 'The chain could not be checked'));
		} finally {
			verify.disabled = false;
		}
	});

	void load();
}

function report(r: VerifyReport): HTMLElement {
	const archived = r.archivedThrough ?? 0;
	const facts: [string, string][] = [
		['Events checked', String(r.events)],
		['Range', r.events ? `#${archived + 1} to #${archived + r.events}` : 'none'],
	];
	if (archived)
		facts.push([
			'Archived before',
			`#${archived} (the chain is checked from the archive checkpoint)`,
		]);
	if (r.integrityAlarms) facts.push(['Integrity alarms recorded', String(r.integrityAlarms)]);
	facts.push(['Head seal', r.ok ? 'verified' : r.brokenAt ? 'not reached' : 'failed']);
	for (const [k, v] of Object.entries(r))
		if (
			!['ok', 'events', 'archivedThrough', 'integrityAlarms', 'brokenAt'].includes(k) &&
			(typeof v === 'string' || typeof v === 'number')
		)
			facts.push([k, String(v)]);
	facts.push(['Checked at', formatDateTime(new Date().toISOString())]);
	return el(
		'div',
		{
			class: `callout ${r.ok ? 'callout-success' : 'callout-danger'}`,
			'data-test': 'audit-verify-result',
			'data-ok': String(r.ok),
			role: r.ok ? 'status' : 'alert',
		},
		icon(r.ok ? 'check' : 'alert'),
		el(
			'div',
			null,
			el(
				'strong',
				{ class: 'callout-title' },
				r.ok ? 'The audit chain is intact.' : 'The audit chain is broken.',
			),
			r.brokenAt ? el('p', null, `At event #${r.brokenAt.seq}: ${r.brokenAt.problem}`) : null,
			r.integrityAlarms
				? el(
						'p',
						null,
						'The chain records integrity failures: look at the events with outcome "failure".',
					)
				: null,
			el(
				'dl',
				{ class: 'facts' },
				facts.map(([k, v]) => el('div', { class: 'fact' }, el('dt', null, k), el('dd', null, v))),
			),
		),
	);
}
