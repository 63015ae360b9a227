/**
 * Sessions for the Secrets page: an access token, pasted once, is exchanged for an opaque session id
 * in an httpOnly, SameSite=Strict cookie. The token stays in this process's memory and never goes
 * back to the browser; every request of the session runs as that token, so the service decides
 * everything exactly as it does for a bearer. Writes need the session's CSRF proof and a same-origin
 * request; sessions end when idle, at an absolute limit, at sign-out, and when their token stops
 * working. Failed sign-ins are rate-limited per client address.
 */
import { createHash, randomBytes } from 'node:crypto';

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

import { SecretsError, isSecretsError } from '../core/errors';
import { ROLES, type Role } from '../core/model';
import { macEquals } from '../crypto/aead';
import type { WhoAmI } from '../service/api';
import type { SecretsService } from '../service/secrets-service';

export interface SessionOptions {
	/** A session unused this long ends (default 15 minutes). */
	idleSeconds?: number;
	/** A session ends this long after sign-in whatever happens (default 8 hours). */
	maxSeconds?: number;
	/** Failed sign-ins one client address may make within the window (default 5 per 5 minutes). */
	signInFailures?: number;
	signInWindowSeconds?: number;
	/** Live sessions kept at most; the least recently used ends first (default 10,000). */
	maxSessions?: number;
	/** Live sessions of one token at most; its own least recently used ends first (default 20). */
	maxSessionsPerToken?: number;
	now?: () => number;
}

export const SESSION_DEFAULTS = {
	idleSeconds: 15 * 60,
	maxSeconds: 8 * 60 * 60,
	signInFailures: 5,
	signInWindowSeconds: 5 * 60,
	maxSessions: 10_000,
	maxSessionsPerToken: 20,
} as const;

interface Session {
	token: string;
	csrf: string;
	who: WhoAmI;
	createdAt: number;
	lastSeen: number;
	endsAt: number;
}

/** What the page learns about its session: never the token. */
export interface SessionInfo {
	csrfToken: string;
	tenant: string;
	subject: string;
	/** The id of the token behind the session (the Tokens page marks it). */
	tokenId: string;
	role: Role | null;
	scopes: string[];
	environments: string[];
	secrets: string[];
	idleTimeoutSeconds: number;
	expiresAt: string;
}

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
/** The service's answers that mean the token behind a session no longer works. */
const TOKEN_FAILURES = new Set([
	'TOKEN_INVALID',
	'TOKEN_EXPIRED',
	'TOKEN_REVOKED',
	'TENANT_NOT_FOUND',
]);

/** The role whose scopes are exactly the token's, if one is. */
function roleOf(scopes: readonly string[]): Role | null {
	const own = [...scopes].sort().join(' ');
	const match = Object.entries(ROLES).find(([, s]) => [...s].sort().join(' ') === own);
	return match ? (match[0] as Role) : null;
}

function digest(id: string): string {
	return createHash('sha256').update(id).digest('hex');
}

/**
 * The session cookie's value. Cookies are scoped by host name, not port: another service on the same
 * host can set a cookie of this name (with a longer path, so the browser sends it first) to run the
 * page under a session of its choosing. More than one is refused, never guessed between.
 */
function cookieValue(req: FastifyRequest, name: string): string | undefined {
	const header = req.headers.cookie;
	if (typeof header !== 'string') return undefined;
	const values: string[] = [];
	for (const part of header.split(';')) {
		const eq = part.indexOf('=');
		if (eq > 0 && part.slice(0, eq).trim() === name) values.push(part.slice(eq + 1).trim());
	}
	if (values.length > 1)
		throw new SecretsError(
			'SESSION_EXPIRED',
			'The browser sent two session cookies: one was set by another service on this host name. Both are cleared; sign in again, and give the Secrets page a host name of its own.',
		);
	return values[0];
}

/** Paths a shadowing cookie may have been set for: cleared with the page's own. */
const COOKIE_PATHS = ['/', '/api', '/api/v1', '/ui'];

export class Sessions {
	private readonly options: Required<Omit<SessionOptions, 'now'>>;
	private readonly now: () => number;
	/** By the SHA-256 of the cookie's id: the map never holds what a browser presents. */
	private readonly live = new Map<string, Session>();
	private readonly failures = new Map<string, number[]>();
	private readonly bySession = new WeakMap<FastifyRequest, { id: string; session: Session }>();
	readonly cookieName: string;

	constructor(
		private readonly service: SecretsService,
		private readonly secure: boolean,
		options: SessionOptions = {},
	) {
		this.options = { ...SESSION_DEFAULTS, ...withoutUndefined(options) };
		this.now = options.now ?? Date.now;
		// `__Host-`: the browser accepts it only Secure, for this host and path `/`, never from a subdomain.
		this.cookieName = secure ? '__Host-n8n-secrets-session' : 'n8n-secrets-session';
	}

	/** The token a request's live session runs as, for the caller of its operation. */
	tokenOf(req: FastifyRequest): string | undefined {
		return this.bySession.get(req)?.session.token;
	}

	info(session: Session): SessionInfo {
		return {
			csrfToken: session.csrf,
			tenant: session.who.tenant,
			subject: session.who.subject,
			tokenId: session.who.jti,
			role: roleOf(session.who.scopes),
			scopes: [...session.who.scopes],
			environments: [...session.who.environments],
			secrets: [...session.who.secrets],
			idleTimeoutSeconds: this.options.idleSeconds,
			expiresAt: new Date(session.endsAt).toISOString(),
		};
	}

	/** Registers the session routes and the hook that authenticates requests by their cookie. */
	register(app: FastifyInstance, prefix: string): void {
		app.addHook('onRequest', async (req, reply) => {
			if (!req.url.startsWith(`${prefix}/`) || req.url.startsWith(`${prefix}/session`)) return;
			// A bearer token is an API client's: the cookie, if any, plays no part.
			if (req.headers.authorization !== undefined) return;
			const id = this.cookieOf(req, reply);
			if (id === undefined) return;
			const session = this.current(id);
			if (!session) {
				this.clearCookie(reply);
				throw sessionEnded();
			}
			this.checkSameOrigin(req);
			if (UNSAFE.has(req.method)) this.checkCsrf(req, session);
			session.lastSeen = this.now();
			this.bySession.set(req, { id, session });
		});
		app.addHook('onError', async (req, _reply, err) => {
			const held = this.bySession.get(req);
			if (held && isSecretsError(err) && TOKEN_FAILURES.has(err.code)) this.end(held.id);
		});

		app.post(`${prefix}/session`, async (req, reply) => {
			this.checkSameOrigin(req);
			const token = (req.body as { token?: unknown } | undefined)?.token;
			if (typeof token !== 'string' || token.trim() === '' || token.length > 16_384)
				throw new SecretsError(
					'INVALID_INPUT',
					'Invalid input: send {"token": "<access token>"}. `n8n-secrets token create` issues one.',
				);
			this.checkRateLimit(req.ip, reply);
			let who: WhoAmI;
			try {
				who = await this.service.whoami({ token: token.trim() });
			} catch (err) {
				if (isSecretsError(err) && TOKEN_FAILURES.has(err.code)) this.recordFailure(req.ip);
				throw err;
			}
			// Failures are not forgotten on success, only as they age: one good token buys no more guesses.
			// A session this browser held ends; shadowing copies are cleared with the new cookie below.
			let old: string | undefined;
			try {
				old = cookieValue(req, this.cookieName);
			} catch {
				old = undefined;
			}
			if (old !== undefined) this.end(old);
			const id = randomBytes(32).toString('base64url');
			const now = this.now();
			const tokenEnds = who.expiresAt === null ? Infinity : Date.parse(who.expiresAt);
			const session: Session = {
				token: token.trim(),
				csrf: randomBytes(32).toString('base64url'),
				who,
				createdAt: now,
				lastSeen: now,
				endsAt: Math.min(now + this.options.maxSeconds * 1000, tokenEnds),
			};
			this.store(id, session);
			void reply.header('set-cookie', [
				this.cookie(id),
				...this.clearings(['/api', '/api/v1', '/ui']),
			]);
			void reply.status(201);
			return this.info(session);
		});

		app.get(`${prefix}/session`, async (req, reply) => {
			const id = this.cookieOf(req, reply);
			const session = id === undefined ? undefined : this.current(id);
			if (!session) {
				if (id !== undefined) this.clearCookie(reply);
				throw id === undefined
					? new SecretsError('SESSION_REQUIRED', 'Sign in with an access token.')
					: sessionEnded();
			}
			this.checkSameOrigin(req);
			// A revoked or expired token ends its sessions here too, not only at the next operation.
			try {
				await this.service.whoami({ token: session.token });
			} catch (err) {
				if (isSecretsError(err) && TOKEN_FAILURES.has(err.code)) {
					this.end(id!);
					this.clearCookie(reply);
				}
				throw err;
			}
			session.lastSeen = this.now();
			return this.info(session);
		});

		app.delete(`${prefix}/session`, async (req, reply) => {
			const id = this.cookieOf(req, reply);
			const session = id === undefined ? undefined : this.current(id);
			if (session) {
				this.checkSameOrigin(req);
				this.checkCsrf(req, session);
				this.end(id!);
			}
			this.clearCookie(reply);
			return reply.status(204).send();
		});
	}

	/** The live session of a cookie's id, or undefined once it is unknown, idle too long or over. */
	private current(id: string): Session | undefined {
		const key = digest(id);
		const session = this.live.get(key);
		if (!session) return undefined;
		const now = this.now();
		if (now >= session.endsAt || now - session.lastSeen >= this.options.idleSeconds * 1000) {
			this.live.delete(key);
			return undefined;
		}
		return session;
	}

	/**
	 * Keeps a new session. A token's own sessions are capped first, so one token signing in over and
	 * over ends its own oldest sessions, not other people's.
	 */
	private store(id: string, session: Session): void {
		const own = [...this.live].filter(([, s]) => s.who.jti === session.who.jti);
		if (own.length >= this.options.maxSessionsPerToken) this.live.delete(leastRecent(own));
		else if (this.live.size >= this.options.maxSessions)
			this.live.delete(leastRecent([...this.live]));
		this.live.set(digest(id), session);
	}

	/** The request's session cookie; two of them are refused, and every path's copy cleared. */
	private cookieOf(req: FastifyRequest, reply: FastifyReply): string | undefined {
		try {
			return cookieValue(req, this.cookieName);
		} catch (err) {
			void reply.header('set-cookie', this.clearings(COOKIE_PATHS));
			throw err;
		}
	}

	private end(id: string): void {
		this.live.delete(digest(id));
	}

	private cookie(id: string): string {
		return `${this.cookieName}=${id}; Path=/; HttpOnly; SameSite=Strict${this.secure ? '; Secure' : ''}`;
	}

	private clearCookie(reply: FastifyReply): void {
		void reply.header('set-cookie', this.clearings(['/']));
	}

	private clearings(paths: readonly string[]): string[] {
		return paths.map(
			(path) =>
				`${this.cookieName}=; Path=${path}; HttpOnly; SameSite=Strict; Max-Age=0${this.secure ? '; Secure' : ''}`,
		);
	}

	/**
	 * The browser says where a request comes from: a foreign Origin, or a fetch another site started,
	 * is refused whatever the method (SameSite=Strict already keeps the cookie off cross-site requests;
	 * this holds where a browser does not honour it).
	 */
	private checkSameOrigin(req: FastifyRequest): void {
		const origin = req.headers.origin;
		const own = `${this.secure ? 'https' : 'http'}://${req.headers.host ?? ''}`;
		const site = req.headers['sec-fetch-site'];
		if (
			(typeof origin === 'string' && origin !== own) ||
			(typeof site === 'string' && site !== 'same-origin' && site !== 'none')
		)
			throw new SecretsError(
				'CSRF_REQUIRED',
				'This request comes from another site; the Secrets page only accepts its own.',
			);
	}

	private checkCsrf(req: FastifyRequest, session: Session): void {
		const given = req.headers['x-csrf-token'];
		if (typeof given !== 'string' || !macEquals(Buffer.from(given), Buffer.from(session.csrf)))
			throw new SecretsError(
				'CSRF_REQUIRED',
				"A change needs the session's CSRF token in the x-csrf-token header (the page sends it; reload it).",
			);
	}

	private checkRateLimit(address: string, reply: FastifyReply): void {
		const windowMs = this.options.signInWindowSeconds * 1000;
		const now = this.now();
		const recent = (this.failures.get(address) ?? []).filter((t) => now - t < windowMs);
		if (recent.length === 0) this.failures.delete(address);
		else this.failures.set(address, recent);
		if (recent.length >= this.options.signInFailures) {
			const retry = Math.max(1, Math.ceil((recent[0] + windowMs - now) / 1000));
			void reply.header('retry-after', String(retry));
			throw new SecretsError(
				'SIGN_IN_RATE_LIMITED',
				`Too many failed sign-ins from this address; try again in ${retry} seconds.`,
			);
		}
	}

	private recordFailure(address: string): void {
		// Bounded: an address flood forgets the oldest addresses, never grows without limit.
		if (this.failures.size >= this.options.maxSessions && !this.failures.has(address)) {
			const first = this.failures.keys().next();
			if (!first.done) this.failures.delete(first.value);
		}
		this.failures.set(address, [...(this.failures.get(address) ?? []), this.now()]);
	}
}

function leastRecent(entries: [string, Session][]): string {
	return entries.reduce((a, b) => (b[1].lastSeen < a[1].lastSeen ? b : a))[0];
}

function sessionEnded(): SecretsError {
	return new SecretsError(
		'SESSION_EXPIRED',
		'Your session ended (signed out, idle too long, or past its time limit); sign in again.',
	);
}

function withoutUndefined<T extends object>(o: T): Partial<T> {
	return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
