/** Access tokens (admins): who holds which role and limits, until when; revoke; create (shown once). */
import { del, get, isAbort } from '../api.js';
import { button, el } from '../dom.js';
import { badge, callout, emptyState, errorBox, loading, toast } from '../components/feedback.js';
import { dataTable } from '../components/table.js';
import { confirmDialog } from '../components/confirm.js';
import { formatDateTime, fromNow } from '../format.js';
import { can } from '../session.js';
import type { TokenInfo } from '../types.js';
import { type ViewContext, pageHeader } from '../view.js';
import { openCreateToken } from './token-create.js';

function tokenState(t: TokenInfo): { text: string; kind: string } {
	if (t.revokedAt) return { text: `Revoked ${fromNow(t.revokedAt)}`, kind: 'danger' };
	if (t.expiresAt && Date.parse(t.expiresAt) <= Date.now())
		return { text: 'Expired', kind: 'expired' };
	return { text: 'Active', kind: 'ok' };
}

export function renderTokens(root: HTMLElement, ctx: ViewContext): void {
	if (!can('admin')) {
		root.append(
			pageHeader('Tokens'),
			callout('warning', el('p', null, 'Needs the admin permission (admin role).')),
		);
		return;
	}
	const create = button('Create token', { kind: 'primary', 'data-test': 'token-create' }, 'plus');
	const list = el('div', { 'aria-live': 'polite' }, loading('Loading tokens…'));
	create.addEventListener('click', () => openCreateToken(() => void load()));
	root.append(
		pageHeader(
			'Tokens',
			'Access tokens for n8n credentials, the CLI and people. A token is shown once, when it is created.',
			create,
		),
		list,
	);

	async function load(): Promise<void> {
		try {
			const answer = await get<TokenInfo[] | { items: TokenInfo[] }>(
				'/tokens',
				undefined,
				ctx.signal,
			);
			const tokens = Array.isArray(answer) ? answer : answer.items;
			list.replaceChildren(
				tokens.length
					? table(tokens)
					: emptyState('No tokens.', 'Create one for each n8n credential or person.'),
			);
		} catch (err) {
			if (!isAbort(err)) list.replaceChildren(errorBox(err, 'The tokens could not be listed'));
		}
	}

	function revoke(t: TokenInfo): void {
		void confirmDialog({
			title: `Revoke the token of ${t.subject}?`,
			message: el(
				'p',
				null,
				'It fails on its very next use, everywhere: credentials and sessions that hold it stop working. This cannot be undone.',
			),
			confirmLabel: 'Revoke token',
			danger: true,
			action: async () => {
				await del(`/tokens/${encodeURIComponent(t.jti)}`);
				toast(`Revoked the token of ${t.subject}.`);
				void load();
			},
		});
	}

	const limits = (items: string[], none: string) =>
		items.length
			? el(
					'div',
					{ class: 'chips' },
					items.map((i) => el('span', { class: 'tag' }, i)),
				)
			: el('span', { class: 'muted' }, none);

	function table(tokens: TokenInfo[]): HTMLElement {
		const sorted = [...tokens].sort(
			(a, b) =>
				Number(!!a.revokedAt) - Number(!!b.revokedAt) || b.createdAt.localeCompare(a.createdAt),
		);
		return dataTable({
			caption: 'Access tokens',
			test: 'tokens-table',
			heads: [
				'Subject',
				'Role',
				'Environments',
				'Name patterns',
				'Created',
				'Expires',
				'Status',
				el('th', { scope: 'col' }, el('span', { class: 'sr-only' }, 'Actions')),
			],
			rows: sorted.map((t) => {
				const state = tokenState(t);
				const revokeButton = !t.revokedAt
					? button('Revoke', {
							kind: 'ghost',
							'data-test': 'token-revoke',
							'aria-label': `Revoke the token of ${t.subject}`,
						})
					: null;
				revokeButton?.addEventListener('click', () => revoke(t));
				return el(
					'tr',
					{
						'data-test': 'token-row',
						'data-jti': t.jti,
						'data-subject': t.subject,
						class: t.revokedAt ? 'row-deleted' : null,
					},
					el(
						'td',
						null,
						el(
							'div',
							{ class: 'stack' },
							el('strong', null, t.subject),
							el('span', { class: 'muted mono small' }, t.jti),
						),
					),
					el(
						'td',
						null,
						el(
							'div',
							{ class: 'stack' },
							badge(t.role || 'custom', 'neutral'),
							el('span', { class: 'muted small' }, t.scopes.join(', ')),
						),
					),
					el('td', null, limits(t.environments, 'all')),
					el('td', null, limits(t.secrets, 'all')),
					el(
						'td',
						{ class: 'nowrap' },
						el(
							'div',
							{ class: 'stack' },
							el(
								'time',
								{ datetime: t.createdAt, title: formatDateTime(t.createdAt) },
								fromNow(t.createdAt),
							),
							el('span', { class: 'muted small' }, `by ${t.createdBy}`),
						),
					),
					el(
						'td',
						{ class: 'nowrap' },
						t.expiresAt
							? el(
									'time',
									{ datetime: t.expiresAt, title: formatDateTime(t.expiresAt) },
									fromNow(t.expiresAt),
								)
							: 'never',
					),
					el('td', null, badge(state.text, state.kind)),
					el('td', { class: 'cell-actions' }, revokeButton),
				);
			}),
		});
	}

	void load();
}
