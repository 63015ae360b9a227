/**
 * The list of secrets: search as you type, filters (environment, type, status), sort, cursor paging,
 * and per row the actions the session's permissions allow. Metadata only: no value is ever fetched.
 */
import { get, isAbort } from '../api.js';
import { add, button, el, icon } from '../dom.js';
import { actionMenu, type MenuItem } from '../components/menu.js';
import { emptyState, errorBox, loading } from '../components/feedback.js';
import { selectInput } from '../components/fields.js';
import { CursorPager } from '../components/pager.js';
import { hrefOf, navigate, setIntent } from '../router.js';
import { rules, typeLabel } from '../rules.js';
import { can, who } from '../session.js';
import type { Page, SecretMetadata, Stats } from '../types.js';
import { type ViewContext, pageHeader } from '../view.js';
import { openEditSecret } from './secret-edit.js';
import { deleteSecretDialog, restoreSecret } from './secret-actions.js';
import { openNewSecret } from './new-secret.js';
import { secretsTable } from './secrets-table.js';

const PAGE_SIZE = 25;
const SORTS: [string, string][] = [
	['name', 'Name (A–Z)'],
	['-name', 'Name (Z–A)'],
	['-updatedAt', 'Last updated (newest)'],
	['updatedAt', 'Last updated (oldest)'],
	['-createdAt', 'Created (newest)'],
	['createdAt', 'Created (oldest)'],
];
const STATUSES: [string, string][] = [
	['', 'All statuses'],
	['expiring', 'Expiring'],
	['due', 'Due for rotation'],
	['expired', 'Expired'],
	['deleted', 'Deleted'],
];

/** Kept while the page is open, so coming back from a secret finds the list as it was left. */
const state = { search: '', env: '', type: '', status: '', sort: 'name', pager: new CursorPager() };

export function renderSecretsList(root: HTMLElement, ctx: ViewContext): void {
	const newButton = can('secrets:write')
		? button('Store New Secret', { kind: 'primary', 'data-test': 'new-secret' }, 'plus')
		: null;
	newButton?.addEventListener('click', () => openNewSecret());

	const search = el('input', {
		type: 'search',
		class: 'input search-input',
		placeholder: 'Search name, description, tag',
		'aria-label': 'Search secrets',
		'data-test': 'search',
		value: state.search,
		autocomplete: 'off',
		spellcheck: 'false',
	});
	const envSelect = selectInput([['', 'All environments']], {
		'aria-label': 'Environment',
		'data-test': 'filter-env',
	});
	const typeSelect = selectInput(
		[['', 'All types'], ...rules().types.map((t) => [t, typeLabel(t)] as [string, string])],
		{
			'aria-label': 'Type',
			'data-test': 'filter-type',
		},
	);
	const statusSelect = selectInput(STATUSES, {
		'aria-label': 'Status',
		'data-test': 'filter-status',
	});
	const sortSelect = selectInput(SORTS, { 'aria-label': 'Sort by', 'data-test': 'sort' });
	addEnvironments(envSelect, who()?.environments ?? []);
	envSelect.value = state.env;
	typeSelect.value = state.type;
	statusSelect.value = state.status;
	sortSelect.value = state.sort;

	const summary = el('div', { class: 'summary', 'data-test': 'summary' });
	const results = el('div', { class: 'results', 'aria-live': 'polite', 'aria-busy': 'false' });
	const toolbar = el(
		'div',
		{ class: 'toolbar', role: 'search' },
		el('div', { class: 'search' }, icon('search'), search),
		envSelect,
		typeSelect,
		statusSelect,
		sortSelect,
	);
	add(
		root,
		pageHeader(
			'Secrets',
			'Encrypted in the store. This page shows metadata only, never a value.',
			newButton,
		),
		summary,
		toolbar,
		results,
	);

	let inFlight: AbortController | null = null;
	async function load(): Promise<void> {
		inFlight?.abort();
		const controller = new AbortController();
		inFlight = controller;
		ctx.signal.addEventListener('abort', () => controller.abort());
		results.setAttribute('aria-busy', 'true');
		if (!results.firstChild) results.append(loading('Loading secrets…'));
		try {
			const page = await get<Page<SecretMetadata>>(
				'/secrets',
				{
					search: state.search.trim(),
					env: state.env,
					type: state.type,
					status: state.status,
					sort: state.sort,
					limit: PAGE_SIZE,
					cursor: state.pager.cursor,
				},
				controller.signal,
			);
			addEnvironments(
				envSelect,
				page.items.flatMap((s) => s.environments.map((l) => l.environment)),
			);
			results.replaceChildren(
				page.items.length
					? secretsTable(page.items, { sort: state.sort, setSort, menu: rowMenu })
					: empty(),
				state.pager.render(page.nextCursor, load, 'Secrets pages'),
			);
		} catch (err) {
			if (!isAbort(err)) results.replaceChildren(errorBox(err, 'The secrets could not be listed'));
		} finally {
			if (inFlight === controller) results.setAttribute('aria-busy', 'false');
		}
	}

	function refilter(): void {
		for (const b of summary.querySelectorAll<HTMLElement>('[data-status-filter]'))
			b.setAttribute('aria-pressed', String(b.dataset.statusFilter === state.status));
		state.pager.reset();
		void load();
	}

	let debounce: ReturnType<typeof setTimeout> | undefined;
	search.addEventListener('input', () => {
		clearTimeout(debounce);
		debounce = setTimeout(() => {
			state.search = search.value;
			refilter();
		}, 200);
	});
	ctx.onLeave(() => clearTimeout(debounce));
	for (const [select, key] of [
		[envSelect, 'env'],
		[typeSelect, 'type'],
		[statusSelect, 'status'],
		[sortSelect, 'sort'],
	] as const)
		select.addEventListener('change', () => {
			state[key] = select.value;
			refilter();
		});

	function setSort(value: string): void {
		state.sort = value;
		sortSelect.value = value;
		refilter();
	}

	function setStatus(value: string): void {
		state.status = value;
		statusSelect.value = value;
		refilter();
	}

	function rowMenu(s: SecretMetadata): HTMLElement {
		const items: MenuItem[] = [
			{
				label: 'Open',
				icon: 'right',
				test: 'row-open',
				run: () => navigate(hrefOf.secret(s.name)),
			},
		];
		if (can('secrets:write') && !s.deletedAt)
			items.push({
				label: 'Edit',
				icon: 'edit',
				test: 'row-edit',
				run: () => openEditSecret(s, reloadAll),
			});
		if (can('audit:read'))
			items.push({
				label: 'Change log',
				icon: 'audit',
				test: 'row-changelog',
				run: () => {
					setIntent('changelog');
					navigate(hrefOf.secret(s.name));
				},
			});
		if (can('secrets:delete'))
			items.push(
				s.deletedAt
					? {
							label: 'Restore',
							icon: 'restore',
							test: 'row-restore',
							run: () => void restoreSecret(s.name).then(reloadAll),
						}
					: {
							label: 'Delete',
							icon: 'trash',
							danger: true,
							test: 'row-delete',
							run: () => void deleteSecretDialog(s).then((ok) => (ok ? reloadAll() : undefined)),
						},
			);
		return actionMenu(`Actions for ${s.name}`, items);
	}

	function empty(): HTMLElement {
		const filtered = state.env || state.type || state.status;
		if (state.search.trim()) {
			const clearButton = button('Clear search', { 'data-test': 'clear-search' });
			clearButton.addEventListener('click', () => {
				search.value = '';
				state.search = '';
				refilter();
				search.focus();
			});
			return emptyState(
				`No secret matches “${state.search.trim()}”.`,
				'Search looks in names, descriptions and tags.',
				clearButton,
			);
		}
		if (filtered || state.pager.pageNumber > 1)
			return emptyState('No secret matches these filters.', 'Change or clear the filters above.');
		if (can('secrets:write')) {
			const first = button(
				'Store New Secret',
				{ kind: 'primary', 'data-test': 'new-secret-empty' },
				'plus',
			);
			first.addEventListener('click', () => openNewSecret());
			return emptyState('No secrets yet.', 'Store your first secret.', first);
		}
		return emptyState(
			'No secrets yet.',
			'Someone with the operator or admin role stores them; they show up here.',
		);
	}

	async function loadSummary(): Promise<void> {
		try {
			const stats = await get<Stats>('/stats', undefined, ctx.signal);
			addEnvironments(envSelect, Object.keys(stats.byEnvironment));
			const chip = (label: string, count: number, status: string, kind: string) => {
				const b = el(
					'button',
					{
						type: 'button',
						class: `summary-chip summary-${kind}`,
						'data-test': `summary-${status || 'all'}`,
						'aria-pressed': String(state.status === status),
						'data-status-filter': status,
					},
					el('strong', null, String(count)),
					` ${label}`,
				);
				b.addEventListener('click', () => setStatus(status));
				return b;
			};
			summary.replaceChildren();
			add(
				summary,
				chip(stats.secrets === 1 ? 'secret' : 'secrets', stats.secrets, '', 'neutral'),
				chip('expiring within 30 days', stats.expiringWithin30Days, 'expiring', 'expiring'),
				chip('due for rotation', stats.dueForRotation + stats.remindersDue, 'due', 'due'),
				chip('expired', stats.expired, 'expired', 'expired'),
				can('secrets:delete') || stats.deleted
					? chip('deleted', stats.deleted, 'deleted', 'deleted')
					: null,
			);
		} catch (err) {
			if (!isAbort(err)) summary.replaceChildren();
		}
	}

	/** After a change: the page and the counts above it. */
	function reloadAll(): void {
		void loadSummary();
		void load();
	}

	reloadAll();
}

/** Adds environment names to the filter's options, sorted, keeping the selection. */
function addEnvironments(select: HTMLSelectElement, names: string[]): void {
	const known = new Set([...select.options].map((o) => o.value));
	const added = [...new Set(names)].filter((n) => n && !known.has(n));
	if (!added.length) return;
	const selected = select.value;
	const all = [...[...known].filter(Boolean), ...added].sort();
	select.replaceChildren(
		el('option', { value: '' }, 'All environments'),
		...all.map((n) => el('option', { value: n }, n === '*' ? '* (all environments)' : n)),
	);
	select.value = selected;
}
