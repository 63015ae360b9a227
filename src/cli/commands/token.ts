import { type Command, Option } from 'commander';

import { ROLES, SCOPES, type Scope } from '../../core/model';
import { parseInput, revokeTokenInput } from '../../core/schemas';
import { json, printList, shortDate } from '../format';
import type { CliIo } from '../io';
import { collect, jsonOption } from '../options';
import { withService } from '../session';

export function registerToken(program: Command, io: CliIo): void {
	const token = program
		.command('token')
		.description('create, list and revoke access tokens (admin)');

	token
		.command('create')
		.description('create an access token; it is printed once and cannot be shown again')
		.addOption(new Option('--role <role>', 'a role preset').choices(Object.keys(ROLES)))
		.addOption(
			new Option('--scope <scope>', 'a single permission instead of a role (repeatable)')
				.choices(SCOPES)
				.argParser(collect as (v: string, p: string[]) => string[]),
		)
		.option('--env <environment>', 'limit the token to this environment (repeatable)', collect)
		.option(
			'--secrets <glob>',
			'limit the token to secret names matching this, e.g. stripe-* (repeatable)',
			collect,
		)
		.option('--ttl <duration>', 'lifetime: 90d, 12h, 30m or never', '90d')
		.option('--subject <name>', 'who or what uses the token (shown in the audit trail)', 'n8n')
		.addOption(jsonOption())
		.addHelpText(
			'after',
			`
Roles: ${Object.entries(ROLES)
				.map(([r, s]) => `${r} (${s.join(', ')})`)
				.join('; ')}.

Example: a token for the production n8n that may use the Stripe keys and nothing else:
  n8n-secrets token create --role user --env production --secrets 'stripe-*' --subject n8n-prod`,
		)
		.action(
			async (
				o: {
					role?: keyof typeof ROLES;
					scope?: Scope[];
					env?: string[];
					secrets?: string[];
					ttl: string;
					subject: string;
					json?: boolean;
				},
				cmd: Command,
			) => {
				await withService(io, cmd, async (service, caller) => {
					const { token: jwt, info } = await service.createToken(caller, {
						subject: o.subject,
						role: o.role,
						scopes: o.scope,
						environments: o.env ?? [],
						secrets: o.secrets ?? [],
						ttl: o.ttl,
					});
					if (o.json) return io.out(json({ token: jwt, ...info }));
					io.out(`${jwt}\n`);
					io.err(
						`Token ${info.jti} for ${info.subject}: ${info.role} [${info.scopes.join(', ')}]` +
							`${info.environments.length ? `, environments ${info.environments.join(', ')}` : ''}` +
							`${info.secrets.length ? `, secrets ${info.secrets.join(', ')}` : ''}` +
							`, expires ${info.expiresAt ? shortDate(info.expiresAt) : 'never'}. It is shown only this once.\n`,
					);
				});
			},
		);

	token
		.command('list')
		.description('list access tokens (ids and constraints, never the tokens themselves)')
		.addOption(jsonOption())
		.action(async (o: { json?: boolean }, cmd: Command) => {
			await withService(io, cmd, async (service, caller) => {
				const tokens = await service.listTokens(caller);
				printList(io, o, tokens, {
					headers: ['ID', 'SUBJECT', 'ROLE', 'ENVIRONMENTS', 'SECRETS', 'EXPIRES', 'STATE'],
					row: (t) => [
						t.jti,
						t.subject,
						t.role,
						t.environments.join(',') || 'all',
						t.secrets.join(',') || 'all',
						t.expiresAt ? shortDate(t.expiresAt) : 'never',
						t.revokedAt ? `revoked ${shortDate(t.revokedAt)}` : 'active',
					],
				});
			});
		});

	token
		.command('revoke <jti>')
		.description('revoke a token at once, everywhere')
		.action(async (jti: string, _o: unknown, cmd: Command) => {
			const i = parseInput(revokeTokenInput, { jti });
			await withService(io, cmd, async (service, caller) => {
				const t = await service.revokeToken(caller, i.jti);
				io.out(`Token ${t.jti} of ${t.subject} revoked.\n`);
			});
		});
}
