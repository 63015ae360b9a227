/**
 * What every capability shares: the store (seen only through KeyedDriver, so every sealed row is
 * checked and sealed), the keys, the clock, the audit writer, and the check that a token is still live.
 * Capabilities receive it and use only what their own `Deps` type names.
 */
import { SecretsError } from '../core/errors';
import type { Principal } from '../core/model';
import type { ExternalIssuer } from '../auth/external-issuer';
import { TokenVerifier } from '../auth/tokens';
import type { Keyring } from '../crypto/keyring';
import { tenants, tokens } from '../store/repository';
import type { SqlDriver, SqlExecutor } from '../store/sql';
import { AuditWriter } from './audit-writer';
import { type OpenedKeys, KeyedDriver, loadVerifyKey } from './store-keys';

export const DAY_MS = 86_400_000;
/** The actor of what only the master key's holder can do (init, master key rotation). */
export const MASTER_KEY_HOLDER = 'master-key-holder';

/** How a service is opened (SecretsService's `ServiceOptions`). */
export interface CoreOptions {
	/** Injected clock, for tests of expiry, rotation intervals and retention windows. */
	now?: () => Date;
	/** How long a deleted secret can be restored before maintenance purges it. */
	recoveryWindowDays?: number;
	/** 'full' also syncs each journaled audit record to disk before the value is returned. */
	durability?: 'full' | 'process';
	/** Told about failures of background work (journal ingest) that will be retried. */
	onBackgroundError?: (err: unknown) => void;
	/** Also accept tokens from this OAuth 2.0 issuer (the server's option). */
	externalIssuer?: ExternalIssuer;
	/**
	 * Tenants whose secrets without `allowedHosts` the relay may send to any host (`*`: every tenant).
	 * By default the relay sends only secrets bound to hosts: an unbound one could otherwise be relayed
	 * to a server of the caller's choosing and read there.
	 */
	relayUnboundTenants?: readonly string[];
	/**
	 * How many resolutions' rows (never values) this process keeps under the store's change counter;
	 * beyond it the least recently used go. Default 100,000 (about 1.6 KB each; N8N_SECRETS_RESOLVE_CACHE_ENTRIES).
	 */
	resolveCacheEntries?: number;
}

/** State a process keeps under the store's change counter; emptied whenever another commit is seen. */
export interface GenerationCache {
	clear(): void;
}

export class Core {
	/** The store, with the row keys that seal and check every sealed row (store-keys.ts). */
	readonly driver: SqlDriver;
	readonly verifier: TokenVerifier;
	readonly now: () => Date;
	readonly audit: AuditWriter;
	/** The store's change counter when the caches were last known good (null: no counter). */
	generation: string | null = null;
	private readonly caches: GenerationCache[] = [];
	private readonly tokenStates = new Map<string, string | null | undefined>();

	constructor(
		driver: SqlDriver,
		public keys: OpenedKeys,
		readonly options: CoreOptions,
	) {
		this.driver = new KeyedDriver(driver, () => this.keys.keyring);
		this.now = options.now ?? (() => new Date());
		this.audit = new AuditWriter(this.driver, () => this.keys.keyring, this.now, options);
		this.caches.push(this.tokenStates, this.audit);
		const publicKeys = new Map<string, Awaited<ReturnType<typeof loadVerifyKey>>>();
		this.verifier = new TokenVerifier(
			async (tenant, kid) => {
				const k = `${tenant}/${kid}`;
				if (!publicKeys.has(k))
					publicKeys.set(k, await loadVerifyKey(this.driver, this.keys.keyring, tenant, kid));
				return publicKeys.get(k);
			},
			() => this.now().getTime(),
			options.externalIssuer,
		);
	}

	get keyring(): Keyring {
		return this.keys.keyring;
	}

	iso(offsetMs = 0): string {
		return new Date(this.now().getTime() + offsetMs).toISOString();
	}

	/** A cache that must not outlive a commit by any process (resolved rows, token states). */
	register(cache: GenerationCache): void {
		this.caches.push(cache);
	}

	/**
	 * At the start of every operation: the token must still exist and not be revoked. The answer is
	 * cached until the next commit by any process (the store's change counter), like resolved rows.
	 * Returns the counter this call's cached reads are good for.
	 *
	 * `deferred`: the caller checks the counter itself when it appends its audit record (a resolution
	 * on a store with `auditAppends`), so the newest counter this process has seen will do, and the
	 * call costs no round trip here.
	 */
	async ensureLive(p: Principal, deferred = false): Promise<string | null> {
		const generation = await this.refresh(deferred);
		await this.checkLive(p, generation);
		return generation;
	}

	/** Brings the caches up to the store's change counter; returns the counter they are good for. */
	async refresh(deferred = false): Promise<string | null> {
		const known = deferred ? this.driver.auditAppends?.knownCounter : null;
		const generation = known ?? (await this.driver.changeCounter());
		if (generation === null || generation !== this.generation) {
			for (const cache of this.caches) cache.clear();
			this.generation = generation;
		}
		return generation;
	}

	/** The token's state as of `generation` (cached under it): it must exist and not be revoked. */
	async checkLive(p: Principal, generation: string | null): Promise<void> {
		// Keyed by tenant too: an identity provider's tokens may share an id across tenants.
		const key = `${p.tenant}\0${p.jti}`;
		let state = this.tokenStates.get(key);
		if (!this.tokenStates.has(key)) {
			state = await this.tokenRow(this.driver, p);
			// Kept only if no newer change was seen meanwhile: the row may predate it.
			if (generation !== null && generation === this.generation) this.tokenStates.set(key, state);
		}
		tokenState(state);
	}

	/** Inside every transaction: the token must still exist and not be revoked. */
	async checkToken(x: SqlExecutor, p: Principal): Promise<void> {
		tokenState(await this.tokenRow(x, p));
	}

	/** When a store token was revoked (null: it was not); undefined when it is unknown here. */
	private async tokenRow(x: SqlExecutor, p: Principal): Promise<string | null | undefined> {
		if (!p.external) return tokens.revokedAt(x, p.tenant, p.jti);
		// An external token is known when its tenant is; the identity provider answers for the rest.
		if (await tenants.exists(x, p.tenant)) return null;
		throw new SecretsError(
			'TOKEN_INVALID',
			`The identity provider's token names tenant "${p.tenant}", which this store does not have.`,
		);
	}
}

function tokenState(revokedAt: string | null | undefined): void {
	if (revokedAt === undefined)
		throw new SecretsError(
			'TOKEN_INVALID',
			'The access token is not known to this secrets store. Create a new one with `n8n-secrets token create`.',
		);
	if (revokedAt !== null)
		throw new SecretsError(
			'TOKEN_REVOKED',
			`The access token was revoked on ${revokedAt}. Ask an admin for a new one.`,
		);
}
