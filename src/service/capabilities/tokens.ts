/**
 * Access tokens: what a token may do (whoami), issuing (shown once; a limited token passes its limits
 * on), revoking and listing. A limited token learns nothing about tokens outside its own limits.
 */
import { randomUUID } from 'node:crypto';

import { SecretsError } from '../../core/errors';
import { type N8nContext, type Principal, ROLES, type TokenInfo } from '../../core/model';
import * as schema from '../../core/schemas';
import { Denial, exceededLimit, isLimited } from '../../auth/permissions';
import { signToken } from '../../auth/tokens';
import { toTokenInfo, tokens } from '../../store/repository';
import type { SqlExecutor } from '../../store/sql';
import type { WhoAmI } from '../api';
import type { Core } from '../core';
import type { Impl } from '../runner';
import { loadSigningKey } from '../store-keys';

/**
 * The limits that decide whether a token may list or revoke another: scopes, environments and names.
 * Not the lifetime: revoking a token that outlives the caller gives nothing away, and an admin must be
 * able to revoke a leaked token issued after its own.
 */
function revocable(t: TokenInfo) {
	return { scopes: t.scopes, environments: t.environments, secrets: t.secrets };
}

const whoami: Impl<'whoami'> = async (_c, { p }): Promise<WhoAmI> => ({
	...p,
	expiresAt: p.expiresAt === null ? null : new Date(p.expiresAt).toISOString(),
});

/**
 * Issues a token for `issuer` (an operation's principal, or the master key's holder at init). With a
 * principal, the new token stays within its limits; `context` is the workflow run that mints it.
 */
export async function issueToken(
	c: Pick<Core, 'now' | 'driver' | 'keyring' | 'audit' | 'checkToken'>,
	issuer: { tenant: string; subject: string; jti: string | null; context?: N8nContext },
	input: schema.CreateTokenInput,
	principal: Principal | undefined,
): Promise<{ token: string; info: TokenInfo }> {
	const i = schema.parseInput(schema.createTokenInput, input);
	const ttl = schema.ttlSeconds(i.ttl);
	const nowMs = c.now().getTime();
	let expiresAt = ttl === null ? null : nowMs + ttl * 1000;
	let { environments, secrets: names } = i;
	if (principal) {
		// A limited token passes its own limits on: what it leaves out it inherits, and the new token's
		// lifetime ends no later than its own (shortened, not refused: the answer says when).
		if (environments.length === 0) environments = [...principal.environments];
		if (names.length === 0) names = [...principal.secrets];
		if (principal.expiresAt !== null && (expiresAt === null || expiresAt > principal.expiresAt))
			expiresAt = principal.expiresAt;
	}
	const info: TokenInfo = {
		jti: randomUUID(),
		tenant: issuer.tenant,
		subject: i.subject,
		role: i.role ?? 'custom',
		scopes: [...(i.role ? ROLES[i.role] : i.scopes!)],
		environments,
		secrets: names,
		createdAt: new Date(nowMs).toISOString(),
		createdBy: issuer.subject,
		expiresAt: expiresAt === null ? null : new Date(expiresAt).toISOString(),
		revokedAt: null,
	};
	if (principal) {
		const beyond = exceededLimit(principal, { ...info, expiresAt });
		if (beyond)
			throw new Denial(
				`This access token may only issue tokens within its own limits; the new token would have ${beyond}.`,
				`token.create beyond own limits: ${beyond}`,
			);
	}
	return c.driver.transaction(async (tx: SqlExecutor) => {
		if (principal) await c.checkToken(tx, principal);
		const { kid, key } = await loadSigningKey(tx, c.keyring, issuer.tenant);
		await tokens.insert(tx, info);
		const limits = [
			info.environments.length ? `, env ${info.environments.join('/')}` : '',
			info.secrets.length ? `, secrets ${info.secrets.join('/')}` : '',
		].join('');
		await c.audit.write(tx, issuer.tenant, {
			actor: issuer.subject,
			tokenId: issuer.jti,
			action: 'token.create',
			outcome: 'success',
			context: issuer.context,
			reason: `token ${info.jti} for ${info.subject}: ${info.role}${limits}`,
		});
		const token = await signToken(key, kid, {
			tenant: issuer.tenant,
			subject: info.subject,
			jti: info.jti,
			scopes: info.scopes,
			environments: info.environments,
			secrets: info.secrets,
			issuedAt: nowMs,
			expiresAt: info.expiresAt === null ? null : Date.parse(info.expiresAt),
		});
		return { token, info };
	});
}

const createToken: Impl<'createToken'> = (c, { p, i, caller }) =>
	issueToken(
		c,
		{ tenant: p.tenant, subject: p.subject, jti: p.jti, context: caller.context },
		i,
		p,
	);

const revokeToken: Impl<'revokeToken'> = async (c, { p, i }, tx, note) => {
	const row = await tokens.get(tx, p.tenant, i.jti);
	const beyond = row && row.jti !== p.jti && exceededLimit(p, revocable(toTokenInfo(row)));
	// A limited token learns nothing about tokens outside its limits, not even that they exist.
	if (beyond || (!row && isLimited(p)))
		throw new Denial(
			`This access token may not revoke token ${i.jti}: there is no such token within its own limits.`,
			`token.revoke: ${beyond || 'unknown token'}`,
		);
	if (!row)
		throw new SecretsError(
			'INVALID_INPUT',
			`No access token with id ${i.jti} in this tenant. List them with \`n8n-secrets token list\`.`,
		);
	await tokens.revoke(tx, p.tenant, i.jti, c.iso());
	note.reason = `token ${i.jti} of ${row.subject}`;
	return toTokenInfo((await tokens.get(tx, p.tenant, i.jti))!);
};

const listTokens: Impl<'listTokens'> = async (_c, { p }, x) =>
	(await tokens.list(x, p.tenant)).filter(
		(t) => t.jti === p.jti || !exceededLimit(p, revocable(t)),
	);

export const TOKENS = { whoami, createToken, revokeToken, listTokens };
