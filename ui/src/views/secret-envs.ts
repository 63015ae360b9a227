/** One environment of a secret: its labels, the actions on its value line and its versions. */
import { get, isAbort, secretPath } from '../api.js';
import { button, el } from '../dom.js';
import { badge, errorBox, loading } from '../components/feedback.js';
import { dataTable } from '../components/table.js';
import { formatDateTime, fromNow, lineStatus } from '../format.js';
import { NOT_GENERATED } from '../rules.js';
import { can } from '../session.js';
import type { EnvironmentLine, SecretMetadata, VersionInfo } from '../types.js';
import type { ViewContext } from '../view.js';
import { revealControl } from './reveal.js';
import {
	promoteDialog,
	rollbackDialog,
	rotateDialog,
	setValueDialog,
	stageDialog,
} from './value-dialogs.js';

const LABEL_KIND: Record<string, string> = {
	current: 'success',
	previous: 'neutral',
	pending: 'info',
};

function fact(term: string, ...value: (Node | string)[]): HTMLElement {
	return el('div', { class: 'fact' }, el('dt', null, term), el('dd', null, ...value));
}

function time(iso: string | null): Node | string {
	return iso ? el('time', { datetime: iso, title: formatDateTime(iso) }, fromNow(iso)) : '—';
}

export function environmentSection(
	secret: SecretMetadata,
	line: EnvironmentLine,
	ctx: ViewContext,
	refresh: () => void,
): HTMLElement {
	const live = !secret.deletedAt;
	const writable = live && can('secrets:write');
	const actions: HTMLElement[] = [];
	const revealSlot = el('div', { class: 'reveal-slot' });
	if (writable) {
		const setValue = button('Set new value', { 'data-test': 'action-set-value' }, 'upload');
		setValue.addEventListener('click', () => setValueDialog(secret, line, refresh));
		actions.push(setValue);
		if (!NOT_GENERATED.has(secret.type)) {
			const rotate = button('Rotate', { 'data-test': 'action-rotate' }, 'rotate');
			rotate.addEventListener('click', () => rotateDialog(secret, line, refresh));
			actions.push(rotate);
		}
		const stage = button('Stage', { 'data-test': 'action-stage' }, 'clock');
		stage.addEventListener('click', () => stageDialog(secret, line, refresh));
		actions.push(stage);
		if (line.pendingVersion !== null) {
			const promote = button(
				`Promote v${line.pendingVersion}`,
				{ kind: 'primary', 'data-test': 'action-promote' },
				'check',
			);
			promote.addEventListener('click', () => promoteDialog(secret, line, refresh));
			actions.push(promote);
		}
		if (line.previousVersion !== null && line.currentVersion !== null) {
			const rollback = button(
				`Roll back to v${line.previousVersion}`,
				{ 'data-test': 'action-rollback' },
				'undo',
			);
			rollback.addEventListener('click', () => rollbackDialog(secret, line, refresh));
			actions.push(rollback);
		}
	}
	if (live && line.currentVersion !== null)
		actions.push(revealControl(secret.name, line.environment, revealSlot, ctx));

	const versions = el('div', { class: 'versions' }, loading('Loading versions…'));
	const title = line.environment === '*' ? 'All environments (*)' : line.environment;
	const section = el(
		'section',
		{
			class: 'card env-section',
			'data-test': 'env-section',
			'data-env': line.environment,
			'aria-label': `Environment ${title}`,
		},
		el(
			'header',
			{ class: 'env-header' },
			el('h3', { class: 'env-title' }, title),
			el(
				'div',
				{ class: 'badges' },
				line.currentVersion !== null
					? badge(`current v${line.currentVersion}`, 'success')
					: badge('no current value', 'warning'),
				line.pendingVersion !== null ? badge(`pending v${line.pendingVersion}`, 'info') : null,
				line.previousVersion !== null
					? badge(`previous v${line.previousVersion}`, 'neutral')
					: null,
				lineStatus(line).map((s) => badge(s.text, s.kind)),
			),
		),
		el(
			'dl',
			{ class: 'facts' },
			fact('Current since', time(line.currentSince)),
			fact('Expires', line.expiresAt ? time(line.expiresAt) : 'never'),
			fact('Next rotation', line.nextRotationAt ? time(line.nextRotationAt) : 'not scheduled'),
		),
		actions.length
			? el(
					'div',
					{ class: 'env-actions', role: 'group', 'aria-label': `Actions in ${title}` },
					actions,
				)
			: null,
		revealSlot,
		versions,
	);
	void loadVersions(secret.name, line.environment, versions, ctx);
	return section;
}

async function loadVersions(
	name: string,
	environment: string,
	into: HTMLElement,
	ctx: ViewContext,
): Promise<void> {
	try {
		const list = await get<VersionInfo[]>(
			secretPath(name, '/versions'),
			{ env: environment },
			ctx.signal,
		);
		into.replaceChildren(
			dataTable({
				caption: `Versions in ${environment}`,
				compact: true,
				test: 'versions-table',
				heads: ['Version', 'Labels', 'Created', 'By', 'Reason', 'Expires'],
				rows: [...list]
					.sort((a, b) => b.version - a.version)
					.map((v) =>
						el(
							'tr',
							{
								'data-test': 'version-row',
								'data-version': v.version,
								class: v.destroyedAt ? 'row-deleted' : null,
							},
							el('td', { class: 'mono' }, `v${v.version}`),
							el(
								'td',
								null,
								el(
									'div',
									{ class: 'badges' },
									v.labels.map((l) => badge(l, LABEL_KIND[l] ?? 'neutral', { 'data-label': l })),
									v.destroyedAt ? badge('destroyed', 'danger') : null,
								),
							),
							el('td', { class: 'nowrap' }, time(v.createdAt)),
							el('td', null, v.createdBy),
							el(
								'td',
								{ class: 'cell-description' },
								v.reason ?? el('span', { class: 'muted' }, '—'),
							),
							el(
								'td',
								{ class: 'nowrap' },
								v.expiresAt ? time(v.expiresAt) : el('span', { class: 'muted' }, 'never'),
							),
						),
					),
			}),
		);
	} catch (err) {
		if (!isAbort(err)) into.replaceChildren(errorBox(err, 'The versions could not be listed'));
	}
}
