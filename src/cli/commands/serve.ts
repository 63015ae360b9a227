/** `serve`: the HTTP API over the store, for remote mode and many n8n hosts. */
import type { Command } from 'commander';

import { SecretsError } from '../../core/errors';
import type { CliIo } from '../io';
import { commandEnv, globalsOf } from '../session';

export function registerServe(program: Command, io: CliIo): void {
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
					env: commandEnv(io, globalsOf(cmd)),
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
