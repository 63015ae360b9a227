/** Delete (soft, restorable within the recovery window), restore and purge (for good). */
import { del, post, secretPath } from '../api.js';
import { el } from '../dom.js';
import { confirmDialog } from '../components/confirm.js';
import { describeError, toast } from '../components/feedback.js';
import { addDays, formatDate } from '../format.js';
import { rules } from '../rules.js';
import type { SecretMetadata } from '../types.js';

export function deleteSecretDialog(secret: Pick<SecretMetadata, 'name'>): Promise<boolean> {
	const days = rules().recoveryWindowDays;
	const until = formatDate(addDays(new Date().toISOString(), days));
	return confirmDialog({
		title: `Delete ${secret.name}?`,
		message: [
			el('p', null, 'Workflows stop getting its values at once.'),
			el(
				'p',
				null,
				`It can be restored with all its versions for ${days} days (until ${until}); after that it is purged for good.`,
			),
		],
		confirmLabel: 'Delete secret',
		danger: true,
		reason: true,
		action: async (reason) => {
			await del(secretPath(secret.name), reason ? { reason } : undefined);
			toast(`Deleted ${secret.name}. It can be restored until ${until}.`);
		},
	});
}

export async function restoreSecret(name: string): Promise<void> {
	try {
		await post(secretPath(name, '/restore'));
		toast(`Restored ${name} with all its versions.`);
	} catch (err) {
		const { code, message } = describeError(err);
		toast(`${code}: ${message}`, 'error');
	}
}

export function purgeSecretDialog(name: string): Promise<boolean> {
	return confirmDialog({
		title: `Purge ${name} for good?`,
		message: [
			el(
				'p',
				null,
				'Every version of every environment is destroyed. This cannot be undone; the audit trail keeps the record.',
			),
		],
		confirmLabel: 'Purge for good',
		danger: true,
		requireText: {
			label: ['Type ', el('code', null, name), ' to confirm'],
			expected: name,
			test: 'purge-confirm-name',
		},
		action: async () => {
			await post(secretPath(name, '/purge'));
			toast(`Purged ${name}.`);
		},
	});
}
