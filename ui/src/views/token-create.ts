/**
 * Creating an access token: subject, role (explained), limits and lifetime. The token is shown once,
 * with the n8n credential fields to paste it into; "Done" (or closing) removes it from the DOM.
 */
import { post } from '../api.js';
import { button, el } from '../dom.js';
import { errorBox } from '../components/feedback.js';
import { copyText } from '../components/copy.js';
import { field, selectInput, textInput, validateAsYouType } from '../components/fields.js';
import { openModal } from '../components/modal.js';
import { check, listOf, rules } from '../rules.js';
import { checkList } from './new-secret.js';

/** What each role is for, in one line. */
export const ROLE_HELP: Record<string, string> = {
	viewer: 'Lists secrets and their metadata; never uses or sees a value.',
	user: 'Workflows use secrets in requests (Secret HTTP Request node) without seeing them.',
	relay: 'Has the server send requests with host-bound secrets; never receives a value.',
	runtime:
		'For n8n hosts in remote mode: receives values to send them itself (Secret Reference Auth). Never for a person.',
	operator: 'Uses, stores, rotates, stages, promotes and rolls back secrets.',
	revealer: 'Uses secrets and reveals their values (every reveal is audited).',
	auditor: 'Lists secrets and reads and verifies the audit trail.',
	admin: 'Everything: tokens, deletion, purge, keys.',
};

/** Which n8n credential a token of this role goes into, and what uses it there. */
function credentialFor(role: string): { credential: string; usedBy: string } {
	if (role === 'runtime')
		return {
			credential: 'Secret Reference Auth',
			usedBy:
				'n8n’s own HTTP Request node, with Authentication “Predefined Credential Type” and this credential type.',
		};
	const usedBy: Record<string, string> = {
		user: 'the Secret HTTP Request node (it sends the request through this server, so the value never enters n8n).',
		relay: 'the Secret HTTP Request node (requests go through this server’s relay).',
		operator:
			'the Secrets node (store, rotate, stage, promote, roll back) and the Secret HTTP Request node.',
		revealer: 'the Secrets node’s Reveal operation.',
		viewer: 'the Secrets node’s list operations and the Secrets Trigger.',
		auditor: 'the Secrets node’s list and audit operations and the Secrets Trigger.',
		admin: 'every node of the package; prefer a narrower role for workflows.',
	};
	return { credential: 'Secrets Store API', usedBy: usedBy[role] ?? 'the Secrets nodes.' };
}

export function openCreateToken(onCreated: () => void): void {
	const r = rules();
	const roles = Object.keys(r.roles);
	const subject = field(
		'Subject',
		textInput({
			autocomplete: 'off',
			spellcheck: 'false',
			placeholder: 'n8n-production or alice@example.com',
			'data-test': 'token-form-subject',
		}),
		{
			hint: 'Who or what holds the token; it is the actor in the audit trail.',
		},
	);
	const role = field(
		'Role',
		selectInput(
			roles.map((x) => [x, x]),
			{ 'data-test': 'token-form-role' },
		),
	);
	role.control.value = roles.includes('user') ? 'user' : roles[0];
	const roleHelp = el('p', { class: 'field-hint', 'data-test': 'token-form-role-help' });
	role.root.append(roleHelp);
	const environments = field(
		'Environments',
		textInput({
			autocomplete: 'off',
			spellcheck: 'false',
			placeholder: 'production',
			'data-test': 'token-form-environments',
		}),
		{
			optional: true,
			hint: 'Comma separated. Empty: every environment.',
		},
	);
	const patterns = field(
		'Name patterns',
		textInput({
			autocomplete: 'off',
			spellcheck: 'false',
			placeholder: 'stripe-*, payroll-db',
			'data-test': 'token-form-secrets',
		}),
		{
			optional: true,
			hint: 'Comma separated, * and ? as wildcards. Empty: every secret.',
		},
	);
	const ttl = field(
		'Lifetime',
		textInput({
			autocomplete: 'off',
			spellcheck: 'false',
			value: '90d',
			'data-test': 'token-form-ttl',
		}),
		{
			hint: `For example ${r.ttl.examples.join(', ')}.`,
		},
	);
	const errors = el('div', { class: 'form-errors' });
	const syncHelp = () => {
		roleHelp.textContent = `${ROLE_HELP[role.control.value] ?? ''} Scopes: ${(r.roles[role.control.value] ?? []).join(', ')}.`;
	};
	role.control.addEventListener('change', syncHelp);
	syncHelp();
	const checks = [
		validateAsYouType(subject, (v) => (v ? check(r.subject, v) : 'Name who holds the token.')),
		validateAsYouType(environments, (v) => checkList(r.environmentName, v)),
		validateAsYouType(patterns, (v) => checkList(r.namePattern, v)),
		validateAsYouType(ttl, (v) => (v.trim() === 'never' ? null : check(r.ttl, v.trim()))),
	];

	let shown: HTMLElement | null = null;
	const submit = button('Create token', {
		kind: 'primary',
		type: 'submit',
		'data-test': 'token-form-submit',
	});
	const cancel = button('Cancel');
	const modal = openModal({
		title: 'Create an access token',
		wide: true,
		testId: 'token-dialog',
		// However the dialog closes, the token leaves the DOM with it.
		onClose: () => {
			shown?.replaceChildren();
			shown = null;
		},
		onSubmit: async (m) => {
			if (shown) return m.close();
			errors.replaceChildren();
			if (!checks.map((run) => run()).every(Boolean)) return;
			m.busy(true);
			try {
				const answer = await post<{ token: string }>('/tokens', {
					subject: subject.control.value,
					role: role.control.value,
					environments: listOf(environments.control.value),
					secrets: listOf(patterns.control.value),
					ttl: ttl.control.value.trim(),
				});
				const token = answer.token;
				answer.token = '';
				showToken(m.body, m.footer, token, role.control.value, listOf(environments.control.value));
				onCreated();
			} catch (err) {
				errors.replaceChildren(errorBox(err, 'No token was created'));
				m.busy(false);
			}
		},
	});
	modal.body.append(
		el('div', { class: 'grid-2' }, subject.root, role.root),
		el('div', { class: 'grid-2' }, environments.root, patterns.root),
		ttl.root,
		errors,
	);
	cancel.addEventListener('click', () => modal.close());
	modal.footer.append(cancel, submit);
	subject.control.focus();

	function showToken(
		body: HTMLElement,
		footer: HTMLElement,
		token: string,
		chosenRole: string,
		envs: string[],
	): void {
		const value = el('code', { class: 'token-value', 'data-test': 'token-created-value' }, token);
		const copy = button('Copy', { 'data-test': 'token-copy' }, 'copy');
		copy.addEventListener('click', () => void copyText(value.textContent ?? '', value));
		const { credential, usedBy } = credentialFor(chosenRole);
		const row = (k: string, v: Node | string) =>
			el('tr', null, el('th', { scope: 'row' }, k), el('td', null, v));
		shown = el(
			'div',
			{ class: 'token-created', 'data-test': 'token-created' },
			el(
				'div',
				{ class: 'callout callout-warning', role: 'status' },
				el(
					'p',
					null,
					el('strong', null, 'Copy the token now.'),
					' It is shown once and cannot be read again; if it is lost, revoke it and create another.',
				),
			),
			el('div', { class: 'token-box' }, value, copy),
			el('h3', { class: 'subhead' }, `In n8n: a “${credential}” credential`),
			el(
				'table',
				{ class: 'table table-compact credential-fields', 'data-test': 'credential-fields' },
				el('caption', { class: 'sr-only' }, 'n8n credential fields'),
				el(
					'tbody',
					null,
					row('Connection', 'Remote (n8n-secrets serve)'),
					row('Server URL', el('code', null, window.location.origin)),
					row('Access Token', 'the token above'),
					row(
						'Environment',
						envs.length === 1 ? envs[0] : 'production (or the environment its workflows use)',
					),
					...(credential === 'Secret Reference Auth'
						? [
								row('Send As', 'how the upstream expects it (Bearer Token, Header, …)'),
								row('Value', el('code', null, '[[secret:stripe-key]]')),
							]
						: []),
				),
			),
			el('p', { class: 'field-hint' }, `Used by ${usedBy}`),
		);
		body.replaceChildren(shown);
		const done = button('Done', { kind: 'primary', 'data-test': 'token-done' });
		done.addEventListener('click', () => modal.close());
		footer.replaceChildren(done);
		done.focus();
	}
}
