import type { Command } from 'commander';

import type { AuditEvent } from '../../core/model';
import { json, positiveInt, shortDate, table } from '../format';
import { type CliIo, ExitCode } from '../io';
import { type GlobalOptions, withService } from '../session';

export function registerAudit(program: Command, io: CliIo): void {
	const audit = program
		.command('audit')
		.description('read and verify the audit trail (audit:read)');
	const g = (cmd: Command) => cmd.optsWithGlobals() as GlobalOptions;

	audit
		.command('list')
		.description('audit events, newest first')
		.option('--secret <name>', 'only events about this secret')
		.option('--action <action>', 'only this action (use, reveal, deny, rotate, …)')
		.option('--actor <subject>', 'only events by this token subject')
		.option('--workflow-id <id>', 'only events from this n8n workflow')
		.option('--execution-id <id>', 'only events from this n8n execution')
		.option('--since <iso>', 'only events at or after this time')
		.option('--until <iso>', 'only events before this time')
		.option('--limit <n>', 'at most this many events', positiveInt, 100)
		.option('--json', 'print JSON')
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
					workflowId?: string;
					executionId?: string;
					since?: string;
					until?: string;
					limit: number;
					json?: boolean;
				},
				cmd: Command,
			) => {
				await withService(io, g(cmd), async (service, caller) => {
					const events: AuditEvent[] = [];
					let cursor: string | undefined;
					do {
						const page = await service.listAudit(caller, {
							secret: o.secret,
							action: o.action,
							actor: o.actor,
							workflowId: o.workflowId,
							executionId: o.executionId,
							since: o.since,
							until: o.until,
							limit: Math.min(1000, o.limit - events.length),
							cursor,
						});
						events.push(...page.items);
						cursor = page.nextCursor;
					} while (cursor && events.length < o.limit);
					if (o.json) return io.out(json(events));
					if (events.length === 0) return io.out('No audit events match.\n');
					io.out(
						table(
							[
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
							events.map((e) => [
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
							]),
						),
					);
				});
			},
		);

	audit
		.command('verify')
		.description(
			'check the hash chain: exits 1 and names the first broken link if an event was changed or removed',
		)
		.option('--json', 'print JSON')
		.action(async (o: { json?: boolean }, cmd: Command) => {
			const result = await withService(io, g(cmd), (service, caller) =>
				service.verifyAudit(caller),
			);
			if (o.json) io.out(json(result));
			else if (result.ok) io.out(`Audit trail intact: ${result.events} events.\n`);
			else
				io.out(
					`Audit trail BROKEN at event ${result.brokenAt!.seq}${result.brokenAt!.id ? ` (${result.brokenAt!.id})` : ''}: ${result.brokenAt!.problem}. ${result.events} events before it are intact.\n`,
				);
			if (!result.ok) throw new ExitCode(1);
		});
}
