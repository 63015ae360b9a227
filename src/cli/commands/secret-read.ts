/** `secret list`, `secret get` and `secret versions`: metadata, and a value only with --reveal. */
import { type Command, Option } from 'commander';

import { SecretsError } from '../../core/errors';
import { SECRET_TYPES, type SecretMetadata, type VersionSelector } from '../../core/model';
import { json, printList, shortDate, table } from '../format';
import type { CliIo } from '../io';
import { envOption, jsonOption, positiveInt } from '../options';
import { allPages, withService } from '../session';

/** The policy and interval in a few characters: `AUTOMATIC 90d`, `MANUAL`, `ON_DEMAND`. */
function rotationText(s: SecretMetadata): string {
	return `${s.rotationPolicy}${s.rotationIntervalDays ? ` ${s.rotationIntervalDays}d` : ''}`;
}

/** A secret's metadata for people: a heading, its settings, then a table of its environments. */
function describeSecret(meta: SecretMetadata): string {
	const interval = meta.rotationIntervalDays ? ` every ${meta.rotationIntervalDays}d` : '';
	const next = meta.nextRotationAt
		? `, next ${meta.rotationPolicy === 'AUTOMATIC' ? 'rotation' : 'reminder'} ${shortDate(meta.nextRotationAt)}`
		: '';
	return (
		`${meta.name} (${meta.type})${meta.deletedAt ? ` deleted ${shortDate(meta.deletedAt)}` : ''}\n` +
		(meta.description ? `  ${meta.description}\n` : '') +
		`  tags: ${meta.tags.join(', ') || '-'}   rotation: ${meta.rotationPolicy}${interval}${next}\n` +
		(meta.allowedHosts.length ? `  allowed hosts: ${meta.allowedHosts.join(', ')}\n` : '') +
		(meta.allowedConsumers.length
			? `  allowed consumers: ${meta.allowedConsumers.join(', ')}\n`
			: '') +
		table(
			['ENVIRONMENT', 'CURRENT', 'PREVIOUS', 'PENDING', 'SINCE', 'EXPIRES'],
			meta.environments.map((l) => [
				l.environment,
				l.currentVersion,
				l.previousVersion,
				l.pendingVersion,
				shortDate(l.currentSince),
				shortDate(l.expiresAt),
			]),
		)
	);
}

export function registerList(secret: Command, io: CliIo): void {
	secret
		.command('list')
		.description('list secrets (names and metadata, never values)')
		.option('--env <environment>', 'only secrets with a value in this environment')
		.option('--prefix <prefix>', 'only names starting with this')
		.option('--tag <tag>', 'only secrets with this tag')
		.addOption(new Option('--type <type>', 'only secrets of this type').choices(SECRET_TYPES))
		.option('--deleted', 'include deleted secrets')
		.addOption(jsonOption())
		.action(
			async (
				o: {
					env?: string;
					prefix?: string;
					tag?: string;
					type?: (typeof SECRET_TYPES)[number];
					deleted?: boolean;
					json?: boolean;
				},
				cmd: Command,
			) => {
				await withService(io, cmd, async (service, caller) => {
					const items = await allPages((cursor) =>
						service.listSecrets(caller, {
							environment: o.env,
							prefix: o.prefix,
							tag: o.tag,
							type: o.type,
							includeDeleted: o.deleted,
							cursor,
							limit: 500,
						}),
					);
					printList(io, o, items, {
						empty: 'No secrets.\n',
						headers: ['NAME', 'TYPE', 'CURRENT', 'TAGS', 'ROTATE', 'UPDATED'],
						row: (s) => {
							const lines = o.env
								? s.environments.filter((l) => l.environment === o.env)
								: s.environments;
							return [
								s.name,
								s.type,
								lines.map((l) => `${l.environment}:v${l.currentVersion ?? '-'}`).join(' ') || '-',
								s.tags.join(','),
								rotationText(s),
								s.deletedAt ? `deleted ${shortDate(s.deletedAt)}` : shortDate(s.updatedAt),
							];
						},
					});
				});
			},
		);
}

export function registerGet(secret: Command, io: CliIo): void {
	secret
		.command('get <name>')
		.description("show a secret's metadata, or print its value with --reveal")
		.option('--env <environment>', 'environment (required with --reveal)')
		.option('--reveal', 'print the value (needs the reveal permission; audited as reveal)')
		.option('--version <n>', 'a version number instead of the current one', positiveInt)
		.addOption(
			new Option('--label <label>', 'the previous or pending version').choices([
				'current',
				'previous',
				'pending',
			]),
		)
		.addOption(jsonOption())
		.addHelpText(
			'after',
			`
Example:
  n8n-secrets secret get stripe-key --env production --reveal > key.txt`,
		)
		.action(
			async (
				name: string,
				o: {
					env?: string;
					reveal?: boolean;
					version?: number;
					label?: 'current' | 'previous' | 'pending';
					json?: boolean;
				},
				cmd: Command,
			) => {
				await withService(io, cmd, async (service, caller) => {
					if (!o.reveal) {
						const meta = await service.getSecret(caller, name);
						return io.out(o.json ? json(meta) : describeSecret(meta));
					}
					if (!o.env)
						throw new SecretsError(
							'INVALID_INPUT',
							'--reveal needs --env: a secret has one value per environment.',
						);
					if (o.version && o.label)
						throw new SecretsError('INVALID_INPUT', 'Give --version or --label, not both.');
					const selector: VersionSelector | undefined = o.version
						? { version: o.version }
						: o.label
							? { label: o.label }
							: undefined;
					const r = await service.reveal(caller, { name, environment: o.env, selector });
					io.out(
						o.json
							? json({
									name: r.name,
									environment: r.environment,
									servedFrom: r.servedFrom,
									version: r.version,
									value: r.value,
								})
							: `${r.value}\n`,
					);
				});
			},
		);
}

export function registerVersions(secret: Command, io: CliIo): void {
	secret
		.command('versions <name>')
		.description('list the versions of a secret in one environment')
		.addOption(envOption())
		.addOption(jsonOption())
		.action(async (name: string, o: { env: string; json?: boolean }, cmd: Command) => {
			await withService(io, cmd, async (service, caller) => {
				const versions = await service.listVersions(caller, { name, environment: o.env });
				printList(io, o, versions, {
					headers: ['VERSION', 'LABELS', 'CREATED', 'BY', 'EXPIRES', 'STATE', 'REASON'],
					row: (v) => [
						v.version,
						v.labels.join(','),
						shortDate(v.createdAt),
						v.createdBy,
						shortDate(v.expiresAt),
						v.destroyedAt ? 'destroyed' : 'kept',
						v.reason,
					],
				});
			});
		});
}
