/** The `n8n-secrets` command: builds the commander program and runs it against injected I/O. */
import { Command, CommanderError } from 'commander';

import { SecretsError } from '../core/errors';
import { registerAdmin } from './commands/admin';
import { registerAudit } from './commands/audit';
import { registerKey } from './commands/key';
import { registerSecret } from './commands/secret';
import { registerServe } from './commands/serve';
import { registerToken } from './commands/token';
import { type CliIo, ExitCode } from './io';

export function buildProgram(io: CliIo): Command {
	const program = new Command('n8n-secrets')
		.description(
			'Manage the n8n-nodes-secrets store: secrets, versions, tokens, audit trail and keys.',
		)
		.option('--db <path>', 'the store file (default: N8N_SECRETS_DB or ~/.n8n/secrets/secrets.db)')
		.option(
			'--token <token>',
			'access token (prefer N8N_SECRETS_TOKEN: arguments are visible in `ps`)',
		)
		.option(
			'--url <url>',
			'talk to a secrets server (`n8n-secrets serve`) instead of the local store (or N8N_SECRETS_URL)',
		)
		.showHelpAfterError('(run with --help for usage)')
		.exitOverride()
		.configureOutput({ writeOut: io.out, writeErr: io.err });
	program.addHelpText(
		'after',
		`
Environment: N8N_SECRETS_MASTER_KEY | N8N_SECRETS_MASTER_KEY_FILE | N8N_SECRETS_PASSPHRASE (the master
key), N8N_SECRETS_DB or N8N_SECRETS_DATABASE_URL (the store: SQLite file or PostgreSQL),
N8N_SECRETS_TOKEN (the access token), N8N_SECRETS_URL (a server instead of the local store). See docs/CLI.md.`,
	);
	registerAdmin(program, io);
	registerKey(program, io);
	registerServe(program, io);
	registerSecret(program, io);
	registerToken(program, io);
	registerAudit(program, io);
	// Sub-commands inherit the program's error handling and output.
	const inherit = (cmd: Command) => {
		for (const sub of cmd.commands) {
			sub
				.exitOverride()
				.configureOutput({ writeOut: io.out, writeErr: io.err })
				.showHelpAfterError('(run with --help for usage)');
			inherit(sub);
		}
	};
	inherit(program);
	return program;
}

/**
 * Runs one command line; returns the exit code: 0 done, 1 the operation failed (or the audit chain is
 * broken), 2 the command line or its input was wrong.
 */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
	try {
		await buildProgram(io).parseAsync(argv, { from: 'user' });
		return 0;
	} catch (err) {
		if (err instanceof ExitCode) return err.code;
		if (err instanceof CommanderError) {
			// Help and version "errors" are how commander says it printed what was asked for.
			return err.code === 'commander.helpDisplayed' ||
				err.code === 'commander.version' ||
				err.code === 'commander.help'
				? 0
				: 2;
		}
		if (err instanceof SecretsError) {
			io.err(`error ${err.code}: ${err.message}\n`);
			return err.code === 'INVALID_INPUT' ? 2 : 1;
		}
		io.err(`error INTERNAL: ${err instanceof Error ? err.message : String(err)}\n`);
		if (io.env.N8N_SECRETS_DEBUG && err instanceof Error && err.stack) io.err(`${err.stack}\n`);
		return 1;
	}
}
