/**
 * Writing values: set a new current value, stage a pending one, add an environment (value typed or
 * generated in the store), and the confirmations for rotate, promote and roll back.
 */
import { post, put, secretPath } from '../api.js';
import { add, button, el } from '../dom.js';
import { confirmDialog } from '../components/confirm.js';
import { errorBox, toast } from '../components/feedback.js';
import { field, textArea, textInput, validateAsYouType } from '../components/fields.js';
import { openModal } from '../components/modal.js';
import { endOfDay } from '../format.js';
import { check, rules } from '../rules.js';
import type { EnvironmentLine, SecretMetadata, VersionInfo } from '../types.js';
import { valueSource } from './value-source.js';

type Done = () => void;

const envName = (env: string) => (env === '*' ? 'all environments (*)' : env);

interface ValueDialog {
	title: string;
	intro: string;
	saveLabel: string;
	saveTest: string;
	/** Ask for the environment (adding one); otherwise it is `environment`. */
	askEnvironment?: boolean;
	environment?: string;
	allowGenerate: boolean;
	/** Sends the request; `source` is `{ value }` or `{ generate }`. */
	send(environment: string, body: Record<string, unknown>): Promise<VersionInfo>;
	done(version: VersionInfo): void;
}

function valueDialog(secret: SecretMetadata, d: ValueDialog): void {
	const r = rules();
	const environment = d.askEnvironment
		? field(
				'Environment',
				textInput({ autocomplete: 'off', spellcheck: 'false', 'data-test': 'value-form-env' }),
				{
					hint: 'For example staging or production; * is the value shared by every environment without its own.',
				},
			)
		: null;
	const checkEnv = environment
		? validateAsYouType(environment, (v) => {
				if (!v.trim()) return 'Name the environment.';
				if (secret.environments.some((l) => l.environment === v.trim()))
					return 'This secret already has a value there.';
				return check(r.environmentName, v.trim());
			})
		: () => true;
	const source = valueSource({
		type: secret.type,
		allowGenerate: d.allowGenerate,
		label: 'New value',
	});
	const reason = field(
		'Reason',
		textArea({ rows: 2, maxlength: 500, 'data-test': 'value-form-reason' }),
		{
			optional: true,
			hint: 'Recorded in the audit trail.',
		},
	);
	const expires = field('Expires', textInput({ type: 'date', 'data-test': 'value-form-expires' }), {
		optional: true,
	});
	const errors = el('div', { class: 'form-errors' });
	const save = button(d.saveLabel, { kind: 'primary', type: 'submit', 'data-test': d.saveTest });
	const cancel = button('Cancel');
	const modal = openModal({
		title: d.title,
		intro: el('p', null, d.intro),
		testId: 'value-dialog',
		onClose: () => source.clear(),
		onSubmit: async (m) => {
			errors.replaceChildren();
			if (!checkEnv()) return environment?.control.focus();
			const value = source.read();
			if (!value) return;
			const body: Record<string, unknown> = { ...value };
			if (reason.control.value.trim()) body.reason = reason.control.value.trim();
			if (expires.control.value) body.expiresAt = endOfDay(expires.control.value);
			m.busy(true);
			try {
				const version = await d.send(
					environment ? environment.control.value.trim() : d.environment!,
					body,
				);
				source.clear();
				m.close();
				d.done(version);
			} catch (err) {
				errors.replaceChildren(errorBox(err, 'Nothing was changed'));
				m.busy(false);
			} finally {
				delete body.value;
			}
		},
	});
	add(
		modal.body,
		environment?.root ?? null,
		source.root,
		el('div', { class: 'grid-2' }, reason.root, expires.root),
		errors,
	);
	cancel.addEventListener('click', () => modal.close());
	modal.footer.append(cancel, save);
	if (environment) environment.control.focus();
	else source.focus();
}

const STORED = 'The value is encrypted and will not be shown again.';

export function setValueDialog(secret: SecretMetadata, line: EnvironmentLine, done: Done): void {
	valueDialog(secret, {
		title: `Set a new value in ${envName(line.environment)}`,
		intro: `The new value becomes current at once${line.currentVersion !== null ? `; v${line.currentVersion} stays available as previous` : ''}.`,
		saveLabel: 'Set value',
		saveTest: 'value-form-save',
		environment: line.environment,
		allowGenerate: false,
		send: (env, body) => put<VersionInfo>(secretPath(secret.name, '/value'), body, { env }),
		done: (v) => {
			toast(`Stored v${v.version} in ${envName(line.environment)}. ${STORED}`);
			done();
		},
	});
}

export function stageDialog(secret: SecretMetadata, line: EnvironmentLine, done: Done): void {
	valueDialog(secret, {
		title: `Stage a value in ${envName(line.environment)}`,
		intro:
			'A staged value is not served until it is promoted: update the other side first, then promote.',
		saveLabel: 'Stage value',
		saveTest: 'value-form-save',
		environment: line.environment,
		allowGenerate: true,
		send: (env, body) => post<VersionInfo>(secretPath(secret.name, '/stage'), body, { env }),
		done: (v) => {
			toast(`Staged v${v.version} in ${envName(line.environment)}. ${STORED}`);
			done();
		},
	});
}

export function addEnvironmentDialog(secret: SecretMetadata, done: Done): void {
	valueDialog(secret, {
		title: `Add an environment to ${secret.name}`,
		intro: 'Its first value: typed here, or generated in the store.',
		saveLabel: 'Add environment',
		saveTest: 'value-form-save',
		askEnvironment: true,
		allowGenerate: true,
		// A generated first value is a rotation of an empty line: the store makes it and keeps it.
		send: (env, body) =>
			'generate' in body
				? post<VersionInfo>(secretPath(secret.name, '/rotate'), body, { env })
				: put<VersionInfo>(secretPath(secret.name, '/value'), body, { env }),
		done: (v) => {
			toast(`Stored v${v.version} in ${envName(v.environment)}. ${STORED}`);
			done();
		},
	});
}

export function rotateDialog(secret: SecretMetadata, line: EnvironmentLine, done: Done): void {
	void confirmDialog({
		title: `Rotate ${secret.name} in ${envName(line.environment)}?`,
		message: el(
			'p',
			null,
			'The store generates a new value and makes it current',
			line.currentVersion !== null
				? `; v${line.currentVersion} stays available as previous for ${secret.previousWindowDays} days.`
				: '.',
			' The new value never reaches this browser.',
		),
		confirmLabel: 'Rotate',
		reason: true,
		action: async (reason) => {
			const v = await post<VersionInfo>(
				secretPath(secret.name, '/rotate'),
				reason ? { reason } : {},
				{ env: line.environment },
			);
			toast(`Rotated: v${v.version} is current in ${envName(line.environment)}.`);
			done();
		},
	});
}

export function promoteDialog(secret: SecretMetadata, line: EnvironmentLine, done: Done): void {
	void confirmDialog({
		title: `Promote v${line.pendingVersion} in ${envName(line.environment)}?`,
		message: el(
			'p',
			null,
			`The staged v${line.pendingVersion} becomes current and is served from now on`,
			line.currentVersion !== null ? `; v${line.currentVersion} becomes previous.` : '.',
		),
		confirmLabel: 'Promote',
		reason: true,
		action: async (reason) => {
			const v = await post<VersionInfo>(
				secretPath(secret.name, '/promote'),
				reason ? { reason } : {},
				{ env: line.environment },
			);
			toast(`Promoted: v${v.version} is current in ${envName(line.environment)}.`);
			done();
		},
	});
}

export function rollbackDialog(secret: SecretMetadata, line: EnvironmentLine, done: Done): void {
	void confirmDialog({
		title: `Roll back ${envName(line.environment)} to v${line.previousVersion}?`,
		message: el(
			'p',
			null,
			`v${line.previousVersion} becomes current again; v${line.currentVersion} is no longer served.`,
		),
		confirmLabel: 'Roll back',
		danger: true,
		reason: true,
		action: async (reason) => {
			const v = await post<VersionInfo>(
				secretPath(secret.name, '/rollback'),
				reason ? { reason } : {},
				{ env: line.environment },
			);
			toast(`Rolled back: v${v.version} is current in ${envName(line.environment)}.`);
			done();
		},
	});
}
