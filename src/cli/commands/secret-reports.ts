/** `secret expiring` and `secret due`: what needs attention, for alerts and rotation jobs. */
import { type Command, Option } from 'commander';

import { printList, shortDate } from '../format';
import type { CliIo } from '../io';
import { jsonOption, nonNegativeInt } from '../options';
import { withService } from '../session';

export function registerReports(secret: Command, io: CliIo): void {
	secret
		.command('expiring')
		.description('current values that expire within N days (or have expired)')
		.option('--within <days>', 'days ahead', nonNegativeInt, 30)
		.option('--env <environment>', 'only this environment')
		.addOption(jsonOption())
		.action(async (o: { within: number; env?: string; json?: boolean }, cmd: Command) => {
			await withService(io, cmd, async (service, caller) => {
				const items = await service.expiring(caller, { withinDays: o.within, environment: o.env });
				printList(io, o, items, {
					empty: `Nothing expires within ${o.within} days.\n`,
					headers: ['NAME', 'ENVIRONMENT', 'VERSION', 'EXPIRES', 'DAYS LEFT'],
					row: (e) => [
						e.name,
						e.environment,
						e.version,
						shortDate(e.expiresAt),
						e.expired ? 'expired' : e.daysLeft,
					],
				});
			});
		});

	secret
		.command('due')
		.description(
			'secrets whose current value is older than their rotation interval: AUTOMATIC ones to rotate (ACTION rotate), MANUAL ones as reminders for a person (ACTION remind)',
		)
		.option('--env <environment>', 'only this environment')
		.addOption(
			new Option(
				'--policy <policy>',
				'only AUTOMATIC (what a rotation job rotates) or MANUAL (reminders)',
			).choices(['AUTOMATIC', 'MANUAL']),
		)
		.addOption(jsonOption())
		.action(
			async (
				o: { env?: string; policy?: 'AUTOMATIC' | 'MANUAL'; json?: boolean },
				cmd: Command,
			) => {
				await withService(io, cmd, async (service, caller) => {
					const items = await service.dueForRotation(caller, {
						environment: o.env,
						rotationPolicy: o.policy,
					});
					printList(io, o, items, {
						empty: 'Nothing is due for rotation.\n',
						headers: [
							'NAME',
							'ENVIRONMENT',
							'POLICY',
							'ACTION',
							'EVERY',
							'DUE SINCE',
							'OVERDUE DAYS',
						],
						row: (d) => [
							d.name,
							d.environment,
							d.rotationPolicy,
							d.action,
							`${d.rotationIntervalDays}d`,
							shortDate(d.dueAt),
							d.overdueDays,
						],
					});
				});
			},
		);
}
