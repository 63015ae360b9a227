/** `key rotate`: a new master key, and/or new data keys for every value (the master key holder's). */
import type { Command } from 'commander';

import type { RemoteSecrets } from '../../client/remote-secrets';
import { SecretsError } from '../../core/errors';
import { type KeyProvider, keyProviderFromEnv } from '../../crypto/master-key';
import { openEmbedded } from '../../service/config';
import { json } from '../format';
import type { CliIo } from '../io';
import { jsonOption } from '../options';
import {
	closeAfter,
	commandEnv,
	globalsOf,
	noteReadOnly,
	serverUrl,
	withService,
} from '../session';

/**
 * A rotation that switched the master key and was then interrupted (killed during re-encryption) is
 * resumed with the NEW key as the current one. Started again as the first time (old key current, new
 * key in N8N_SECRETS_NEW_*), the old key is refused as retired: when the new key opens the store, say
 * exactly how to resume.
 */
async function resumeAdvice(
	env: NodeJS.ProcessEnv,
	newKey: KeyProvider,
	err: unknown,
): Promise<unknown> {
	if (!(err instanceof SecretsError) || err.code !== 'WRONG_MASTER_KEY') return err;
	const opened = await openEmbedded(env, {}, newKey).catch(() => undefined);
	if (!opened) return err;
	await opened.close().catch(() => undefined);
	const newVar = newKey.source;
	const currentVar = newVar.replace('N8N_SECRETS_NEW_', 'N8N_SECRETS_');
	return new SecretsError(
		'WRONG_MASTER_KEY',
		`The store already uses the new master key from ${newVar}: an earlier \`key rotate\` switched to it ` +
			`(and was interrupted if it was re-encrypting). The key in the current variables is retired. To ` +
			`finish, run \`n8n-secrets key rotate --reencrypt\` with the new key as the current key (${currentVar}) ` +
			`and without ${newVar}; restart every process with the new key. Nothing was changed.`,
		{ cause: err, details: { reason: 'rotation already switched the key' } },
	);
}

export function registerKey(program: Command, io: CliIo): void {
	const key = program.command('key').description('master key and data key rotation (admin)');
	key
		.command('rotate')
		.description(
			'move the store to a new master key, and/or re-encrypt every value under new data keys',
		)
		.option(
			'--reencrypt',
			're-encrypt every value under new data keys (resumable: run again after an interruption)',
		)
		.addOption(jsonOption())
		.addHelpText(
			'after',
			`
The new master key comes from N8N_SECRETS_NEW_MASTER_KEY, N8N_SECRETS_NEW_MASTER_KEY_FILE or
N8N_SECRETS_NEW_PASSPHRASE; the current one from the usual variables. Without a new key, --reencrypt
re-encrypts under new data keys with the current master key. Restart every process that uses the store
with the new key afterwards.

Example:
  N8N_SECRETS_NEW_MASTER_KEY="$(openssl rand -base64 32)" n8n-secrets key rotate --reencrypt

Locally this needs no access token: it is the master key holder's operation, for every tenant.
With --url it re-encrypts only the tenant of the admin token given.`,
		)
		.action(async (o: { reencrypt?: boolean; json?: boolean }, cmd: Command) => {
			const global = globalsOf(cmd);
			const env = commandEnv(io, global);
			const hasNew = [
				'N8N_SECRETS_NEW_MASTER_KEY',
				'N8N_SECRETS_NEW_MASTER_KEY_FILE',
				'N8N_SECRETS_NEW_PASSPHRASE',
			].some((v) => env[v]);
			const url = serverUrl(io, global);
			if (url) {
				// Over the API only the data keys can be replaced: the master key never travels.
				if (hasNew) {
					throw new SecretsError(
						'INVALID_INPUT',
						'Replacing the master key needs its holder: run `n8n-secrets key rotate` on the store host, without --url.',
					);
				}
				if (!o.reencrypt)
					throw new SecretsError(
						'INVALID_INPUT',
						'With --url, give --reencrypt (re-encrypt under new data keys).',
					);
				await withService(io, cmd, async (service, caller) => {
					const r = await (service as RemoteSecrets).reencrypt(caller);
					io.out(
						o.json ? json(r) : `Re-encrypted ${r.reencrypted} value(s) under new data keys.\n`,
					);
				});
				return;
			}
			const newKey = hasNew ? keyProviderFromEnv(env, 'N8N_SECRETS_NEW_') : undefined;
			// Store-wide: the master key's holder acts here, on the store's host, with no tenant token.
			const service = await openEmbedded(env).catch(async (err: unknown) => {
				throw newKey ? await resumeAdvice(env, newKey, err) : err;
			});
			noteReadOnly(io, service);
			let done = false;
			try {
				let lastTenant = '';
				const r = await service.rotateMasterKey({
					newKey,
					reencrypt: o.reencrypt,
					onProgress: (p: { tenant: string; done: number; total: number }) => {
						if (p.tenant !== lastTenant || p.done === p.total || p.done % 1000 < 500) {
							io.err(`re-encrypting tenant ${p.tenant}: ${p.done}/${p.total}\n`);
							lastTenant = p.tenant;
						}
					},
				});
				if (o.json) return io.out(json(r));
				if (newKey)
					io.out(
						`Master key replaced: ${r.rewrapped} data key(s) re-wrapped. Use the new key from now on.\n`,
					);
				if (o.reencrypt) io.out(`Re-encrypted ${r.reencrypted} value(s) under new data keys.\n`);
				done = true;
			} finally {
				if (done) await closeAfter(io, service);
				else await service.close().catch(() => undefined);
			}
		});
}
