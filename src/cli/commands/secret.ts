import { type Command, Option } from 'commander';

import { SecretsError, isCode } from '../../core/errors';
import {
	SECRET_TYPES,
	ROTATION_POLICIES,
	type SecretMetadata,
	type VersionSelector,
} from '../../core/model';
import { deleteInput, parseInput } from '../../core/schemas';
import { ALPHABETS, type Alphabet } from '../../crypto/generate';
import type { SecretsApi } from '../../service/api';
import type { Caller } from '../../service/secrets-service';
import { collect, days, json, nonNegativeInt, positiveInt, shortDate, table } from '../format';

/**
 * `90d`, `90`, or `none` (0 here) to remove the interval of an existing secret: commander does not
 * keep a null from a parser.
 */
function intervalDays(text: string): number {
	return text.trim() === 'none' ? 0 : days(text);
}

/** The policy and interval in a few characters: `AUTOMATIC 90d`, `MANUAL`, `ON_DEMAND`. */
function rotationText(s: SecretMetadata): string {
	return `${s.rotationPolicy}${s.rotationIntervalDays ? ` ${s.rotationIntervalDays}d` : ''}`;
}
import type { CliIo } from '../io';
import { type GlobalOptions, readValue, withService } from '../session';

interface ValueOptions {
	env: string;
	valueStdin?: boolean;
	generate?: boolean;
	length?: number;
	alphabet?: Alphabet;
	expiresAt?: string;
	notBefore?: string;
	expectedVersion?: number;
	reason?: string;
	json?: boolean;
}

interface SetOptions extends ValueOptions {
	type?: (typeof SECRET_TYPES)[number];
	description?: string;
	tag?: string[];
	rotateEvery?: number;
	rotationPolicy?: (typeof ROTATION_POLICIES)[number];
	allowedHost?: string[];
	allowedConsumer?: string[];
	maxVersions?: number;
}

const VALUE_HELP = `
Values are read from standard input only (--value-stdin), never from the command line, where other
users can read them in \`ps\`; there is deliberately no --value option. One trailing newline is dropped.`;

function envOption(): Option {
	return new Option(
		'--env <environment>',
		'environment (development, staging, production, … or * for all)',
	).makeOptionMandatory();
}

function addValueSource(cmd: Command): Command {
	return cmd
		.option('--value-stdin', 'read the value from standard input')
		.option('--generate', 'generate a random value inside the store')
		.option('--length <n>', 'length of a generated value', positiveInt, 32)
		.addOption(
			new Option('--alphabet <alphabet>', 'characters of a generated value')
				.choices(Object.keys(ALPHABETS))
				.default('alphanumeric'),
		)
		.option('--expires-at <iso>', 'the version stops resolving at this time')
		.option('--not-before <iso>', 'the version starts resolving at this time')
		.option(
			'--expected-version <n>',
			'write only if the latest version is still n (check-and-set)',
			nonNegativeInt,
		)
		.option('--reason <text>', 'why, for the audit trail')
		.option('--json', 'print JSON');
}

/** The value to write, or `undefined` with --generate (the store generates it and never prints it). */
async function valueSource(
	io: CliIo,
	o: ValueOptions,
): Promise<{ value?: string; generate?: { length: number; alphabet: Alphabet } }> {
	if (o.valueStdin && o.generate)
		throw new SecretsError('INVALID_INPUT', 'Give --value-stdin or --generate, not both.');
	if (o.valueStdin) return { value: await readValue(io) };
	if (o.generate)
		return { generate: { length: o.length ?? 32, alphabet: o.alphabet ?? 'alphanumeric' } };
	throw new SecretsError(
		'INVALID_INPUT',
		'Give the value on standard input with --value-stdin, or --generate one.',
	);
}

function versionLine(
	name: string,
	v: { version: number; environment: string; labels: string[]; expiresAt: string | null },
): string {
	const labels = v.labels.length ? ` (${v.labels.join(', ')})` : '';
	const exp = v.expiresAt ? `, expires ${shortDate(v.expiresAt)}` : '';
	return `${name}: version ${v.version} in ${v.environment}${labels}${exp}\n`;
}

function metadataChanges(o: SetOptions) {
	const changes = {
		description: o.description,
		tags: o.tag,
		rotationIntervalDays: o.rotateEvery === 0 ? null : o.rotateEvery,
		rotationPolicy: o.rotationPolicy,
		allowedHosts: o.allowedHost,
		allowedConsumers: o.allowedConsumer,
		maxVersions: o.maxVersions,
	};
	return Object.fromEntries(Object.entries(changes).filter(([, v]) => v !== undefined));
}

async function existing(
	service: SecretsApi,
	caller: Caller,
	name: string,
): Promise<SecretMetadata | undefined> {
	try {
		return await service.getSecret(caller, name);
	} catch (err) {
		if (isCode(err, 'SECRET_NOT_FOUND')) return undefined;
		throw err;
	}
}

function secretRows(items: SecretMetadata[], env?: string) {
	return items.map((s) => {
		const lines = env ? s.environments.filter((l) => l.environment === env) : s.environments;
		return [
			s.name,
			s.type,
			lines.map((l) => `${l.environment}:v${l.currentVersion ?? '-'}`).join(' ') || '-',
			s.tags.join(','),
			rotationText(s),
			s.deletedAt ? `deleted ${shortDate(s.deletedAt)}` : shortDate(s.updatedAt),
		];
	});
}

export function registerSecret(program: Command, io: CliIo): void {
	const secret = program.command('secret').description('create, read, rotate and delete secrets');
	const g = (cmd: Command) => cmd.optsWithGlobals() as GlobalOptions;

	const set = secret
		.command('set <name>')
		.description('create a secret, or write a new current value for it')
		.addOption(envOption())
		.addOption(
			new Option('--type <type>', 'type of a new secret (checked against the value)').choices(
				SECRET_TYPES,
			),
		)
		.option('--description <text>', 'what the secret is for')
		.option('--tag <tag>', 'a tag (repeatable)', collect)
		.option(
			'--rotate-every <days>',
			'rotation interval, e.g. 90d (none removes it); a new secret needs --rotation-policy with it',
			intervalDays,
		)
		.addOption(
			new Option(
				'--rotation-policy <policy>',
				'AUTOMATIC (a rotation workflow replaces the value every --rotate-every), MANUAL (a person rotates it; reminded every --rotate-every if given) or ON_DEMAND (rotated only when asked; no interval)',
			).choices(ROTATION_POLICIES),
		)
		.option(
			'--allowed-host <host>',
			'only send the value there: api.stripe.com, *.stripe.com, https://api.stripe.com (HTTPS, port 443), api.stripe.com:8443, or * for anywhere (repeatable)',
			collect,
		)
		.option(
			'--allowed-consumer <subject>',
			'only tokens of this subject (glob) may use it (repeatable)',
			collect,
		)
		.option('--max-versions <n>', 'versions that keep their value (default 10)', positiveInt);
	addValueSource(set)
		.addHelpText(
			'after',
			`${VALUE_HELP}

Example:
  printf %s "$STRIPE_KEY" | n8n-secrets secret set stripe-key --env production --value-stdin \\
      --type API_KEY --allowed-host api.stripe.com --rotation-policy AUTOMATIC --rotate-every 90d`,
		)
		.action(async (name: string, o: SetOptions, cmd: Command) => {
			const src = await valueSource(io, o);
			await withService(io, g(cmd), async (service, caller) => {
				const found = await existing(service, caller, name);
				const meta = metadataChanges(o);
				let result;
				if (!found) {
					await service.createSecret(caller, {
						name,
						type: o.type,
						...meta,
						environment: o.env,
						...src,
						notBefore: o.notBefore,
						expiresAt: o.expiresAt,
						reason: o.reason,
					});
					result = (await service.listVersions(caller, { name, environment: o.env }))[0];
				} else {
					if (o.type && o.type !== found.type) {
						throw new SecretsError(
							'INVALID_INPUT',
							`Secret "${name}" is a ${found.type}; its type cannot change to ${o.type}. Create a new secret instead.`,
						);
					}
					if (Object.keys(meta).length > 0) await service.updateSecret(caller, { name, ...meta });
					const write = {
						name,
						environment: o.env,
						notBefore: o.notBefore,
						expiresAt: o.expiresAt,
						expectedVersion: o.expectedVersion,
						reason: o.reason,
					};
					result = src.generate
						? await service.rotate(caller, { ...write, generate: src.generate })
						: await service.setValue(caller, { ...write, value: src.value! });
				}
				io.out(o.json ? json(result) : `${found ? '' : 'created '}${versionLine(name, result)}`);
			});
		});

	secret
		.command('list')
		.description('list secrets (names and metadata, never values)')
		.option('--env <environment>', 'only secrets with a value in this environment')
		.option('--prefix <prefix>', 'only names starting with this')
		.option('--tag <tag>', 'only secrets with this tag')
		.addOption(new Option('--type <type>', 'only secrets of this type').choices(SECRET_TYPES))
		.option('--deleted', 'include deleted secrets')
		.option('--json', 'print JSON')
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
				await withService(io, g(cmd), async (service, caller) => {
					const items: SecretMetadata[] = [];
					let cursor: string | undefined;
					do {
						const page = await service.listSecrets(caller, {
							environment: o.env,
							prefix: o.prefix,
							tag: o.tag,
							type: o.type,
							includeDeleted: o.deleted,
							cursor,
							limit: 500,
						});
						items.push(...page.items);
						cursor = page.nextCursor;
					} while (cursor);
					if (o.json) return io.out(json(items));
					if (items.length === 0) return io.out('No secrets.\n');
					io.out(
						table(
							['NAME', 'TYPE', 'CURRENT', 'TAGS', 'ROTATE', 'UPDATED'],
							secretRows(items, o.env),
						),
					);
				});
			},
		);

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
		.option('--json', 'print JSON')
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
				await withService(io, g(cmd), async (service, caller) => {
					if (!o.reveal) {
						const meta = await service.getSecret(caller, name);
						if (o.json) return io.out(json(meta));
						io.out(
							`${meta.name} (${meta.type})${meta.deletedAt ? ` deleted ${shortDate(meta.deletedAt)}` : ''}\n`,
						);
						if (meta.description) io.out(`  ${meta.description}\n`);
						io.out(
							`  tags: ${meta.tags.join(', ') || '-'}   rotation: ${meta.rotationPolicy}${meta.rotationIntervalDays ? ` every ${meta.rotationIntervalDays}d` : ''}` +
								(meta.nextRotationAt
									? `, next ${meta.rotationPolicy === 'AUTOMATIC' ? 'rotation' : 'reminder'} ${shortDate(meta.nextRotationAt)}`
									: '') +
								'\n',
						);
						if (meta.allowedHosts.length)
							io.out(`  allowed hosts: ${meta.allowedHosts.join(', ')}\n`);
						if (meta.allowedConsumers.length)
							io.out(`  allowed consumers: ${meta.allowedConsumers.join(', ')}\n`);
						io.out(
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
							),
						);
						return;
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

	secret
		.command('versions <name>')
		.description('list the versions of a secret in one environment')
		.addOption(envOption())
		.option('--json', 'print JSON')
		.action(async (name: string, o: { env: string; json?: boolean }, cmd: Command) => {
			await withService(io, g(cmd), async (service, caller) => {
				const versions = await service.listVersions(caller, { name, environment: o.env });
				if (o.json) return io.out(json(versions));
				io.out(
					table(
						['VERSION', 'LABELS', 'CREATED', 'BY', 'EXPIRES', 'STATE', 'REASON'],
						versions.map((v) => [
							v.version,
							v.labels.join(','),
							shortDate(v.createdAt),
							v.createdBy,
							shortDate(v.expiresAt),
							v.destroyedAt ? 'destroyed' : 'kept',
							v.reason,
						]),
					),
				);
			});
		});

	for (const [verb, description] of [
		['stage', 'write a pending version (used only when pinned with @pending until promoted)'],
		['rotate', 'write a new value and make it current in one step'],
	] as const) {
		addValueSource(secret.command(`${verb} <name>`).description(description).addOption(envOption()))
			.addHelpText(
				'after',
				verb === 'rotate'
					? `${VALUE_HELP}

Example:
  n8n-secrets secret rotate webhook-signing --env production --generate --length 48`
					: VALUE_HELP,
			)
			.action(async (name: string, o: ValueOptions, cmd: Command) => {
				const src = await valueSource(io, o);
				await withService(io, g(cmd), async (service, caller) => {
					const input = {
						name,
						environment: o.env,
						...src,
						notBefore: o.notBefore,
						expiresAt: o.expiresAt,
						expectedVersion: o.expectedVersion,
						reason: o.reason,
					};
					const v =
						verb === 'stage'
							? await service.stage(caller, input)
							: await service.rotate(caller, input);
					io.out(o.json ? json(v) : versionLine(name, v));
				});
			});
	}

	for (const [verb, description] of [
		['promote', 'make the pending version current (the current one becomes previous)'],
		['rollback', 'make the previous version current again'],
	] as const) {
		secret
			.command(`${verb} <name>`)
			.description(description)
			.addOption(envOption())
			.option('--expected-version <n>', 'act only if the latest version is still n', nonNegativeInt)
			.option('--reason <text>', 'why, for the audit trail')
			.option('--json', 'print JSON')
			.action(
				async (
					name: string,
					o: { env: string; expectedVersion?: number; reason?: string; json?: boolean },
					cmd: Command,
				) => {
					await withService(io, g(cmd), async (service, caller) => {
						const input = {
							name,
							environment: o.env,
							expectedVersion: o.expectedVersion,
							reason: o.reason,
						};
						const v =
							verb === 'promote'
								? await service.promote(caller, input)
								: await service.rollback(caller, input);
						io.out(o.json ? json(v) : versionLine(name, v));
					});
				},
			);
	}

	secret
		.command('delete <name>')
		.description('delete a secret (it can be restored during the recovery window)')
		.option('--reason <text>', 'why, for the audit trail')
		.action(async (name: string, o: { reason?: string }, cmd: Command) => {
			// Checked here too: the reason goes into the audit trail of whichever store is open.
			const i = parseInput(deleteInput, { name, reason: o.reason });
			await withService(io, g(cmd), async (service, caller) => {
				await service.deleteSecret(caller, i.name, i.reason);
				io.out(`${name}: deleted; \`n8n-secrets secret restore ${name}\` brings it back.\n`);
			});
		});
	secret
		.command('restore <name>')
		.description('bring back a deleted secret with all its versions')
		.action(async (name: string, _o: unknown, cmd: Command) => {
			await withService(io, g(cmd), async (service, caller) => {
				await service.restoreSecret(caller, name);
				io.out(`${name}: restored.\n`);
			});
		});
	secret
		.command('purge <name>')
		.description('erase a deleted secret for good (its audit history stays)')
		.action(async (name: string, _o: unknown, cmd: Command) => {
			await withService(io, g(cmd), async (service, caller) => {
				await service.purgeSecret(caller, name);
				io.out(`${name}: purged.\n`);
			});
		});

	secret
		.command('expiring')
		.description('current values that expire within N days (or have expired)')
		.option('--within <days>', 'days ahead', nonNegativeInt, 30)
		.option('--env <environment>', 'only this environment')
		.option('--json', 'print JSON')
		.action(async (o: { within: number; env?: string; json?: boolean }, cmd: Command) => {
			await withService(io, g(cmd), async (service, caller) => {
				const items = await service.expiring(caller, { withinDays: o.within, environment: o.env });
				if (o.json) return io.out(json(items));
				if (items.length === 0) return io.out(`Nothing expires within ${o.within} days.\n`);
				io.out(
					table(
						['NAME', 'ENVIRONMENT', 'VERSION', 'EXPIRES', 'DAYS LEFT'],
						items.map((e) => [
							e.name,
							e.environment,
							e.version,
							shortDate(e.expiresAt),
							e.expired ? 'expired' : e.daysLeft,
						]),
					),
				);
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
		.option('--json', 'print JSON')
		.action(
			async (
				o: { env?: string; policy?: 'AUTOMATIC' | 'MANUAL'; json?: boolean },
				cmd: Command,
			) => {
				await withService(io, g(cmd), async (service, caller) => {
					const items = await service.dueForRotation(caller, {
						environment: o.env,
						rotationPolicy: o.policy,
					});
					if (o.json) return io.out(json(items));
					if (items.length === 0) return io.out('Nothing is due for rotation.\n');
					io.out(
						table(
							['NAME', 'ENVIRONMENT', 'POLICY', 'ACTION', 'EVERY', 'DUE SINCE', 'OVERDUE DAYS'],
							items.map((d) => [
								d.name,
								d.environment,
								d.rotationPolicy,
								d.action,
								`${d.rotationIntervalDays}d`,
								shortDate(d.dueAt),
								d.overdueDays,
							]),
						),
					);
				});
			},
		);
}
