import type { Command } from 'commander';

import { type KeyProvider, keyProviderFromEnv } from '../../crypto/master-key';
import { openDriver, openEmbedded, storeLocation } from '../../service/config';
import { PostgresDriver } from '../../store/postgres/postgres-driver';
import { SecretsService } from '../../service/secrets-service';
import { json } from '../format';
import type { CliIo } from '../io';
import type { RemoteSecrets } from '../../client/remote-secrets';
import { SecretsError } from '../../core/errors';
import {
	type GlobalOptions,
	closeAfter,
	commandEnv,
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
	const opened = await SecretsService.open(openDriver(env), newKey).catch(() => undefined);
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

export function registerAdmin(program: Command, io: CliIo): void {
	const g = (cmd: Command) => cmd.optsWithGlobals() as GlobalOptions;

	program
		.command('init')
		.description('create the store if absent and print an admin token')
		.option('--tenant <tenant>', 'the tenant to create or use', 'default')
		.option('--subject <name>', 'who the admin token is for', 'admin')
		.option('--ttl <duration>', 'lifetime of the admin token: 90d, 12h or never', '90d')
		.option('--json', 'print JSON')
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
				const env = commandEnv(io, g(cmd));
				const provider = keyProviderFromEnv(env);
				const driver = openDriver(env);
				if (driver instanceof PostgresDriver)
					await driver.ensureSchema(env.N8N_SECRETS_DATABASE_SCHEMA?.trim() || undefined);
				const result = await SecretsService.init(driver, provider, {
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
						`Back up the master key (${provider.source}) apart from the store: without it the secrets cannot be read.\n`,
				);
			},
		);

	program
		.command('stats')
		.description(
			'counts of secrets by type and environment, due for rotation, expiring and expired',
		)
		.option('--json', 'print JSON')
		.action(async (o: { json?: boolean }, cmd: Command) => {
			await withService(io, g(cmd), async (service, caller) => {
				const s = await service.stats(caller);
				if (o.json) return io.out(json(s));
				io.out(`secrets: ${s.secrets} (deleted: ${s.deleted})\n`);
				io.out(
					`by type: ${
						Object.entries(s.byType)
							.map(([k, v]) => `${k} ${v}`)
							.join(', ') || '-'
					}\n`,
				);
				io.out(
					`by environment: ${
						Object.entries(s.byEnvironment)
							.map(([k, v]) => `${k} ${v}`)
							.join(', ') || '-'
					}\n`,
				);
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
		.option('--json', 'print JSON')
		.action(async (o: { json?: boolean }, cmd: Command) => {
			await withService(io, g(cmd), async (service, caller) => {
				const r = await service.maintenance(caller);
				io.out(
					o.json
						? json(r)
						: `Purged ${r.purged.length} secret(s)${r.purged.length ? `: ${r.purged.join(', ')}` : ''}; retention applied to ${r.retentionApplied} value line(s).\n`,
				);
			});
		});

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
		.option('--json', 'print JSON')
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
			const env = commandEnv(io, g(cmd));
			const hasNew = [
				'N8N_SECRETS_NEW_MASTER_KEY',
				'N8N_SECRETS_NEW_MASTER_KEY_FILE',
				'N8N_SECRETS_NEW_PASSPHRASE',
			].some((v) => env[v]);
			const url = serverUrl(io, g(cmd));
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
				await withService(io, g(cmd), async (service, caller) => {
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

	program
		.command('serve')
		.description('serve the HTTP API (/api/v1) over the store, for remote mode and many n8n hosts')
		.option('--host <host>', 'address to listen on (N8N_SECRETS_SERVER_HOST)', undefined)
		.option('--port <port>', 'port to listen on (N8N_SECRETS_SERVER_PORT, default 8200)')
		.option('--tls-cert <file>', 'PEM certificate: serve HTTPS (N8N_SECRETS_TLS_CERT)')
		.option('--tls-key <file>', 'PEM private key of the certificate (N8N_SECRETS_TLS_KEY)')
		.option('--body-limit <bytes>', 'largest request body accepted (default 262144)')
		.addHelpText(
			'after',
			`
Serves the store this host's environment names (N8N_SECRETS_DB or N8N_SECRETS_DATABASE_URL) with its
master key. Listens on 127.0.0.1:8200 unless told otherwise; off loopback, give a certificate or put a
TLS proxy in front. Optional: tokens from an OAuth 2.0 issuer (N8N_SECRETS_OAUTH_ISSUER, _AUDIENCE, …;
see docs/SERVER.md). Stops gracefully on SIGTERM or SIGINT. Logs are JSON lines on stdout.

Example:
  n8n-secrets serve --host 0.0.0.0 --port 8200 --tls-cert cert.pem --tls-key key.pem`,
		)
		.action(
			async (
				o: { host?: string; port?: string; tlsCert?: string; tlsKey?: string; bodyLimit?: string },
				cmd: Command,
			) => {
				const port = o.port === undefined ? undefined : Number(o.port);
				if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535))
					throw new SecretsError('INVALID_INPUT', `--port must be a port number, not "${o.port}".`);
				const bodyLimit = o.bodyLimit === undefined ? undefined : Number(o.bodyLimit);
				if (bodyLimit !== undefined && (!Number.isInteger(bodyLimit) || bodyLimit < 1024))
					throw new SecretsError(
						'INVALID_INPUT',
						'--body-limit must be a number of bytes, at least 1024.',
					);
				// Loaded here: the other commands do not need the HTTP framework.
				const { formatLogLine } = await import('../../server/app');
				const { startServer } = await import('../../server/serve');
				const server = await startServer({
					host: o.host,
					port,
					tlsCert: o.tlsCert,
					tlsKey: o.tlsKey,
					bodyLimit,
					env: commandEnv(io, g(cmd)),
					log: (line) => io.out(formatLogLine(line)),
				});
				await new Promise<void>((resolve) => {
					const stop = (signal: string) => {
						io.out(
							formatLogLine({
								level: 'info',
								msg: `${signal}: finishing requests in flight, then stopping`,
							}),
						);
						void server.close().then(resolve);
					};
					process.once('SIGTERM', () => stop('SIGTERM'));
					process.once('SIGINT', () => stop('SIGINT'));
				});
			},
		);
}
