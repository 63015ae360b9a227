/** `secret set`, `stage`, `rotate`, `promote` and `rollback`: the commands that write versions. */
import { type Command, Option } from 'commander';

import { SecretsError, isCode } from '../../core/errors';
import {
	ROTATION_POLICIES,
	SECRET_TYPES,
	type SecretMetadata,
	type VersionInfo,
} from '../../core/model';
import { ALPHABETS, type Alphabet } from '../../crypto/generate';
import type { Caller, SecretsApi } from '../../service/api';
import { json, shortDate } from '../format';
import type { CliIo } from '../io';
import {
	collect,
	days,
	envOption,
	expectedVersionOption,
	jsonOption,
	positiveInt,
	reasonOption,
} from '../options';
import { readValue, withService } from '../session';

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

/**
 * `90d`, `90`, or `none` (0 here) to remove the interval of an existing secret: commander does not
 * keep a null from a parser.
 */
function intervalDays(text: string): number {
	return text.trim() === 'none' ? 0 : days(text);
}

/** The options of a command that writes a new value: where it comes from, its dates, the audit note. */
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
		.addOption(expectedVersionOption('write only if the latest version is still n (check-and-set)'))
		.addOption(reasonOption())
		.addOption(jsonOption());
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

/** What a write gives the service besides the value: the line, its dates and the audit note. */
function writeFields(name: string, o: ValueOptions) {
	return {
		name,
		environment: o.env,
		notBefore: o.notBefore,
		expiresAt: o.expiresAt,
		expectedVersion: o.expectedVersion,
		reason: o.reason,
	};
}

/** The version a command wrote or moved, as JSON or a line of text. */
function versionOut(name: string, v: VersionInfo, o: { json?: boolean }, prefix = ''): string {
	if (o.json) return json(v);
	const labels = v.labels.length ? ` (${v.labels.join(', ')})` : '';
	const exp = v.expiresAt ? `, expires ${shortDate(v.expiresAt)}` : '';
	return `${prefix}${name}: version ${v.version} in ${v.environment}${labels}${exp}\n`;
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

/** `secret set`: creates the secret with its first value, or writes a new current value. */
export function registerSet(secret: Command, io: CliIo): void {
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
			await withService(io, cmd, async (service, caller) => {
				const found = await existing(service, caller, name);
				const meta = metadataChanges(o);
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
					const [created] = await service.listVersions(caller, { name, environment: o.env });
					return io.out(versionOut(name, created, o, 'created '));
				}
				if (o.type && o.type !== found.type) {
					throw new SecretsError(
						'INVALID_INPUT',
						`Secret "${name}" is a ${found.type}; its type cannot change to ${o.type}. Create a new secret instead.`,
					);
				}
				if (Object.keys(meta).length > 0) await service.updateSecret(caller, { name, ...meta });
				const write = writeFields(name, o);
				const v = src.generate
					? await service.rotate(caller, { ...write, generate: src.generate })
					: await service.setValue(caller, { ...write, value: src.value! });
				io.out(versionOut(name, v, o));
			});
		});
}

/** `secret stage` and `secret rotate`: a new value, pending or current at once. */
export function registerStageRotate(secret: Command, io: CliIo): void {
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
				await withService(io, cmd, async (service, caller) => {
					const input = { ...writeFields(name, o), ...src };
					const v =
						verb === 'stage'
							? await service.stage(caller, input)
							: await service.rotate(caller, input);
					io.out(versionOut(name, v, o));
				});
			});
	}
}

/** `secret promote` and `secret rollback`: move the current label between existing versions. */
export function registerPromoteRollback(secret: Command, io: CliIo): void {
	for (const [verb, description] of [
		['promote', 'make the pending version current (the current one becomes previous)'],
		['rollback', 'make the previous version current again'],
	] as const) {
		secret
			.command(`${verb} <name>`)
			.description(description)
			.addOption(envOption())
			.addOption(expectedVersionOption('act only if the latest version is still n'))
			.addOption(reasonOption())
			.addOption(jsonOption())
			.action(
				async (
					name: string,
					o: { env: string; expectedVersion?: number; reason?: string; json?: boolean },
					cmd: Command,
				) => {
					await withService(io, cmd, async (service, caller) => {
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
						io.out(versionOut(name, v, o));
					});
				},
			);
	}
}
