/** `init`, `stats` and `maintenance`: the store as a whole. */
import type { Command } from 'commander';

import { initEmbedded, storeLocation } from '../../service/config';
import { json } from '../format';
import type { CliIo } from '../io';
import { jsonOption } from '../options';
import { closeAfter, commandEnv, globalsOf, withService } from '../session';

export function registerAdmin(program: Command, io: CliIo): void {
	program
		.command('init')
		.description('create the store if absent and print an admin token')
		.option('--tenant <tenant>', 'the tenant to create or use', 'default')
		.option('--subject <name>', 'who the admin token is for', 'admin')
		.option('--ttl <duration>', 'lifetime of the admin token: 90d, 12h or never', '90d')
		.addOption(jsonOption())
		.addHelpText(
			'after',
			`
The master key comes from N8N_SECRETS_MASTER_KEY (openssl rand -base64 32), N8N_SECRETS_MASTER_KEY_FILE
or N8N_SECRETS_PASSPHRASE. Running init again on an existing store issues another admin token.

Example:
  export N8N_SECRETS_MASTER_KEY="$(openssl rand -base64 32)"
  export N8N_SECRETS_TOKEN="$(n8n-secrets init)"`,
		)
		.action(
			async (o: { tenant: string; subject: string; ttl: string; json?: boolean }, cmd: Command) => {
				const env = commandEnv(io, globalsOf(cmd));
				const result = await initEmbedded(env, {
					tenant: o.tenant,
					subject: o.subject,
					ttl: o.ttl,
				});
				// The store and the token are committed: closing cannot take them back (see closeAfter).
				await closeAfter(io, result.service);
				const path = storeLocation(env);
				if (o.json) {
					io.out(
						json({
							token: result.token,
							...result.info,
							store: path,
							createdStore: result.createdStore,
							createdTenant: result.createdTenant,
						}),
					);
				} else {
					io.out(`${result.token}\n`);
				}
				io.err(
					`${result.createdStore ? 'Created the secrets store' : 'The secrets store already existed'} at ${path}` +
						`${result.createdTenant ? ` with tenant "${o.tenant}"` : ''}.\n` +
						`The admin token above (${result.info.jti}, expires ${result.info.expiresAt ?? 'never'}) is shown only once.\n` +
						`Back up the master key (${result.keySource}) apart from the store: without it the secrets cannot be read.\n`,
				);
			},
		);

	program
		.command('stats')
		.description(
			'counts of secrets by type and environment, due for rotation, expiring and expired',
		)
		.addOption(jsonOption())
		.action(async (o: { json?: boolean }, cmd: Command) => {
			await withService(io, cmd, async (service, caller) => {
				const s = await service.stats(caller);
				if (o.json) return io.out(json(s));
				const counts = (by: Record<string, number>) =>
					Object.entries(by)
						.map(([k, v]) => `${k} ${v}`)
						.join(', ') || '-';
				io.out(`secrets: ${s.secrets} (deleted: ${s.deleted})\n`);
				io.out(`by type: ${counts(s.byType)}\n`);
				io.out(`by environment: ${counts(s.byEnvironment)}\n`);
				io.out(
					`due for rotation: ${s.dueForRotation}   manual reminders due: ${s.remindersDue}   expiring within 30 days: ${s.expiringWithin30Days}   expired: ${s.expired}\n`,
				);
			});
		});

	program
		.command('maintenance')
		.description(
			'purge secrets deleted longer ago than the recovery window; apply retention windows (admin)',
		)
		.addOption(jsonOption())
		.action(async (o: { json?: boolean }, cmd: Command) => {
			await withService(io, cmd, async (service, caller) => {
				const r = await service.maintenance(caller);
				io.out(
					o.json
						? json(r)
						: `Purged ${r.purged.length} secret(s)${r.purged.length ? `: ${r.purged.join(', ')}` : ''}; retention applied to ${r.retentionApplied} value line(s).\n`,
				);
			});
		});
}
