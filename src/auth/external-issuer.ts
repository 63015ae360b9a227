/**
 * Tokens from an external OAuth 2.0 / OpenID Connect issuer (Keycloak, Auth0, Entra ID, …), for the
 * server: verified against the issuer's JWKS with issuer, audience and expiry checks, then mapped to
 * a principal through configurable claims. They cannot be revoked in this store: keep them short-lived.
 */
import { createRemoteJWKSet, decodeJwt, errors as joseErrors, jwtVerify } from 'jose';

import { SecretsError } from '../core/errors';
import { ROLES, SCOPES, type Principal, type Scope } from '../core/model';

export interface ExternalIssuerConfig {
	issuer: string;
	audience: string;
	/** Default: `<issuer>/.well-known/jwks.json`. */
	jwksUrl?: string;
	/** Tenant for every external token, unless `tenantClaim` names a claim that carries it. */
	tenant?: string;
	tenantClaim?: string;
	subjectClaim?: string;
	/** A claim with scopes (space-separated string or array); values that are not ours are ignored. */
	scopeClaim?: string;
	/** A claim with role names (viewer, user, operator, …), mapped to their scopes. */
	roleClaim?: string;
	environmentsClaim?: string;
	secretsClaim?: string;
	algorithms?: string[];
}

function claimPath(payload: Record<string, unknown>, path: string | undefined): unknown {
	if (!path) return undefined;
	let v: unknown = payload;
	for (const part of path.split('.')) {
		if (v === null || typeof v !== 'object') return undefined;
		v = (v as Record<string, unknown>)[part];
	}
	return v;
}

function list(v: unknown): string[] {
	if (typeof v === 'string') return v.split(/[\s,]+/).filter(Boolean);
	if (Array.isArray(v)) return v.map(String);
	return [];
}

/**
 * A configured limit claim (environments, secret names) must be there: a token without it would
 * otherwise get no limit at all, so it is refused (fail closed). An explicit empty list means none.
 */
function limitClaim(payload: Record<string, unknown>, path: string | undefined): string[] {
	if (!path) return [];
	const v = claimPath(payload, path);
	if (typeof v !== 'string' && !Array.isArray(v))
		throw invalid(
			`The identity provider's token has no "${path}" claim, which this server is configured to limit tokens by.`,
		);
	return list(v);
}

function invalid(message: string): SecretsError {
	return new SecretsError('TOKEN_INVALID', message);
}

/** Printable text without control characters or unpaired surrogates, as stored tokens' subjects. */
const CLAIM_TEXT = /^[^\p{Cc}\p{Cs}]{1,200}$/u;
/** A tenant name, as `n8n-secrets init --tenant` accepts it. */
const TENANT = /^[A-Za-z0-9_-]{1,64}$/;

export class ExternalIssuer {
	private readonly jwks: ReturnType<typeof createRemoteJWKSet>;

	constructor(
		readonly config: ExternalIssuerConfig,
		private readonly now: () => number = Date.now,
	) {
		this.jwks = createRemoteJWKSet(
			new URL(config.jwksUrl ?? `${config.issuer.replace(/\/$/, '')}/.well-known/jwks.json`),
			{ timeoutDuration: 5000, cooldownDuration: 30_000 },
		);
	}

	/** Whether the token claims to come from this issuer (not yet verified). */
	claims(token: string): boolean {
		try {
			return decodeJwt(token).iss === this.config.issuer;
		} catch {
			return false;
		}
	}

	async verify(token: string): Promise<Principal> {
		let payload: Record<string, unknown>;
		try {
			({ payload } = await jwtVerify(token, this.jwks, {
				issuer: this.config.issuer,
				audience: this.config.audience,
				algorithms: this.config.algorithms ?? ['RS256', 'ES256', 'EdDSA', 'PS256'],
				currentDate: new Date(this.now()),
			}));
		} catch (err) {
			if (err instanceof joseErrors.JWTExpired)
				throw new SecretsError(
					'TOKEN_EXPIRED',
					'The access token from the identity provider has expired; get a new one.',
				);
			if (err instanceof joseErrors.JWTClaimValidationFailed)
				throw invalid(
					`The identity provider's token is not for this server (${err.claim} check failed).`,
				);
			if (
				err instanceof joseErrors.JWKSTimeout ||
				(err as { code?: string }).code === 'ECONNREFUSED'
			)
				throw new SecretsError(
					'SERVER_UNAVAILABLE',
					"The identity provider's signing keys could not be fetched; try again.",
				);
			throw invalid("The identity provider's token did not verify.");
		}
		const c = this.config;
		const subject = claimPath(payload, c.subjectClaim ?? 'sub');
		if (typeof subject !== 'string' || !subject)
			throw invalid(`The identity provider's token has no "${c.subjectClaim ?? 'sub'}" claim.`);
		const tenant = c.tenantClaim ? claimPath(payload, c.tenantClaim) : (c.tenant ?? 'default');
		if (typeof tenant !== 'string' || !tenant)
			throw invalid(`The identity provider's token has no "${c.tenantClaim}" claim.`);
		// These become audit fields and SQL parameters: the same text rules as everywhere else.
		const jti = typeof payload.jti === 'string' ? payload.jti : subject;
		if (!CLAIM_TEXT.test(subject) || !CLAIM_TEXT.test(jti) || !TENANT.test(tenant))
			throw invalid(
				"The identity provider's token has a subject, id or tenant with characters this store does not accept.",
			);
		const scopes = new Set<Scope>();
		for (const s of list(claimPath(payload, c.scopeClaim ?? 'scope')))
			if ((SCOPES as readonly string[]).includes(s)) scopes.add(s as Scope);
		for (const r of list(claimPath(payload, c.roleClaim)))
			if (Object.prototype.hasOwnProperty.call(ROLES, r))
				for (const s of ROLES[r as keyof typeof ROLES]) scopes.add(s);
		if (scopes.size === 0)
			throw new SecretsError(
				'ACCESS_DENIED',
				"The identity provider's token grants no n8n-secrets scope or role.",
			);
		return {
			tenant,
			subject,
			jti: `ext:${jti}`,
			scopes: [...scopes],
			environments: limitClaim(payload, c.environmentsClaim),
			secrets: limitClaim(payload, c.secretsClaim),
			expiresAt: typeof payload.exp === 'number' ? payload.exp * 1000 : null,
			external: true,
		};
	}
}

/** From `N8N_SECRETS_OAUTH_*`; undefined when no issuer is configured. */
export function externalIssuerFromEnv(env: NodeJS.ProcessEnv): ExternalIssuerConfig | undefined {
	const issuer = env.N8N_SECRETS_OAUTH_ISSUER?.trim();
	if (!issuer) return undefined;
	const audience = env.N8N_SECRETS_OAUTH_AUDIENCE?.trim();
	if (!audience)
		throw new SecretsError(
			'INVALID_INPUT',
			'N8N_SECRETS_OAUTH_ISSUER is set without N8N_SECRETS_OAUTH_AUDIENCE: tokens must be checked for this audience.',
		);
	const v = (name: string) => env[`N8N_SECRETS_OAUTH_${name}`]?.trim() || undefined;
	return {
		issuer,
		audience,
		jwksUrl: v('JWKS_URL'),
		tenant: v('TENANT'),
		tenantClaim: v('TENANT_CLAIM'),
		subjectClaim: v('SUBJECT_CLAIM'),
		scopeClaim: v('SCOPE_CLAIM'),
		roleClaim: v('ROLE_CLAIM'),
		environmentsClaim: v('ENVIRONMENTS_CLAIM'),
		secretsClaim: v('SECRETS_CLAIM'),
	};
}
