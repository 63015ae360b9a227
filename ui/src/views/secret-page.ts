/**
 * A secret's page: what it is (type, description, tags, bindings, rotation), its environments with
 * their versions and value actions, who changed it and which workflows use it. A deleted secret
 * shows when it can still be restored.
 */
import { get, isAbort, secretPath } from '../api.js';
import { add, button, el, icon } from '../dom.js';
import { badge, callout, errorBox, loading } from '../components/feedback.js';
import { copyText } from '../components/copy.js';
import { addDays, formatDate, formatDateTime, fromNow, secretStatus } from '../format.js';
import { hrefOf, navigate, takeIntent } from '../router.js';
import { policyLabel, rules, typeLabel } from '../rules.js';
import { can } from '../session.js';
import type { SecretMetadata } from '../types.js';
import { type ViewContext, pageHeader } from '../view.js';
import { changeLog, usedBy } from './secret-activity.js';
import { deleteSecretDialog, purgeSecretDialog, restoreSecret } from './secret-actions.js';
import { openEditSecret } from './secret-edit.js';
import { environmentSection } from './secret-envs.js';
import { addEnvironmentDialog } from './value-dialogs.js';

export function renderSecret(root: HTMLElement, ctx: ViewContext, name: string): void {
	const intent = takeIntent();
	const breadcrumb = el(
		'nav',
		{ class: 'breadcrumb', 'aria-label': 'Breadcrumb' },
		el('a', { href: hrefOf.secrets() }, icon('left'), 'Secrets'),
	);

	async function load(): Promise<void> {
		try {
			const secret = await get<SecretMetadata>(secretPath(name), undefined, ctx.signal);
			draw(secret);
		} catch (err) {
			if (isAbort(err)) return;
			root.replaceChildren(
				breadcrumb,
				pageHeader(name),
				errorBox(err, 'The secret could not be read'),
			);
		}
	}

	function refresh(): void {
		void load();
	}

	function draw(secret: SecretMetadata): void {
		const focused = root.contains(document.activeElement)
			? document.activeElement?.getAttribute('data-test')
			: null;
		const live = !secret.deletedAt;
		const actions: HTMLElement[] = [];
		if (live && can('secrets:write')) {
			const edit = button('Edit', { 'data-test': 'edit' }, 'edit');
			edit.addEventListener('click', () => openEditSecret(secret, refresh));
			actions.push(edit);
		}
		if (live && can('secrets:delete')) {
			const remove = button('Delete', { kind: 'danger', 'data-test': 'delete' }, 'trash');
			remove.addEventListener(
				'click',
				() => void deleteSecretDialog(secret).then((ok) => ok && refresh()),
			);
			actions.push(remove);
		}
		const header = pageHeader(
			el('span', { class: 'mono', 'data-test': 'secret-name' }, secret.name),
			el(
				'span',
				{ class: 'badges' },
				badge(typeLabel(secret.type), 'type'),
				secretStatus(secret).map((s) => badge(s.text, s.kind, { 'data-status': s.kind })),
			),
			...actions,
		);

		const envs = el(
			'div',
			{ class: 'envs' },
			secret.environments.length
				? secret.environments.map((line) => environmentSection(secret, line, ctx, refresh))
				: el(
						'div',
						{ class: 'card' },
						el('p', { class: 'muted' }, 'No value in any environment yet.'),
					),
		);
		let addEnv: HTMLElement | null = null;
		if (live && can('secrets:write')) {
			addEnv = button('Add environment', { 'data-test': 'add-environment' }, 'plus');
			addEnv.addEventListener('click', () => addEnvironmentDialog(secret, refresh));
		}
		const log = changeLog(secret.name, ctx);
		root.replaceChildren();
		add(
			root,
			breadcrumb,
			header,
			secret.deletedAt ? deletedBanner(secret) : null,
			details(secret),
			el(
				'div',
				{ class: 'section-head' },
				el('h2', { class: 'section-title' }, 'Environments'),
				addEnv,
			),
			envs,
			usedBy(secret.name, ctx),
			log,
		);
		if (intent === 'changelog' && !root.dataset.arrived) {
			root.dataset.arrived = 'yes';
			log.scrollIntoView({ block: 'start' });
			log.querySelector<HTMLElement>('h2')?.focus();
		} else if (focused) root.querySelector<HTMLElement>(`[data-test="${focused}"]`)?.focus();
	}

	function deletedBanner(secret: SecretMetadata): HTMLElement {
		const until = addDays(secret.deletedAt!, rules().recoveryWindowDays);
		const buttons: HTMLElement[] = [];
		if (can('secrets:delete')) {
			const restore = button('Restore', { kind: 'primary', 'data-test': 'restore' }, 'restore');
			restore.addEventListener('click', async () => {
				restore.disabled = true;
				await restoreSecret(secret.name);
				refresh();
			});
			buttons.push(restore);
		}
		if (can('admin')) {
			const purge = button('Purge', { kind: 'danger', 'data-test': 'purge' }, 'trash');
			purge.addEventListener(
				'click',
				() => void purgeSecretDialog(secret.name).then((ok) => ok && navigate(hrefOf.secrets())),
			);
			buttons.push(purge);
		}
		return el(
			'div',
			{ 'data-test': 'deleted-banner' },
			callout(
				'danger',
				el(
					'strong',
					{ class: 'callout-title' },
					'This secret is deleted: no workflow gets its values.',
				),
				el(
					'p',
					null,
					`Deleted on ${formatDateTime(secret.deletedAt)} by ${secret.deletedBy ?? secret.updatedBy}; restorable until ${formatDate(until)}.`,
				),
				buttons.length ? el('div', { class: 'callout-actions' }, buttons) : null,
			),
		);
	}

	root.replaceChildren(breadcrumb, pageHeader(name), loading('Loading the secret…'));
	void load();
}

function details(secret: SecretMetadata): HTMLElement {
	const reference = `[[secret:${secret.name}]]`;
	const refCode = el('code', { class: 'reference' }, reference);
	const copyRef = button(
		'',
		{ kind: 'ghost', className: 'icon-btn', 'aria-label': 'Copy the reference' },
		'copy',
	);
	copyRef.addEventListener('click', () => void copyText(reference, refCode));
	const list = (items: string[], none: string) =>
		items.length
			? el(
					'div',
					{ class: 'chips' },
					items.map((t) => el('span', { class: 'tag' }, t)),
				)
			: el('span', { class: 'muted' }, none);
	const rotation =
		secret.rotationPolicy === 'ON_DEMAND' || !secret.rotationIntervalDays
			? policyLabel(secret.rotationPolicy)
			: `${policyLabel(secret.rotationPolicy)}, every ${secret.rotationIntervalDays} days`;
	const fact = (term: string, ...value: (Node | string)[]) =>
		el('div', { class: 'fact' }, el('dt', null, term), el('dd', null, ...value));
	return el(
		'section',
		{ class: 'card details', 'aria-label': 'Details', 'data-test': 'secret-details' },
		secret.description
			? el('p', { class: 'description', 'data-test': 'secret-description' }, secret.description)
			: el('p', { class: 'description muted' }, 'No description.'),
		el(
			'dl',
			{ class: 'facts facts-wide' },
			fact('Reference', el('span', { class: 'inline' }, refCode, copyRef)),
			fact('Tags', list(secret.tags, 'none')),
			fact('Allowed hosts', list(secret.allowedHosts, 'not bound: any destination')),
			secret.allowedConsumers.length
				? fact('Allowed consumers', list(secret.allowedConsumers, ''))
				: null,
			fact(
				'Rotation',
				rotation,
				secret.nextRotationAt
					? el('span', { class: 'muted' }, ` · next ${fromNow(secret.nextRotationAt)}`)
					: '',
			),
			fact('Versions kept', String(secret.maxVersions)),
			fact('Previous value served', `${secret.previousWindowDays} days`),
			fact(
				'Created',
				el(
					'time',
					{ datetime: secret.createdAt, title: formatDateTime(secret.createdAt) },
					fromNow(secret.createdAt),
				),
				` by ${secret.createdBy}`,
			),
			fact(
				'Last updated',
				el(
					'time',
					{ datetime: secret.updatedAt, title: formatDateTime(secret.updatedAt) },
					fromNow(secret.updatedAt),
				),
				` by ${secret.updatedBy}`,
			),
		),
	);
}
