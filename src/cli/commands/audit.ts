import type { Command } from 'commander';

import { readFileSync, writeFileSync } from 'node:fs';

import { SecretsError } from '../../core/errors';
import { parseStatement } from '../../service/audit-archive';
import { json, printList, shortDate } from '../format';
import { type CliIo, ExitCode } from '../io';
import { jsonOption, positiveInt } from '../options';
import { allPages, withLocalService, withService } from '../session';

export function registerAudit(program: Command, io: CliIo): void {
	const audit = program
		.command('audit')
		.description('read, verify, anchor and archive the audit trail (audit:read; archive: admin)');

	audit
		.command('list')
		.description('audit events, newest first')
		.option('--secret <name>', 'only events about this secret')
		.option('--action <action>', 'only this action (use, reveal, deny, rotate, …)')
		.option('--actor <subject>', 'only events by this token subject')
		.option('--outcome <outcome>', 'only success, denied or failure')
		.option('--workflow-id <id>', 'only events from this n8n workflow')
		.option('--execution-id <id>', 'only events from this n8n execution')
		.option('--since <iso>', 'only events at or after this time')
		.option('--until <iso>', 'only events before this time')
		.option('--limit <n>', 'at most this many events', positiveInt, 100)
		.addOption(jsonOption())
		.addHelpText(
			'after',
			`
Example: who used the payment key last Tuesday, in which workflow run?
  n8n-secrets audit list --secret payment-key --action use --since 2026-11-17 --until 2026-11-18`,
		)
		.action(
			async (
				o: {
					secret?: string;
					action?: string;
					actor?: string;
					outcome?: 'success' | 'denied' | 'failure';
					workflowId?: string;
					executionId?: string;
					since?: string;
					until?: string;
					limit: number;
					json?: boolean;
				},
				cmd: Command,
			) => {
				await withService(io, cmd, async (service, caller) => {
					const events = await allPages(
						(cursor, wanted) =>
							service.listAudit(caller, {
								secret: o.secret,
								action: o.action,
								actor: o.actor,
								outcome: o.outcome,
								workflowId: o.workflowId,
								executionId: o.executionId,
								since: o.since,
								until: o.until,
								limit: Math.min(1000, wanted),
								cursor,
							}),
						o.limit,
					);
					printList(io, o, events, {
						empty: 'No audit events match.\n',
						headers: [
							'SEQ',
							'TIME',
							'ACTOR',
							'ACTION',
							'OUTCOME',
							'SECRET',
							'ENV',
							'V',
							'WORKFLOW',
							'EXECUTION',
							'REASON',
						],
						row: (e) => [
							e.seq,
							shortDate(e.time),
							e.actor,
							e.action,
							e.outcome,
							e.secret,
							e.environment,
							e.version,
							e.workflowName ?? e.workflowId,
							e.executionId,
							e.reason,
						],
					});
				});
			},
		);

	audit
		.command('verify')
		.description(
			'check the hash chain: exits 1 and names the first broken link if an event was changed or removed',
		)
		.option(
			'--checkpoint <file>',
			'also check that the chain still holds the event a statement from `audit checkpoint` vouches for (local store only)',
		)
		.option(
			'--archive <file>',
			'check an archive written by `audit archive` instead: alone, and that it links to the store (local store only)',
		)
		.addOption(jsonOption())
		.action(async (o: { checkpoint?: string; archive?: string; json?: boolean }, cmd: Command) => {
			if (o.archive) {
				const r = await withLocalService(io, cmd, 'audit verify --archive', (service, caller) =>
					service.verifyArchive(caller, o.archive!),
				);
				if (o.json) io.out(json(r));
				else if (r.ok)
					io.out(
						`Archive intact: events ${r.fromSeq}-${r.throughSeq} (${r.events}), linked to the store.\n`,
					);
				else io.out(`Archive BROKEN: ${r.problem}.\n`);
				if (!r.ok) throw new ExitCode(1);
				return;
			}
			const checkpoint = o.checkpoint
				? parseStatement(readText(o.checkpoint), o.checkpoint)
				: undefined;
			const result = checkpoint
				? await withLocalService(io, cmd, 'audit verify --checkpoint', (service, caller) =>
						service.verifyAudit(caller, { checkpoint }),
					)
				: await withService(io, cmd, (service, caller) => service.verifyAudit(caller));
			if (o.json) io.out(json(result));
			else if (result.ok) {
				const archived = result.archivedThrough
					? ` (events 1-${result.archivedThrough} archived)`
					: '';
				const anchor =
					'checkpoint' in result && result.checkpoint
						? result.checkpoint.found === 'in-store'
							? ` Checkpoint of event ${result.checkpoint.seq} found.`
							: ` Checkpoint of event ${result.checkpoint.seq} is in an archive: check it with --archive.`
						: '';
				const alarms = result.integrityAlarms
					? ` It records ${result.integrityAlarms} integrity failures: see \`n8n-secrets audit list --outcome failure\`.`
					: '';
				io.out(`Audit trail intact: ${result.events} events${archived}.${anchor}${alarms}\n`);
			} else
				io.out(
					`Audit trail BROKEN at event ${result.brokenAt!.seq}${result.brokenAt!.id ? ` (${result.brokenAt!.id})` : ''}: ${result.brokenAt!.problem}. ${result.events} events before it are intact.\n`,
				);
			if (!result.ok) throw new ExitCode(1);
		});

	audit
		.command('checkpoint')
		.description(
			"print a statement of the chain's last event signed with the tenant's key: keep it outside the store, " +
				'and `audit verify --checkpoint FILE` later fails if the chain was rolled back or rewritten (audit:read)',
		)
		.option('--out <file>', 'write the statement to this file instead of standard output')
		.action(async (o: { out?: string }, cmd: Command) => {
			const statement = await withLocalService(io, cmd, 'audit checkpoint', (service, caller) =>
				service.auditCheckpoint(caller),
			);
			const text = `${JSON.stringify(statement)}\n`;
			if (o.out) {
				writeFileSync(o.out, text, { mode: 0o644, flag: 'wx' });
				io.err(`Checkpoint of event ${statement.seq} written to ${o.out}.\n`);
			} else io.out(text);
		});

	audit
		.command('archive')
		.description(
			'move the events before a date to a file (verifiable on its own) and remove them from the store (admin)',
		)
		.requiredOption(
			'--before <date>',
			'archive every event before the first one at or after this date',
		)
		.requiredOption(
			'--out <file>',
			'the archive file to write (JSONL); a new name for each archive',
		)
		.addOption(jsonOption())
		.addHelpText(
			'after',
			`
The file is written and synced to disk before any event is removed. If the command is stopped, run it
again with the same arguments: it finishes the work and loses nothing. Keep every archive file: together
with the store they are the whole trail. Check one with \`n8n-secrets audit verify --archive FILE\`.
Example:
  n8n-secrets audit archive --before 2026-01-01 --out audit-2025.jsonl`,
		)
		.action(async (o: { before: string; out: string; json?: boolean }, cmd: Command) => {
			const r = await withLocalService(io, cmd, 'audit archive', (service, caller) =>
				service.archiveAudit(caller, { before: o.before, out: o.out }),
			);
			if (o.json) io.out(json(r));
			else if (r.archived === 0) io.out(`No events before ${o.before} left to archive.\n`);
			else
				io.out(
					`Archived events ${r.fromSeq}-${r.throughSeq} (${r.archived}) to ${r.file} (sha256 ${r.sha256}) and removed them from the store.\n`,
				);
		});
}

function readText(file: string): string {
	try {
		return readFileSync(file, 'utf8');
	} catch (err) {
		throw new SecretsError(
			'INVALID_INPUT',
			`Cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}.`,
		);
	}
}
