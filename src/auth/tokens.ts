/**
 * Access tokens are JWTs signed with the tenant's Ed25519 key (EdDSA, via jose). The signature proves
 * the claims; revocation and the tenant's existence are checked against the store on every call, so a
 * cached verification never outlives a revoke.
 */
import type { KeyObject } from 'node:crypto';
import { SignJWT, decodeJwt, decodeProtectedHeader, errors as joseErrors, jwtVerify } from 'jose';

import { SecretsError } from '../core/errors';
import { SCOPES, type Principal, type Scope } from '../core/model';
import type { ExternalIssuer } from './external-issuer';

export const TOKEN_ISSUER = 'n8n-secrets';
export const TOKEN_AUDIENCE = 'n8n-secrets';

interface Claims {
	tnt: string;
	scp: Scope[];
	env?: string[];
	sec?: string[];
}

export type SigningKeyLoader = (tenant: string, kid: string) => Promise<KeyObject | undefined>;

function invalid(message = 'The access token is not valid for this secrets store.'): SecretsError {
	return new SecretsError(
		'TOKEN_INVALID',
		`${message} Create a new one with \`n8n-secrets token create\`.`,
	);
}

/** Bounded so a flood of distinct forged tokens cannot grow memory; verifying again is only slower. */
const CACHE_LIMIT = 10_000;

export class TokenVerifier {
	private readonly cache = new Map<string, Principal>();

	constructor(
		private readonly loadKey: SigningKeyLoader,
		private readonly now: () => number,
		private readonly external?: ExternalIssuer,
	) {}

	async verify(token: string): Promise<Principal> {
		const cached = this.cache.get(token);
		if (cached) return this.checkExpiry(cached);
		if (typeof token !== 'string' || token.length > 8192 || token.split('.').length !== 3)
			throw invalid();
		if (this.external?.claims(token)) {
			const principal = await this.external.verify(token);
			this.remember(token, principal);
			return principal;
		}
		let kid: string | undefined;
		let tenant: unknown;
		try {
			kid = decodeProtectedHeader(token).kid;
			tenant = decodeJwt(token).tnt;
		} catch {
			throw invalid();
		}
		if (!kid || typeof tenant !== 'string') throw invalid();
		const key = await this.loadKey(tenant, kid);
		if (!key) throw invalid();
		let payload: Record<string, unknown>;
		try {
			({ payload } = await jwtVerify(token, key, {
				algorithms: ['EdDSA'],
				issuer: TOKEN_ISSUER,
				audience: TOKEN_AUDIENCE,
				currentDate: new Date(this.now()),
				requiredClaims: ['jti', 'sub', 'tnt', 'scp'],
			}));
		} catch (err) {
			if (err instanceof joseErrors.JWTExpired) throw expired();
			throw invalid();
		}
		const scopes = payload.scp;
		if (!Array.isArray(scopes) || !scopes.every((s) => (SCOPES as readonly string[]).includes(s)))
			throw invalid();
		const principal: Principal = {
			tenant,
			subject: String(payload.sub),
			jti: String(payload.jti),
			scopes: scopes as Scope[],
			environments: Array.isArray(payload.env) ? payload.env.map(String) : [],
			secrets: Array.isArray(payload.sec) ? payload.sec.map(String) : [],
			expiresAt: typeof payload.exp === 'number' ? payload.exp * 1000 : null,
		};
		this.remember(token, principal);
		return principal;
	}

	private remember(token: string, principal: Principal): void {
		if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
		this.cache.set(token, principal);
	}

	private checkExpiry(p: Principal): Principal {
		if (p.expiresAt !== null && p.expiresAt <= this.now()) throw expired();
		return p;
	}
}

function expired(): SecretsError {
	return new SecretsError(
		'TOKEN_EXPIRED',
		'The access token has expired. Ask an admin for a new one (`n8n-secrets token create`).',
	);
}

export async function signToken(
	privateKey: KeyObject,
	kid: string,
	input: {
		tenant: string;
		subject: string;
		jti: string;
		scopes: Scope[];
		environments: string[];
		secrets: string[];
		issuedAt: number;
		expiresAt: number | null;
	},
): Promise<string> {
	const claims: Claims = { tnt: input.tenant, scp: input.scopes };
	if (input.environments.length) claims.env = input.environments;
	if (input.secrets.length) claims.sec = input.secrets;
	const jwt = new SignJWT({ ...claims })
		.setProtectedHeader({ alg: 'EdDSA', kid, typ: 'JWT' })
		.setIssuer(TOKEN_ISSUER)
		.setAudience(TOKEN_AUDIENCE)
		.setSubject(input.subject)
		.setJti(input.jti)
		.setIssuedAt(Math.floor(input.issuedAt / 1000));
	if (input.expiresAt !== null) jwt.setExpirationTime(Math.floor(input.expiresAt / 1000));
	return jwt.sign(privateKey);
}
