/**
 * The `secret` command group. Its commands live in one file per kind (values, reads, reports); they
 * are registered here in the order `secret --help` lists them.
 */
import type { Command } from 'commander';

import { deleteInput, parseInput } from '../../core/schemas';
import type { CliIo } from '../io';
import { reasonOption } from '../options';
import { withService } from '../session';
import { registerGet, registerList, registerVersions } from './secret-read';
import { registerReports } from './secret-reports';
import { registerPromoteRollback, registerSet, registerStageRotate } from './secret-values';

export function registerSecret(program: Command, io: CliIo): void {
	const secret = program.command('secret').description('create, read, rotate and delete secrets');
	registerSet(secret, io);
	registerList(secret, io);
	registerGet(secret, io);
	registerVersions(secret, io);
	registerStageRotate(secret, io);
	registerPromoteRollback(secret, io);
	registerLifecycle(secret, io);
	registerReports(secret, io);
}

/** `secret delete`, `restore` and `purge`: the recovery window and the end of it. */
function registerLifecycle(secret: Command, io: CliIo): void {
	secret
		.command('delete <name>')
		.description('delete a secret (it can be restored during the recovery window)')
		.addOption(reasonOption())
		.action(async (name: string, o: { reason?: string }, cmd: Command) => {
			// Checked here too: the reason goes into the audit trail of whichever store is open.
			const i = parseInput(deleteInput, { name, reason: o.reason });
			await withService(io, cmd, async (service, caller) => {
				await service.deleteSecret(caller, i.name, i.reason);
				io.out(`${name}: deleted; \`n8n-secrets secret restore ${name}\` brings it back.\n`);
			});
		});
	secret
		.command('restore <name>')
		.description('bring back a deleted secret with all its versions')
		.action(async (name: string, _o: unknown, cmd: Command) => {
			await withService(io, cmd, async (service, caller) => {
				await service.restoreSecret(caller, name);
				io.out(`${name}: restored.\n`);
			});
		});
	secret
		.command('purge <name>')
		.description('erase a deleted secret for good (its audit history stays)')
		.action(async (name: string, _o: unknown, cmd: Command) => {
			await withService(io, cmd, async (service, caller) => {
				await service.purgeSecret(caller, name);
				io.out(`${name}: purged.\n`);
			});
		});
}
