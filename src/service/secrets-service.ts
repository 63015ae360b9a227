/**
 * SecretsService: every operation of the backend. Each one validates its input, authorizes the caller
 * before it reads anything, acts, and writes its audit event in the same transaction, so an operation
 * whose audit event cannot be written does not happen. Denials and failures are audited too.
 */
import { randomBytes, randomUUID } from 'node:crypto';

import { DENIAL_CODES, SecretsError } from '../core/errors';
import {
	formatDestination,
	hostAllowed,
	normalizeHostPattern,
	parseDestination,
} from '../core/matching';
import {
	ALL_ENVIRONMENTS,
	DEFAULT_MAX_VERSIONS,
	DEFAULT_PREVIOUS_WINDOW_DAYS,
	DEFAULT_RECOVERY_WINDOW_DAYS,
	ROLES,
	type AuditAction,
	type AuditEvent,
	type N8nContext,
	type Page,
	type Principal,
	type SecretMetadata,
	type SecretType,
	type TokenInfo,
	type VersionInfo,
	type VersionSelector,
} from '../core/model';
import * as schema from '../core/schemas';
import { checkValue } from '../core/secret-types';
import { generateValue } from '../crypto/generate';
import { type EncryptedValue, Keyring, valueAad } from '../crypto/keyring';
import type { KeyProvider } from '../crypto/master-key';
import type { DataKey } from '../crypto/keyring';
import {
	Denial,
	type Operation,
	environmentAllowed,
	exceededLimit,
	hasScope,
	requireConsumer,
	requireEnvironment,
	requireOperation,
	requireSecret,
	secretAllowed,
	wholeSecretDenial,
} from '../auth/permissions';
import type { ExternalIssuer } from '../auth/external-issuer';
import { TokenVerifier, signToken } from '../auth/tokens';
import {
	type LineRow,
	type SecretRow,
	type VersionRow,
	audit as auditRepo,
	dataKeys,
	lines,
	masterKeys,
	secrets,
	tenants,
	toLine,
	toMetadata,
	toTokenInfo,
	toVersionInfo,
	tokens,
	versions,
} from '../store/repository';
import { type Durability, type SqlDriver, type SqlExecutor, toBuffer } from '../store/sql';
import {
	type AuditInput,
	type VerifyResult,
	chainEvent,
	ingestJournal,
	sealJournalRecord,
	unchainedEvent,
	resealHead,
	verifyChain,
} from './audit-chain';
import { AuditJournal } from '../store/audit-journal';
import { schemaVersion } from '../store/migrations';
import {
	type OpenedKeys,
	activeDataKey,
	createTenant,
	loadDataKey,
	loadSigningKey,
	loadVerifyKey,
	openKeys,
	resealSigningKeys,
} from './store-keys';

/** Who is calling: the access token, and where in n8n the call comes from. */
export interface Caller {
	token: string;
	context?: N8nContext;
}

export interface ResolvedValue {
	name: string;
	environment: string;
	/** The environment line the value came from: the caller's, or `*` for a shared default. */
	servedFrom: string;
	version: number;
	value: string;
	type: SecretType;
	expiresAt: string | null;
	/** The hosts the secret is bound to (empty: unbound), so a sender can refuse redirects elsewhere. */
	allowedHosts: string[];
}

export interface ExpiringItem {
	name: string;
	type: SecretType;
	environment: string;
	version: number;
	expiresAt: string;
	daysLeft: number;
	expired: boolean;
}

export interface DueItem {
	name: string;
	type: SecretType;
	environment: string;
	rotationPolicy: SecretMetadata['rotationPolicy'];
	rotationIntervalDays: number;
	/** When the current value was written: the start of its rotation interval. */
	currentSince: string;
	dueAt: string;
	overdueDays: number;
}

export interface Stats {
	secrets: number;
	deleted: number;
	byType: Record<string, number>;
	byEnvironment: Record<string, number>;
	dueForRotation: number;
	expiringWithin30Days: number;
	expired: number;
}

export interface ReencryptProgress {
	tenant: string;
	done: number;
	total: number;
}

export interface ServiceOptions {
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
}

const DAY_MS = 86_400_000;
/** The actor of what only the master key's holder can do (init, master key rotation). */
const MASTER_KEY_HOLDER = 'master-key-holder';
/** Journaled audit records are chained within this delay, or sooner by any write or audit read. */
const INGEST_DELAY_MS = 200;
const RESOLVE_CACHE_LIMIT = 50_000;

type ResolveSnapshot =
	| { error: SecretsError }
	| {
			row: SecretRow;
			line: LineRow;
			v: VersionRow;
			hosts: string[];
			consumers: string[];
			/** The ciphertext as stored and the slot it is bound to: never the plaintext. */
			aad: Buffer;
			stored: EncryptedValue;
	  };

/** Metadata that decides how every environment's value is served, kept or bound. */
const SECRET_WIDE_FIELDS = [
	'allowedHosts',
	'allowedConsumers',
	'rotationPolicy',
	'rotationIntervalDays',
	'maxVersions',
	'previousWindowDays',
] as const;

/**
 * Whether a token limited to some environments or names may read an event: events about a secret
 * need the name (and the environment, when the event has one) within the token's limits; events
 * about no secret need a token unlimited in names, and in environments unless the event names one
 * (tokens and keys are only an unlimited token's business).
 */
function auditVisible(p: Principal, e: AuditEvent): boolean {
	if (e.environment !== null && !environmentAllowed(p, e.environment)) return false;
	if (e.secret === null)
		return p.secrets.length === 0 && (e.environment !== null || p.environments.length === 0);
	return secretAllowed(p, e.secret);
}

const RESOLVE_VERBS = {
	use: 'use secret values',
	resolve: 'receive secret values over the network',
	reveal: 'reveal secret values',
	relay: 'relay requests with secret values',
} as const;

/**
 * The limits that decide whether a token may list or revoke another: scopes, environments and names.
 * Not the lifetime: revoking a token that outlives the caller gives nothing away, and an admin must
 * be able to revoke a leaked token issued after its own.
 */
function revocable(t: TokenInfo) {
	return { scopes: t.scopes, environments: t.environments, secrets: t.secrets };
}

function isLimited(p: Principal): boolean {
	return p.environments.length > 0 || p.secrets.length > 0;
}

/** Metadata that decides where a value may go and who may use it. */
const STEERING_FIELDS = ['allowedHosts', 'allowedConsumers'] as const;

/** Reads are not audit actions of their own; the name only appears in the reason of a denial. */
type ReadAction = 'read' | 'list' | 'audit.read' | 'token.list';

export class SecretsService {
	private readonly verifier: TokenVerifier;
	private readonly now: () => Date;
	private readonly recoveryWindowDays: number;
	private readonly lockHead: boolean;
	private readonly journal: AuditJournal | null;
	private closed = false;
	private ingestTimer: NodeJS.Timeout | undefined;
	private readonly onBackgroundError: (err: unknown) => void;
	private cacheGeneration: string | null = null;
	private readonly resolveCache = new Map<string, ResolveSnapshot>();
	private readonly tokenStates = new Map<string, string | null | undefined>();
	/** Active data key per tenant for sealing journal records; re-read whenever the cache resets. */
	private readonly activeKeys = new Map<string, DataKey>();
	private readonly relayUnboundTenants: readonly string[];

	private constructor(
		private readonly driver: SqlDriver,
		private keys: OpenedKeys,
		options: ServiceOptions,
	) {
		this.now = options.now ?? (() => new Date());
		this.recoveryWindowDays = options.recoveryWindowDays ?? DEFAULT_RECOVERY_WINDOW_DAYS;
		this.lockHead = driver.dialect === 'postgres';
		this.journal = driver.journalDir
			? new AuditJournal(driver.journalDir, options.durability === 'full')
			: null;
		this.onBackgroundError = options.onBackgroundError ?? (() => undefined);
		this.relayUnboundTenants = options.relayUnboundTenants ?? [];
		const publicKeys = new Map<string, Awaited<ReturnType<typeof loadVerifyKey>>>();
		this.verifier = new TokenVerifier(
			async (tenant, kid) => {
				const k = `${tenant}/${kid}`;
				if (!publicKeys.has(k)) publicKeys.set(k, await loadVerifyKey(this.driver, tenant, kid));
				return publicKeys.get(k);
			},
			() => this.now().getTime(),
			options.externalIssuer,
		);
	}

	/** Opens an existing store; fails with STORE_NOT_INITIALIZED or WRONG_MASTER_KEY before writing. */
	static async open(
		driver: SqlDriver,
		provider: KeyProvider,
		options: ServiceOptions = {},
	): Promise<SecretsService> {
		const now = (options.now ?? (() => new Date()))().toISOString();
		let keys: OpenedKeys;
		try {
			keys = await openKeys(driver, provider, false, now);
		} catch (err) {
			// A refused open (wrong key, newer schema) must not leave the database held open.
			await driver.close();
			throw err;
		}
		const service = new SecretsService(driver, keys, options);
		// Records a crashed process journaled but never chained are chained now.
		await service.ingestJournal();
		return service;
	}

	/**
	 * Creates the store if it is absent, creates `tenant` if it is absent, and issues an admin token for
	 * it. Only the holder of the master key can call this: it is the bootstrap, not an API operation.
	 */
	static async init(
		driver: SqlDriver,
		provider: KeyProvider,
		opts: { tenant?: string; subject?: string; ttl?: string | number } = {},
		options: ServiceOptions = {},
	): Promise<{
		service: SecretsService;
		token: string;
		info: TokenInfo;
		createdStore: boolean;
		createdTenant: boolean;
	}> {
		const clock = options.now ?? (() => new Date());
		let hadStore: boolean;
		let keys: OpenedKeys;
		try {
			hadStore = (await schemaVersion(driver)) > 0;
			keys = await openKeys(driver, provider, true, clock().toISOString());
		} catch (err) {
			await driver.close();
			throw err;
		}
		const service = new SecretsService(driver, keys, options);
		const tenant = schema.parseInput(
			schema.environmentName.refine((t) => t !== ALL_ENVIRONMENTS, 'not a tenant name'),
			opts.tenant ?? 'default',
		);
		const createdTenant = await driver.transaction(async (tx) => {
			if (await tenants.exists(tx, tenant)) return false;
			await createTenant(tx, keys.keyring, tenant, clock().toISOString());
			return true;
		});
		const issued = await service.issueToken(
			{ tenant, subject: MASTER_KEY_HOLDER, jti: null },
			{ subject: opts.subject ?? 'admin', role: 'admin', ttl: opts.ttl ?? '90d' },
			undefined,
		);
		return { service, ...issued, createdStore: !hadStore, createdTenant };
	}

	/** Chains what this process journaled, then closes the store. */
	async close(): Promise<void> {
		if (this.closed) return;
		this.closed = true;
		if (this.ingestTimer) clearTimeout(this.ingestTimer);
		this.ingestTimer = undefined;
		try {
			await this.ingestJournal();
		} finally {
			this.journal?.close();
			await this.driver.close();
		}
	}

	// ---- plumbing -------------------------------------------------------------------------------

	private iso(offsetMs = 0): string {
		return new Date(this.now().getTime() + offsetMs).toISOString();
	}

	/**
	 * Chains an event inside the caller's write transaction, after any journaled events, so the chain
	 * keeps the order in which things happened as closely as the processes allow.
	 */
	private async audit(tx: SqlExecutor, tenant: string, input: AuditInput): Promise<AuditEvent> {
		if (this.journal) await this.ingestInto(tx);
		const key = await activeDataKey(tx, this.keys.keyring, tenant);
		return chainEvent(
			tx,
			{ key, lockHead: this.lockHead },
			unchainedEvent(tenant, this.iso(), input),
		);
	}

	/**
	 * Audits a resolution: appended to the journal (one write, durable against a killed process) when
	 * the store has one, chained directly otherwise. Either way the value is returned only afterwards.
	 */
	private async auditUse(tenant: string, input: AuditInput): Promise<void> {
		if (!this.journal) {
			await this.driver.transaction((tx) => this.audit(tx, tenant, input), 'process', {
				changesSecrets: false,
			});
			return;
		}
		let key = this.activeKeys.get(tenant);
		if (!key) {
			key = await activeDataKey(this.driver, this.keys.keyring, tenant);
			this.activeKeys.set(tenant, key);
		}
		this.journal.append(sealJournalRecord(key, unchainedEvent(tenant, this.iso(), input)));
		this.scheduleIngest();
	}

	private scheduleIngest(): void {
		if (this.ingestTimer) return;
		this.ingestTimer = setTimeout(() => {
			this.ingestTimer = undefined;
			this.ingestJournal().catch((err: unknown) => {
				// Nothing is lost: the records stay in the journal and the next ingest retries them.
				this.onBackgroundError(err);
			});
		}, INGEST_DELAY_MS);
		this.ingestTimer.unref();
	}

	/** Chains every journaled audit record of every process; returns how many were chained. */
	async ingestJournal(): Promise<number> {
		if (!this.journal) return 0;
		return this.driver.transaction((tx) => this.ingestInto(tx), 'process', {
			changesSecrets: false,
		});
	}

	private ingestInto(tx: SqlExecutor): Promise<number> {
		return ingestJournal(tx, this.journal!, {
			lockHead: this.lockHead,
			keyFor: (tenant, id) => loadDataKey(tx, this.keys.keyring, tenant, id),
			activeKey: (tenant) => activeDataKey(tx, this.keys.keyring, tenant),
			tenants: async () => (await tenants.all(tx)).map((t) => t.id),
		});
	}

	/**
	 * At the start of every operation: the token must still exist and not be revoked. The answer is
	 * cached until the next commit by any process (the store's change counter), like resolved rows.
	 */
	private async ensureLive(p: Principal): Promise<void> {
		const generation = await this.driver.changeCounter();
		if (generation === null || generation !== this.cacheGeneration) {
			this.resolveCache.clear();
			this.tokenStates.clear();
			this.activeKeys.clear();
			this.cacheGeneration = generation;
		}
		if (!this.tokenStates.has(p.jti))
			this.tokenStates.set(p.jti, await this.tokenRow(this.driver, p));
		this.tokenState(this.tokenStates.get(p.jti));
	}

	/** Inside every transaction: the token must still exist and not be revoked. */
	private async checkToken(x: SqlExecutor, p: Principal): Promise<void> {
		this.tokenState(await this.tokenRow(x, p));
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

	private tokenState(revokedAt: string | null | undefined): void {
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

	/**
	 * Runs one operation: verify the token, run `fn`, and audit a denial or failure in a transaction of
	 * its own (the operation's own transaction rolled back). Invalid input and unknown tokens are not
	 * audited: there is no trustworthy identity or subject to record.
	 */
	private async op<T>(
		caller: Caller,
		what: {
			action: AuditAction | ReadAction;
			secret?: string;
			environment?: string;
			destinationHost?: string;
			read?: boolean;
		},
		fn: (p: Principal) => Promise<T>,
	): Promise<T> {
		const p = await this.verifier.verify(caller?.token);
		try {
			// A revoked token is told so (401) whatever it asks for, before any permission check.
			await this.ensureLive(p);
			return await fn(p);
		} catch (err) {
			const denied =
				err instanceof SecretsError && (DENIAL_CODES.has(err.code) || err.code === 'TOKEN_REVOKED');
			// Reads record only their denials; writes and value resolutions record every failure.
			if (
				err instanceof SecretsError &&
				err.code !== 'INVALID_INPUT' &&
				err.code !== 'TOKEN_INVALID' &&
				(denied || !what.read)
			) {
				const why = err instanceof Denial ? err.auditReason : err.code;
				await this.driver.transaction(
					(tx) =>
						this.audit(tx, p.tenant, {
							actor: p.subject,
							tokenId: p.jti,
							action: denied ? 'deny' : (what.action as AuditAction),
							secret: what.secret,
							environment: what.environment,
							outcome: denied ? 'denied' : 'failure',
							reason: denied ? `${what.action}: ${why}` : why,
							context: caller.context,
							destinationHost: what.destinationHost,
						}),
					'process',
				);
			}
			throw err;
		}
	}

	private async liveSecret(x: SqlExecutor, tenant: string, name: string): Promise<SecretRow> {
		const row = await secrets.byName(x, tenant, name);
		if (!row)
			throw new SecretsError(
				'SECRET_NOT_FOUND',
				`Secret "${name}" does not exist. Check the name (names are case-sensitive) or create it.`,
			);
		if (row.deleted_at) {
			throw new SecretsError(
				'SECRET_DELETED',
				`Secret "${name}" was deleted on ${row.deleted_at}. Restore it with \`n8n-secrets secret restore ${name}\` to use it again.`,
			);
		}
		return row;
	}

	/**
	 * A secret's metadata as `p` may see it: only the environment lines the token may act in (and the
	 * line shared by all environments, which serves the token's own environments too).
	 */
	private async metadata(x: SqlExecutor, row: SecretRow, p: Principal): Promise<SecretMetadata> {
		const ls = (await lines.ofSecret(x, row.tenant, row.id)).filter(
			(l) => l.environment === ALL_ENVIRONMENTS || environmentAllowed(p, l.environment),
		);
		const withExpiry = await Promise.all(
			ls.map(async (l) => {
				const cur =
					l.current_version === null
						? undefined
						: await versions.get(x, row.tenant, row.id, l.environment, l.current_version);
				return toLine(l, cur?.expires_at ?? null);
			}),
		);
		return toMetadata(row, withExpiry);
	}

	/** For changes that reach every environment of a secret: the token must cover all of them. */
	private async requireWholeSecret(
		x: SqlExecutor,
		p: Principal,
		row: SecretRow,
		action: string,
	): Promise<void> {
		if (!(await this.coversWholeSecret(x, p, row))) throw wholeSecretDenial(p, row.name, action);
	}

	/** Whether `p` may act in every environment the secret has a value in. */
	private async coversWholeSecret(x: SqlExecutor, p: Principal, row: SecretRow): Promise<boolean> {
		if (p.environments.length === 0) return true;
		return (await lines.ofSecret(x, row.tenant, row.id)).every((l) =>
			environmentAllowed(p, l.environment),
		);
	}

	private newLine(row: SecretRow, environment: string): LineRow {
		return {
			secret_id: row.id,
			tenant: row.tenant,
			environment,
			current_version: null,
			previous_version: null,
			pending_version: null,
			latest_version: 0,
			current_since: null,
			previous_since: null,
		};
	}

	private checkExpected(line: LineRow, expected: number | undefined, name: string): void {
		if (expected !== undefined && expected !== line.latest_version) {
			throw new SecretsError(
				'VERSION_CONFLICT',
				`Secret "${name}" in ${line.environment} is at version ${line.latest_version}, not ${expected}: someone else wrote it first. ` +
					'Read the versions again and retry with the new number.',
				{ details: { expectedVersion: expected, latestVersion: line.latest_version } },
			);
		}
	}

	/** Encrypts and inserts a new version at latest+1; labels are the caller's business. */
	private async addVersion(
		tx: SqlExecutor,
		p: Principal,
		row: SecretRow,
		line: LineRow,
		input: { value: string; notBefore?: string; expiresAt?: string; reason?: string },
	): Promise<VersionRow> {
		const intrinsic = checkValue(row.type, input.value);
		const notBefore = input.notBefore ?? intrinsic.notBefore ?? null;
		// A certificate cannot be used past its notAfter, whatever expiry the caller asked for.
		const expiresAt =
			input.expiresAt && intrinsic.expiresAt
				? input.expiresAt < intrinsic.expiresAt
					? input.expiresAt
					: intrinsic.expiresAt
				: (input.expiresAt ?? intrinsic.expiresAt ?? null);
		const version = line.latest_version + 1;
		const key = await activeDataKey(tx, this.keys.keyring, p.tenant);
		const enc = key.encryptValue(
			{ tenant: p.tenant, secretId: row.id, environment: line.environment, version },
			input.value,
		);
		const v: VersionRow = {
			secret_id: row.id,
			tenant: p.tenant,
			environment: line.environment,
			version,
			dek_id: key.id,
			iv: enc.iv,
			ciphertext: enc.ciphertext,
			mac: enc.mac,
			created_at: this.iso(),
			created_by: p.subject,
			reason: input.reason ?? null,
			not_before: notBefore,
			expires_at: expiresAt,
			destroyed_at: null,
		};
		await versions.insert(tx, v);
		line.latest_version = version;
		return v;
	}

	/** Retention: `previous` lives for its window; beyond `maxVersions`, the oldest unlabeled go. */
	private async applyRetention(tx: SqlExecutor, row: SecretRow, line: LineRow): Promise<void> {
		const now = this.iso();
		if (line.previous_version !== null && line.previous_since && this.previousExpired(row, line)) {
			await versions.destroy(tx, row.tenant, row.id, line.environment, line.previous_version, now);
			line.previous_version = null;
			line.previous_since = null;
		}
		const all = await versions.ofLine(tx, row.tenant, row.id, line.environment);
		let live = all.filter((v) => v.destroyed_at === null);
		const labeled = new Set([line.current_version, line.previous_version, line.pending_version]);
		for (const v of live) {
			if (live.length <= row.max_versions) break;
			if (labeled.has(v.version)) continue;
			await versions.destroy(tx, row.tenant, row.id, line.environment, v.version, now);
			live = live.filter((x) => x !== v);
		}
	}

	private previousExpired(row: SecretRow, line: LineRow): boolean {
		return (
			line.previous_since !== null &&
			Date.parse(line.previous_since) + row.previous_window_days * DAY_MS <= this.now().getTime()
		);
	}

	private async saveLine(
		tx: SqlExecutor,
		p: Principal,
		row: SecretRow,
		line: LineRow,
	): Promise<void> {
		await this.applyRetention(tx, row, line);
		await lines.upsert(tx, line);
		await secrets.touch(tx, p.tenant, row.id, this.iso(), p.subject);
	}

	private promoteInLine(line: LineRow, version: number): void {
		const now = this.iso();
		if (line.current_version !== null) {
			line.previous_version = line.current_version;
			line.previous_since = now;
		}
		line.current_version = version;
		line.current_since = now;
		if (line.pending_version === version) line.pending_version = null;
	}

	private versionInfo(v: VersionRow, line: LineRow): VersionInfo {
		return toVersionInfo(v, line);
	}

	private authorizeSecretOp(
		p: Principal,
		op: Operation,
		verb: string,
		name: string,
		environment?: string,
	): void {
		requireOperation(p, op, verb);
		if (environment !== undefined) requireEnvironment(p, environment);
		requireSecret(p, name);
	}

	private writeTx<T>(
		p: Principal,
		fn: (tx: SqlExecutor) => Promise<T>,
		durability: Durability = 'full',
	): Promise<T> {
		return this.driver.transaction(async (tx) => {
			await this.checkToken(tx, p);
			return fn(tx);
		}, durability);
	}

	private async readAuthorized<T>(p: Principal, fn: (x: SqlExecutor) => Promise<T>): Promise<T> {
		await this.checkToken(this.driver, p);
		return fn(this.driver);
	}

	/** Whether the store answers (the server's health check); no token, no data. */
	async ping(): Promise<void> {
		if (this.closed) throw new SecretsError('STORE_UNAVAILABLE', 'The secrets store is closed.');
		await this.driver.get('SELECT 1 AS ok');
	}

	// ---- identity -------------------------------------------------------------------------------

	/** What the token may do; for credential tests. Fails like any operation if the token is bad. */
	async whoami(
		caller: Caller,
	): Promise<Omit<Principal, 'expiresAt'> & { expiresAt: string | null }> {
		const p = await this.verifier.verify(caller?.token);
		await this.checkToken(this.driver, p);
		return { ...p, expiresAt: p.expiresAt === null ? null : new Date(p.expiresAt).toISOString() };
	}

	// ---- secrets --------------------------------------------------------------------------------

	async createSecret(caller: Caller, input: schema.CreateSecretInput): Promise<SecretMetadata> {
		const i = schema.parseInput(schema.createSecretInput, input);
		if ((i.value !== undefined || i.generate !== undefined) !== (i.environment !== undefined)) {
			throw new SecretsError(
				'INVALID_INPUT',
				'Invalid input: give "environment" together with "value" or "generate" for an initial value, or none of them.',
			);
		}
		if (i.value !== undefined && i.generate !== undefined)
			throw new SecretsError(
				'INVALID_INPUT',
				'Invalid input: give "value" or "generate", not both.',
			);
		return this.op(
			caller,
			{ action: 'create', secret: i.name, environment: i.environment },
			async (p) => {
				this.authorizeSecretOp(p, 'createSecret', 'create secrets', i.name, i.environment);
				return this.writeTx(p, async (tx) => {
					const existing = await secrets.byName(tx, p.tenant, i.name);
					if (existing?.deleted_at) {
						throw new SecretsError(
							'SECRET_DELETED',
							`Secret "${i.name}" was deleted on ${existing.deleted_at} and can still be restored. Restore it, or purge it before creating a new one.`,
						);
					}
					if (existing)
						throw new SecretsError(
							'SECRET_EXISTS',
							`Secret "${i.name}" already exists. Set a new value for it instead.`,
						);
					const now = this.iso();
					const row: SecretRow = {
						id: randomUUID(),
						tenant: p.tenant,
						name: i.name,
						type: i.type,
						description: i.description ?? '',
						tags: JSON.stringify(i.tags ?? []),
						rotation_policy: i.rotationPolicy ?? (i.rotationIntervalDays ? 'AUTOMATIC' : 'MANUAL'),
						rotation_interval_days: i.rotationIntervalDays ?? null,
						allowed_hosts: JSON.stringify((i.allowedHosts ?? []).map(normalizeHostPattern)),
						allowed_consumers: JSON.stringify(i.allowedConsumers ?? []),
						max_versions: i.maxVersions ?? DEFAULT_MAX_VERSIONS,
						previous_window_days: i.previousWindowDays ?? DEFAULT_PREVIOUS_WINDOW_DAYS,
						created_at: now,
						created_by: p.subject,
						updated_at: now,
						updated_by: p.subject,
						deleted_at: null,
						deleted_by: null,
					};
					await secrets.insert(tx, row);
					let version: number | null = null;
					if (i.environment !== undefined) {
						const value = i.value ?? generateValue(i.generate!.length, i.generate!.alphabet);
						const line = this.newLine(row, i.environment);
						const v = await this.addVersion(tx, p, row, line, {
							value,
							notBefore: i.notBefore,
							expiresAt: i.expiresAt,
							reason: i.reason,
						});
						this.promoteInLine(line, v.version);
						await this.saveLine(tx, p, row, line);
						version = v.version;
					}
					await this.audit(tx, p.tenant, {
						actor: p.subject,
						tokenId: p.jti,
						action: 'create',
						secret: i.name,
						environment: i.environment,
						version,
						outcome: 'success',
						reason: i.reason,
						context: caller.context,
					});
					return this.metadata(tx, row, p);
				});
			},
		);
	}

	async updateSecret(caller: Caller, input: schema.UpdateSecretInput): Promise<SecretMetadata> {
		const i = schema.parseInput(schema.updateSecretInput, input);
		return this.op(caller, { action: 'update', secret: i.name }, async (p) => {
			this.authorizeSecretOp(p, 'updateSecret', 'change secrets', i.name);
			return this.writeTx(p, async (tx) => {
				const row = await this.liveSecret(tx, p.tenant, i.name);
				// Only the description and tags are one environment's business as much as another's.
				const wide = SECRET_WIDE_FIELDS.filter((f) => i[f] !== undefined);
				// Whoever decides where a value may go, or who may use it, can steer it to itself (bind it
				// to its own server, then relay it there): that is as much as reading it.
				const steering = STEERING_FIELDS.filter((f) => i[f] !== undefined);
				if (steering.length > 0 && !hasScope(p, 'secrets:reveal'))
					throw new Denial(
						`This access token may not change ${steering.join(' or ')} of secret "${i.name}": deciding where a ` +
							'value may be sent, or who may use it, is as good as reading it, so it needs the "secrets:reveal" ' +
							'permission too (the revealer or admin role).',
						`change ${steering.join(', ')} without secrets:reveal`,
					);
				if (wide.length > 0) await this.requireWholeSecret(tx, p, row, `change ${wide.join(', ')}`);
				const changed: string[] = [];
				const set = <K extends keyof SecretRow>(
					field: string,
					key: K,
					value: SecretRow[K] | undefined,
				) => {
					if (value !== undefined && value !== row[key]) {
						row[key] = value;
						changed.push(field);
					}
				};
				set('description', 'description', i.description);
				set('tags', 'tags', i.tags && JSON.stringify(i.tags));
				set('rotationPolicy', 'rotation_policy', i.rotationPolicy);
				set('rotationIntervalDays', 'rotation_interval_days', i.rotationIntervalDays);
				set(
					'allowedHosts',
					'allowed_hosts',
					i.allowedHosts && JSON.stringify(i.allowedHosts.map(normalizeHostPattern)),
				);
				set(
					'allowedConsumers',
					'allowed_consumers',
					i.allowedConsumers && JSON.stringify(i.allowedConsumers),
				);
				set('maxVersions', 'max_versions', i.maxVersions);
				set('previousWindowDays', 'previous_window_days', i.previousWindowDays);
				row.updated_at = this.iso();
				row.updated_by = p.subject;
				await secrets.update(tx, row);
				await this.audit(tx, p.tenant, {
					actor: p.subject,
					tokenId: p.jti,
					action: 'update',
					secret: i.name,
					outcome: 'success',
					reason: changed.length ? `metadata: ${changed.join(', ')}` : 'metadata: no change',
					context: caller.context,
				});
				return this.metadata(tx, row, p);
			});
		});
	}

	/** Writes a new version and makes it current at once (the old current becomes `previous`). */
	async setValue(caller: Caller, input: schema.SetValueInput): Promise<VersionInfo> {
		const i = schema.parseInput(schema.setValueInput, input);
		return this.op(
			caller,
			{ action: 'update', secret: i.name, environment: i.environment },
			async (p) => {
				this.authorizeSecretOp(p, 'setValue', 'set secret values', i.name, i.environment);
				return this.writeTx(p, async (tx) => {
					const row = await this.liveSecret(tx, p.tenant, i.name);
					const line =
						(await lines.get(tx, p.tenant, row.id, i.environment)) ??
						this.newLine(row, i.environment);
					this.checkExpected(line, i.expectedVersion, i.name);
					const v = await this.addVersion(tx, p, row, line, i);
					this.promoteInLine(line, v.version);
					await this.saveLine(tx, p, row, line);
					await this.audit(tx, p.tenant, {
						actor: p.subject,
						tokenId: p.jti,
						action: 'update',
						secret: i.name,
						environment: i.environment,
						version: v.version,
						outcome: 'success',
						reason: i.reason,
						context: caller.context,
					});
					return this.versionInfo(v, line);
				});
			},
		);
	}

	/** Writes a new version labeled `pending`: usable only when pinned (`@pending`) until promoted. */
	async stage(caller: Caller, input: schema.RotateInput): Promise<VersionInfo> {
		const i = schema.parseInput(schema.rotateInput, input);
		return this.op(
			caller,
			{ action: 'stage', secret: i.name, environment: i.environment },
			async (p) => {
				this.authorizeSecretOp(p, 'stage', 'stage secret values', i.name, i.environment);
				return this.writeTx(p, async (tx) => {
					const row = await this.liveSecret(tx, p.tenant, i.name);
					const line =
						(await lines.get(tx, p.tenant, row.id, i.environment)) ??
						this.newLine(row, i.environment);
					this.checkExpected(line, i.expectedVersion, i.name);
					const value = i.value ?? generateValue(i.generate!.length, i.generate!.alphabet);
					const v = await this.addVersion(tx, p, row, line, { ...i, value });
					line.pending_version = v.version;
					await this.saveLine(tx, p, row, line);
					await this.audit(tx, p.tenant, {
						actor: p.subject,
						tokenId: p.jti,
						action: 'stage',
						secret: i.name,
						environment: i.environment,
						version: v.version,
						outcome: 'success',
						reason: i.reason,
						context: caller.context,
					});
					return this.versionInfo(v, line);
				});
			},
		);
	}

	/** `pending` becomes `current`; the old `current` becomes `previous`. */
	async promote(caller: Caller, input: schema.LineInput): Promise<VersionInfo> {
		const i = schema.parseInput(schema.lineInput, input);
		return this.op(
			caller,
			{ action: 'promote', secret: i.name, environment: i.environment },
			async (p) => {
				this.authorizeSecretOp(p, 'promote', 'promote secret versions', i.name, i.environment);
				return this.writeTx(p, async (tx) => {
					const row = await this.liveSecret(tx, p.tenant, i.name);
					const line = await lines.get(tx, p.tenant, row.id, i.environment);
					if (!line || line.pending_version === null) {
						throw new SecretsError(
							'NO_PENDING_VERSION',
							`Secret "${i.name}" has no pending version in ${i.environment}. Stage one first.`,
						);
					}
					this.checkExpected(line, i.expectedVersion, i.name);
					const version = line.pending_version;
					this.promoteInLine(line, version);
					await this.saveLine(tx, p, row, line);
					await this.audit(tx, p.tenant, {
						actor: p.subject,
						tokenId: p.jti,
						action: 'promote',
						secret: i.name,
						environment: i.environment,
						version,
						outcome: 'success',
						reason: i.reason,
						context: caller.context,
					});
					return this.versionInfo(
						(await versions.get(tx, p.tenant, row.id, i.environment, version))!,
						line,
					);
				});
			},
		);
	}

	/**
	 * `previous` becomes `current` again; the version rolled back from loses its label (it stays
	 * pinnable by number until retention destroys it), so a second rollback cannot flip back to it.
	 */
	async rollback(caller: Caller, input: schema.LineInput): Promise<VersionInfo> {
		const i = schema.parseInput(schema.lineInput, input);
		return this.op(
			caller,
			{ action: 'rollback', secret: i.name, environment: i.environment },
			async (p) => {
				this.authorizeSecretOp(p, 'rollback', 'roll back secrets', i.name, i.environment);
				return this.writeTx(p, async (tx) => {
					const row = await this.liveSecret(tx, p.tenant, i.name);
					const line = await lines.get(tx, p.tenant, row.id, i.environment);
					if (line) this.checkExpected(line, i.expectedVersion, i.name);
					if (line && line.previous_version !== null && this.previousExpired(row, line)) {
						await this.applyRetention(tx, row, line);
						await lines.upsert(tx, line);
					}
					if (!line || line.previous_version === null) {
						throw new SecretsError(
							'NO_PREVIOUS_VERSION',
							`Secret "${i.name}" has no previous version in ${i.environment} to roll back to (none yet, or past its ${row.previous_window_days}-day window).`,
						);
					}
					const version = line.previous_version;
					const target = (await versions.get(tx, p.tenant, row.id, i.environment, version))!;
					if (target.destroyed_at)
						throw new SecretsError(
							'VERSION_DESTROYED',
							`Version ${version} of "${i.name}" was destroyed by retention and cannot be restored.`,
						);
					line.current_version = version;
					line.current_since = this.iso();
					line.previous_version = null;
					line.previous_since = null;
					await this.saveLine(tx, p, row, line);
					await this.audit(tx, p.tenant, {
						actor: p.subject,
						tokenId: p.jti,
						action: 'rollback',
						secret: i.name,
						environment: i.environment,
						version,
						outcome: 'success',
						reason: i.reason,
						context: caller.context,
					});
					return this.versionInfo(target, line);
				});
			},
		);
	}

	/** Stage and promote in one step; with `generate`, the new value never leaves the store. */
	async rotate(caller: Caller, input: schema.RotateInput): Promise<VersionInfo> {
		const i = schema.parseInput(schema.rotateInput, input);
		return this.op(
			caller,
			{ action: 'rotate', secret: i.name, environment: i.environment },
			async (p) => {
				this.authorizeSecretOp(p, 'rotate', 'rotate secrets', i.name, i.environment);
				return this.writeTx(p, async (tx) => {
					const row = await this.liveSecret(tx, p.tenant, i.name);
					const line =
						(await lines.get(tx, p.tenant, row.id, i.environment)) ??
						this.newLine(row, i.environment);
					this.checkExpected(line, i.expectedVersion, i.name);
					const value = i.value ?? generateValue(i.generate!.length, i.generate!.alphabet);
					const v = await this.addVersion(tx, p, row, line, { ...i, value });
					this.promoteInLine(line, v.version);
					await this.saveLine(tx, p, row, line);
					await this.audit(tx, p.tenant, {
						actor: p.subject,
						tokenId: p.jti,
						action: 'rotate',
						secret: i.name,
						environment: i.environment,
						version: v.version,
						outcome: 'success',
						reason: i.reason,
						context: caller.context,
					});
					return this.versionInfo(v, line);
				});
			},
		);
	}

	async getSecret(caller: Caller, name: string): Promise<SecretMetadata> {
		const i = schema.parseInput(schema.nameInput, { name });
		return this.op(caller, { action: 'read', secret: i.name, read: true }, async (p) => {
			this.authorizeSecretOp(p, 'getSecret', 'read secret metadata', i.name);
			return this.readAuthorized(p, async (x) => {
				const row = await secrets.byName(x, p.tenant, i.name);
				if (!row)
					throw new SecretsError(
						'SECRET_NOT_FOUND',
						`Secret "${i.name}" does not exist. Check the name (names are case-sensitive).`,
					);
				return this.metadata(x, row, p);
			});
		});
	}

	async listSecrets(
		caller: Caller,
		input: schema.ListSecretsInput = {},
	): Promise<Page<SecretMetadata>> {
		const i = schema.parseInput(schema.listSecretsInput, input);
		return this.op(caller, { action: 'list', read: true }, async (p) => {
			requireOperation(p, 'listSecrets', 'list secrets');
			if (i.environment !== undefined) requireEnvironment(p, i.environment);
			return this.readAuthorized(p, async (x) => {
				const items: SecretMetadata[] = [];
				let after = i.cursor ?? '';
				for (;;) {
					const batch = await secrets.page(x, p.tenant, { ...i, after, limit: i.limit + 1 });
					for (const row of batch) {
						if (!secretAllowed(p, row.name)) continue;
						if (items.length === i.limit)
							return { items, nextCursor: items[items.length - 1].name };
						items.push(await this.metadata(x, row, p));
					}
					if (batch.length <= i.limit) return { items };
					after = batch[batch.length - 1].name;
				}
			});
		});
	}

	async listVersions(
		caller: Caller,
		input: { name: string; environment: string },
	): Promise<VersionInfo[]> {
		const i = schema.parseInput(schema.versionsInput, input);
		return this.op(
			caller,
			{ action: 'list', secret: i.name, environment: i.environment, read: true },
			async (p) => {
				this.authorizeSecretOp(p, 'listVersions', 'list secret versions', i.name, i.environment);
				return this.readAuthorized(p, async (x) => {
					const row = await secrets.byName(x, p.tenant, i.name);
					if (!row)
						throw new SecretsError('SECRET_NOT_FOUND', `Secret "${i.name}" does not exist.`);
					const line = await lines.get(x, p.tenant, row.id, i.environment);
					if (!line) return [];
					return (await versions.ofLine(x, p.tenant, row.id, i.environment))
						.map((v) => this.versionInfo(v, line))
						.reverse();
				});
			},
		);
	}

	async deleteSecret(caller: Caller, name: string, reason?: string): Promise<SecretMetadata> {
		const i = schema.parseInput(schema.deleteInput, { name, reason });
		return this.op(caller, { action: 'delete', secret: i.name }, async (p) => {
			this.authorizeSecretOp(p, 'deleteSecret', 'delete secrets', i.name);
			return this.writeTx(p, async (tx) => {
				const row = await this.liveSecret(tx, p.tenant, i.name);
				await this.requireWholeSecret(tx, p, row, 'delete');
				row.deleted_at = this.iso();
				await secrets.setDeleted(tx, p.tenant, row.id, row.deleted_at, p.subject);
				await this.audit(tx, p.tenant, {
					actor: p.subject,
					tokenId: p.jti,
					action: 'delete',
					secret: i.name,
					outcome: 'success',
					reason: i.reason ?? null,
					context: caller.context,
				});
				return this.metadata(tx, row, p);
			});
		});
	}

	async restoreSecret(caller: Caller, name: string): Promise<SecretMetadata> {
		const i = schema.parseInput(schema.nameInput, { name });
		return this.op(caller, { action: 'restore', secret: i.name }, async (p) => {
			this.authorizeSecretOp(p, 'restoreSecret', 'restore secrets', i.name);
			return this.writeTx(p, async (tx) => {
				const row = await secrets.byName(tx, p.tenant, i.name);
				if (!row)
					throw new SecretsError(
						'SECRET_NOT_FOUND',
						`Secret "${i.name}" does not exist (or was purged).`,
					);
				if (!row.deleted_at)
					throw new SecretsError('SECRET_NOT_DELETED', `Secret "${i.name}" is not deleted.`);
				await this.requireWholeSecret(tx, p, row, 'restore');
				row.deleted_at = null;
				await secrets.setDeleted(tx, p.tenant, row.id, null, null);
				await this.audit(tx, p.tenant, {
					actor: p.subject,
					tokenId: p.jti,
					action: 'restore',
					secret: i.name,
					outcome: 'success',
					context: caller.context,
				});
				return this.metadata(tx, row, p);
			});
		});
	}

	/** Erases a deleted secret for good: ciphertext, versions and metadata. Its audit history stays. */
	async purgeSecret(caller: Caller, name: string): Promise<void> {
		const i = schema.parseInput(schema.nameInput, { name });
		await this.op(caller, { action: 'purge', secret: i.name }, async (p) => {
			this.authorizeSecretOp(p, 'purgeSecret', 'purge secrets', i.name);
			await this.writeTx(p, async (tx) => {
				const row = await secrets.byName(tx, p.tenant, i.name);
				if (!row) throw new SecretsError('SECRET_NOT_FOUND', `Secret "${i.name}" does not exist.`);
				if (!row.deleted_at)
					throw new SecretsError(
						'SECRET_NOT_DELETED',
						`Secret "${i.name}" must be deleted before it can be purged.`,
					);
				await this.requireWholeSecret(tx, p, row, 'purge');
				await secrets.remove(tx, p.tenant, row.id);
				await this.audit(tx, p.tenant, {
					actor: p.subject,
					tokenId: p.jti,
					action: 'purge',
					secret: i.name,
					outcome: 'success',
					context: caller.context,
				});
			});
		});
	}

	// ---- values -----------------------------------------------------------------------------------

	/**
	 * `use`: the value for the package's own code to send somewhere (a header, a signature), never to
	 * put into workflow data. With `destinationHost`, a secret bound to hosts is refused for any other.
	 */
	use(caller: Caller, input: schema.ResolveInput): Promise<ResolvedValue> {
		return this.resolveValue(caller, input, 'use');
	}

	/**
	 * `POST /secrets/{name}/resolve`: `use`, with the value crossing the network into the caller's own
	 * process (the n8n runtime in remote mode, for Secret Reference Auth). A person's `user` token
	 * cannot do this: it needs `secrets:runtime` as well, so "use is not reveal" holds over HTTP.
	 */
	resolve(caller: Caller, input: schema.ResolveInput): Promise<ResolvedValue> {
		return this.resolveValue(caller, input, 'resolve');
	}

	/** `reveal`: the plaintext as output, for people and workflows allowed to see it. */
	reveal(caller: Caller, input: schema.ResolveInput): Promise<ResolvedValue> {
		return this.resolveValue(caller, input, 'reveal');
	}

	/**
	 * `use` on behalf of the server's relay: the value goes into an outbound request the server itself
	 * sends to `destinationHost`, and never back to the caller. Allowed with `secrets:relay` (or
	 * `secrets:use`); audited as `use`. Not reachable over the API except through `POST /relay`.
	 */
	relayUse(caller: Caller, input: schema.ResolveInput): Promise<ResolvedValue> {
		if (input?.destinationHost === undefined) {
			return Promise.reject(
				new SecretsError('INVALID_INPUT', 'A relayed value needs the host it is sent to.'),
			);
		}
		return this.resolveValue(caller, input, 'relay');
	}

	/**
	 * Whether the caller may have the server send requests for it in `environment`: checked before the
	 * relay sends anything, even a request without references. Denials are audited.
	 */
	async authorizeRelay(caller: Caller, environment: string): Promise<void> {
		const env = schema.parseInput(schema.environmentName, environment);
		await this.op(caller, { action: 'use', environment: env }, async (p) => {
			requireOperation(p, 'relay', 'relay requests');
			requireEnvironment(p, env);
			await this.checkToken(this.driver, p);
		});
	}

	private async resolveValue(
		caller: Caller,
		input: schema.ResolveInput,
		via: 'use' | 'resolve' | 'reveal' | 'relay',
	): Promise<ResolvedValue> {
		const i = schema.parseInput(schema.resolveInput, input);
		const destination =
			i.destinationHost === undefined ? undefined : parseDestination(i.destinationHost);
		const shown = destination && formatDestination(destination);
		const action = via === 'reveal' ? 'reveal' : 'use';
		return this.op(
			caller,
			{ action, secret: i.name, environment: i.environment, destinationHost: shown },
			async (p) => {
				this.authorizeSecretOp(p, via, RESOLVE_VERBS[via], i.name, i.environment);
				const snap = await this.snapshot(p, i.name, i.environment, i.selector);
				if ('error' in snap) throw snap.error;
				const { row, line, v, hosts } = snap;
				requireConsumer(p, i.name, snap.consumers);
				if (
					via === 'relay' &&
					hosts.length === 0 &&
					!this.relayUnboundTenants.some((t) => t === '*' || t === p.tenant)
				) {
					throw new SecretsError(
						'DESTINATION_NOT_ALLOWED',
						`Secret "${i.name}" is not bound to any host, and the relay only sends secrets to the hosts they are bound to. ` +
							'Set its allowed hosts (e.g. `--allowed-host api.example.com`, or `*` to allow any destination).',
					);
				}
				if (
					action === 'use' &&
					hosts.length > 0 &&
					(destination === undefined || !hostAllowed(destination, hosts))
				) {
					throw new SecretsError(
						'DESTINATION_NOT_ALLOWED',
						destination === undefined
							? `Secret "${i.name}" is bound to ${hosts.join(', ')} and can only be used for a request to one of them.`
							: `Secret "${i.name}" may not be sent to ${shown}; it is bound to ${hosts.join(', ')}.`,
					);
				}
				this.checkValidity(row, line, v, i.selector);
				const key = await loadDataKey(this.driver, this.keys.keyring, p.tenant, v.dek_id);
				const value = key.decryptValue(snap.aad, snap.stored);
				await this.auditUse(p.tenant, {
					actor: p.subject,
					tokenId: p.jti,
					action,
					secret: i.name,
					environment: i.environment,
					version: v.version,
					outcome: 'success',
					reason:
						[
							via === 'relay' ? 'relayed by the server' : null,
							via === 'resolve' ? 'sent to the caller over the network' : null,
							line.environment === i.environment
								? null
								: `served from the ${ALL_ENVIRONMENTS} line`,
						]
							.filter(Boolean)
							.join('; ') || null,
					context: caller.context,
					destinationHost: shown,
				});
				return {
					name: i.name,
					environment: i.environment,
					servedFrom: line.environment,
					version: v.version,
					value,
					type: row.type,
					expiresAt: v.expires_at,
					allowedHosts: hosts,
				};
			},
		);
	}

	/**
	 * The rows a resolution needs (token state, secret, line, version: ciphertext, never plaintext),
	 * cached only until the next commit by any process: the store's change counter moves on every
	 * commit, so a rotated value is seen on the very next call. Time-dependent checks are not cached.
	 */
	private async snapshot(
		p: Principal,
		name: string,
		environment: string,
		selector: VersionSelector | undefined,
	): Promise<ResolveSnapshot> {
		// `ensureLive`, at the start of this same operation, brought the cache up to the store's state.
		const generation = this.cacheGeneration;
		const cacheKey = `${p.tenant}\0${name}\0${environment}\0${selector ? JSON.stringify(selector) : ''}`;
		let snap = this.resolveCache.get(cacheKey);
		if (!snap) {
			snap = await this.loadSnapshot(this.driver, p.tenant, name, environment, selector);
			if (generation !== null) {
				if (this.resolveCache.size >= RESOLVE_CACHE_LIMIT) this.resolveCache.clear();
				this.resolveCache.set(cacheKey, snap);
			}
		}
		return snap;
	}

	private async loadSnapshot(
		x: SqlExecutor,
		tenant: string,
		name: string,
		environment: string,
		selector: VersionSelector | undefined,
	): Promise<ResolveSnapshot> {
		try {
			const row = await this.liveSecret(x, tenant, name);
			const { line, v } = await this.selectVersion(x, row, environment, selector);
			return {
				row,
				line,
				v,
				hosts: JSON.parse(row.allowed_hosts) as string[],
				consumers: JSON.parse(row.allowed_consumers) as string[],
				aad: valueAad({
					tenant,
					secretId: row.id,
					environment: line.environment,
					version: v.version,
				}),
				stored: { iv: toBuffer(v.iv)!, ciphertext: toBuffer(v.ciphertext)!, mac: toBuffer(v.mac)! },
			};
		} catch (error) {
			if (error instanceof SecretsError) return { error };
			throw error;
		}
	}

	/** The caller's environment line, else the line marked for all environments; never another one. */
	private async selectVersion(
		x: SqlExecutor,
		row: SecretRow,
		environment: string,
		selector: VersionSelector | undefined,
	): Promise<{ line: LineRow; v: VersionRow }> {
		const line =
			(await lines.get(x, row.tenant, row.id, environment)) ??
			(await lines.get(x, row.tenant, row.id, ALL_ENVIRONMENTS));
		if (!line) {
			throw new SecretsError(
				'SECRET_NOT_FOUND',
				`Secret "${row.name}" has no value for environment "${environment}". Set one with \`n8n-secrets secret set ${row.name} --env ${environment}\`.`,
			);
		}
		const sel = selector ?? { label: 'current' as const };
		let version: number | null;
		if ('version' in sel) version = sel.version <= line.latest_version ? sel.version : null;
		else if (sel.label === 'current') version = line.current_version;
		else if (sel.label === 'pending') version = line.pending_version;
		else version = line.previous_version;
		const what = 'version' in sel ? `version ${sel.version}` : `${sel.label} version`;
		const v =
			version === null
				? undefined
				: await versions.get(x, row.tenant, row.id, line.environment, version);
		if (!v) {
			throw new SecretsError(
				'VERSION_NOT_FOUND',
				`Secret "${row.name}" has no ${what} in ${line.environment}.`,
			);
		}
		if (v.destroyed_at || !v.ciphertext) {
			throw new SecretsError(
				'VERSION_DESTROYED',
				`Version ${v.version} of "${row.name}" was destroyed by retention on ${v.destroyed_at}; its value is gone.`,
			);
		}
		return { line, v };
	}

	/** Checks that depend on the clock, made on every call: a cached row never outlives its expiry. */
	private checkValidity(
		row: SecretRow,
		line: LineRow,
		v: VersionRow,
		selector: VersionSelector | undefined,
	): void {
		if (
			selector &&
			'label' in selector &&
			selector.label === 'previous' &&
			this.previousExpired(row, line)
		) {
			throw new SecretsError(
				'VERSION_NOT_FOUND',
				`Secret "${row.name}" has no previous version in ${line.environment} (past its ${row.previous_window_days}-day window).`,
			);
		}
		const now = this.iso();
		if (v.expires_at && v.expires_at <= now) {
			throw new SecretsError(
				'SECRET_EXPIRED',
				`Secret "${row.name}" (version ${v.version} in ${line.environment}) expired on ${v.expires_at}. Rotate it to a new value.`,
			);
		}
		if (v.not_before && v.not_before > now) {
			throw new SecretsError(
				'SECRET_NOT_YET_VALID',
				`Secret "${row.name}" (version ${v.version} in ${line.environment}) is not valid before ${v.not_before}.`,
			);
		}
	}

	// ---- maintenance queries ------------------------------------------------------------------------

	private async visibleLines(p: Principal, environment?: string) {
		const live = new Map(
			(await secrets.allLive(this.driver, p.tenant))
				.filter((s) => secretAllowed(p, s.name))
				.map((s) => [s.id, s]),
		);
		const all = await lines.allOfTenant(this.driver, p.tenant);
		return all
			.filter(
				(l) =>
					live.has(l.secret_id) &&
					environmentAllowed(p, l.environment) &&
					(environment === undefined || l.environment === environment),
			)
			.map((l) => ({ line: l, secret: live.get(l.secret_id)! }));
	}

	async expiring(caller: Caller, input: schema.WithinDaysInput = {}): Promise<ExpiringItem[]> {
		const i = schema.parseInput(schema.withinDaysInput, input);
		return this.op(caller, { action: 'list', read: true }, async (p) => {
			requireOperation(p, 'expiring', 'list expiring secrets');
			if (i.environment !== undefined) requireEnvironment(p, i.environment);
			await this.checkToken(this.driver, p);
			const nowMs = this.now().getTime();
			const horizon = new Date(nowMs + i.withinDays * DAY_MS).toISOString();
			return (await this.visibleLines(p, i.environment))
				.filter(
					({ line }) =>
						line.current_version !== null && line.expires_at !== null && line.expires_at <= horizon,
				)
				.map(({ line, secret }) => ({
					name: secret.name,
					type: secret.type,
					environment: line.environment,
					version: line.current_version!,
					expiresAt: line.expires_at!,
					daysLeft: Math.floor((Date.parse(line.expires_at!) - nowMs) / DAY_MS),
					expired: Date.parse(line.expires_at!) <= nowMs,
				}))
				.sort((a, b) => a.expiresAt.localeCompare(b.expiresAt) || a.name.localeCompare(b.name));
		});
	}

	/** Current versions older than their secret's rotation interval (ON_DEMAND secrets are never due). */
	async dueForRotation(caller: Caller, input: schema.DueInput = {}): Promise<DueItem[]> {
		const i = schema.parseInput(schema.dueInput, input);
		return this.op(caller, { action: 'list', read: true }, async (p) => {
			requireOperation(p, 'dueForRotation', 'list secrets due for rotation');
			if (i.environment !== undefined) requireEnvironment(p, i.environment);
			await this.checkToken(this.driver, p);
			return this.dueItems(await this.visibleLines(p, i.environment));
		});
	}

	/**
	 * Due when the current value is older than the interval. Age counts from when the value was
	 * written, not when it became current: a rollback to an old value after a failed rotation leaves the
	 * secret due, so the next scheduled rotation tries again instead of waiting a whole interval.
	 */
	private dueItems(
		rows: { line: LineRow & { current_created_at: string | null }; secret: SecretRow }[],
	): DueItem[] {
		const nowMs = this.now().getTime();
		const out: DueItem[] = [];
		for (const { line, secret } of rows) {
			const since = line.current_created_at ?? line.current_since;
			if (secret.rotation_policy === 'ON_DEMAND' || !secret.rotation_interval_days || !since)
				continue;
			const dueAt = Date.parse(since) + secret.rotation_interval_days * DAY_MS;
			if (dueAt > nowMs) continue;
			out.push({
				name: secret.name,
				type: secret.type,
				environment: line.environment,
				rotationPolicy: secret.rotation_policy,
				rotationIntervalDays: secret.rotation_interval_days,
				currentSince: since,
				dueAt: new Date(dueAt).toISOString(),
				overdueDays: Math.floor((nowMs - dueAt) / DAY_MS),
			});
		}
		return out.sort((a, b) => a.dueAt.localeCompare(b.dueAt) || a.name.localeCompare(b.name));
	}

	async stats(caller: Caller): Promise<Stats> {
		return this.op(caller, { action: 'read', read: true }, async (p) => {
			requireOperation(p, 'stats', 'read statistics');
			await this.checkToken(this.driver, p);
			const rows = await this.visibleLines(p);
			const live = (await secrets.allLive(this.driver, p.tenant)).filter((s) =>
				secretAllowed(p, s.name),
			);
			const all = await secrets.page(this.driver, p.tenant, {
				after: '',
				includeDeleted: true,
				limit: 1_000_000,
			});
			const nowMs = this.now().getTime();
			const horizon = new Date(nowMs + 30 * DAY_MS).toISOString();
			const now = new Date(nowMs).toISOString();
			const byType: Record<string, number> = {};
			for (const s of live) byType[s.type] = (byType[s.type] ?? 0) + 1;
			const byEnvironment: Record<string, number> = {};
			for (const { line } of rows) {
				// A line with only a staged value has nothing in use there yet.
				if (line.current_version === null) continue;
				byEnvironment[line.environment] = (byEnvironment[line.environment] ?? 0) + 1;
			}
			return {
				secrets: live.length,
				deleted: all.filter((s) => s.deleted_at && secretAllowed(p, s.name)).length,
				byType,
				byEnvironment,
				dueForRotation: this.dueItems(rows).length,
				expiringWithin30Days: rows.filter(
					({ line }) => line.expires_at && line.expires_at > now && line.expires_at <= horizon,
				).length,
				expired: rows.filter(({ line }) => line.expires_at && line.expires_at <= now).length,
			};
		});
	}

	/**
	 * Housekeeping an operator runs on a schedule: purges secrets deleted longer ago than the recovery
	 * window and applies retention windows to lines nobody has written to lately.
	 */
	async maintenance(caller: Caller): Promise<{ purged: string[]; retentionApplied: number }> {
		return this.op(caller, { action: 'purge' }, async (p) => {
			requireOperation(p, 'maintenance', 'run maintenance');
			return this.writeTx(p, async (tx) => {
				const cutoff = this.iso(-this.recoveryWindowDays * DAY_MS);
				const purged: string[] = [];
				// A limited token tidies only what it could delete or change itself.
				for (const row of await secrets.deletedBefore(tx, p.tenant, cutoff)) {
					if (!secretAllowed(p, row.name) || !(await this.coversWholeSecret(tx, p, row))) continue;
					await secrets.remove(tx, p.tenant, row.id);
					purged.push(row.name);
					await this.audit(tx, p.tenant, {
						actor: p.subject,
						tokenId: p.jti,
						action: 'purge',
						secret: row.name,
						outcome: 'success',
						reason: `recovery window of ${this.recoveryWindowDays} days passed`,
						context: caller.context,
					});
				}
				let retentionApplied = 0;
				const live = new Map((await secrets.allLive(tx, p.tenant)).map((s) => [s.id, s]));
				for (const line of await lines.allOfTenant(tx, p.tenant)) {
					const row = live.get(line.secret_id);
					if (!row || !secretAllowed(p, row.name) || !environmentAllowed(p, line.environment))
						continue;
					if (line.previous_version !== null && this.previousExpired(row, line)) {
						await this.applyRetention(tx, row, line);
						await lines.upsert(tx, line);
						retentionApplied++;
					}
				}
				return { purged, retentionApplied };
			});
		});
	}

	// ---- audit ----------------------------------------------------------------------------------

	async listAudit(caller: Caller, input: schema.AuditQueryInput = {}): Promise<Page<AuditEvent>> {
		const i = schema.parseInput(schema.auditQueryInput, input);
		return this.op(caller, { action: 'audit.read', read: true }, async (p) => {
			requireOperation(p, 'listAudit', 'read the audit trail');
			await this.ingestJournal();
			return this.readAuthorized(p, async (x) => {
				const beforeSeq = i.cursor === undefined ? undefined : Number(i.cursor);
				if (beforeSeq !== undefined && !Number.isSafeInteger(beforeSeq))
					throw new SecretsError(
						'INVALID_INPUT',
						'Invalid input: cursor: use the nextCursor of the previous page.',
					);
				// A limited token reads only the events about what it may act on; hidden events are
				// skipped batch by batch, so a page still holds `limit` events when there are that many.
				const items: AuditEvent[] = [];
				const cursor = { beforeSeq, afterSeq: i.afterSeq };
				for (;;) {
					const batch = await auditRepo.query(x, p.tenant, { ...i, ...cursor, limit: i.limit + 1 });
					for (const e of batch) if (auditVisible(p, e) && items.length <= i.limit) items.push(e);
					if (items.length > i.limit || batch.length <= i.limit) break;
					const last = batch[batch.length - 1].seq;
					if (i.afterSeq !== undefined) cursor.afterSeq = last;
					else cursor.beforeSeq = last;
				}
				if (items.length <= i.limit) return { items };
				items.pop();
				return i.afterSeq !== undefined
					? { items }
					: { items, nextCursor: String(items[items.length - 1].seq) };
			});
		});
	}

	async verifyAudit(caller: Caller): Promise<VerifyResult> {
		return this.op(caller, { action: 'audit.read', read: true }, async (p) => {
			requireOperation(p, 'verifyAudit', 'verify the audit trail');
			await this.ingestJournal();
			return this.readAuthorized(p, (x) =>
				verifyChain(x, p.tenant, (id) => loadDataKey(x, this.keys.keyring, p.tenant, id)),
			);
		});
	}

	// ---- tokens ---------------------------------------------------------------------------------

	async createToken(
		caller: Caller,
		input: schema.CreateTokenInput,
	): Promise<{ token: string; info: TokenInfo }> {
		return this.op(caller, { action: 'token.create' }, async (p) => {
			requireOperation(p, 'createToken', 'create access tokens');
			return this.issueToken(
				{ tenant: p.tenant, subject: p.subject, jti: p.jti, context: caller.context },
				input,
				p,
			);
		});
	}

	private async issueToken(
		/** `context`: the workflow run that mints the token, audited as a reveal's is. */
		issuer: { tenant: string; subject: string; jti: string | null; context?: N8nContext },
		input: schema.CreateTokenInput,
		principal: Principal | undefined,
	): Promise<{ token: string; info: TokenInfo }> {
		const i = schema.parseInput(schema.createTokenInput, input);
		const ttl = schema.ttlSeconds(i.ttl);
		const nowMs = this.now().getTime();
		let expiresAt = ttl === null ? null : nowMs + ttl * 1000;
		let { environments, secrets: names } = i;
		if (principal) {
			// A limited token passes its own limits on: what it leaves out it inherits, and the new
			// token's lifetime ends no later than its own (shortened, not refused: the answer says when).
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
		const run = async (tx: SqlExecutor) => {
			if (principal) await this.checkToken(tx, principal);
			const { kid, key } = await loadSigningKey(tx, this.keys.keyring, issuer.tenant);
			await tokens.insert(tx, info);
			await this.audit(tx, issuer.tenant, {
				actor: issuer.subject,
				tokenId: issuer.jti,
				action: 'token.create',
				outcome: 'success',
				context: issuer.context,
				reason: `token ${info.jti} for ${info.subject}: ${info.role}${info.environments.length ? `, env ${info.environments.join('/')}` : ''}${info.secrets.length ? `, secrets ${info.secrets.join('/')}` : ''}`,
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
		};
		return this.driver.transaction(run);
	}

	async revokeToken(caller: Caller, tokenId: string): Promise<TokenInfo> {
		const { jti } = schema.parseInput(schema.revokeTokenInput, { jti: tokenId });
		return this.op(caller, { action: 'token.revoke' }, async (p) => {
			requireOperation(p, 'revokeToken', 'revoke access tokens');
			return this.writeTx(p, async (tx) => {
				const row = await tokens.get(tx, p.tenant, jti);
				const beyond = row && row.jti !== p.jti && exceededLimit(p, revocable(toTokenInfo(row)));
				// A limited token learns nothing about tokens outside its limits, not even that they exist.
				if (beyond || (!row && isLimited(p)))
					throw new Denial(
						`This access token may not revoke token ${jti}: there is no such token within its own limits.`,
						`token.revoke: ${beyond || 'unknown token'}`,
					);
				if (!row)
					throw new SecretsError(
						'INVALID_INPUT',
						`No access token with id ${jti} in this tenant. List them with \`n8n-secrets token list\`.`,
					);
				await tokens.revoke(tx, p.tenant, jti, this.iso());
				await this.audit(tx, p.tenant, {
					actor: p.subject,
					tokenId: p.jti,
					action: 'token.revoke',
					outcome: 'success',
					reason: `token ${jti} of ${row.subject}`,
				});
				return toTokenInfo((await tokens.get(tx, p.tenant, jti))!);
			});
		});
	}

	async listTokens(caller: Caller): Promise<TokenInfo[]> {
		return this.op(caller, { action: 'token.list', read: true }, async (p) => {
			requireOperation(p, 'listTokens', 'list access tokens');
			return this.readAuthorized(p, async (x) =>
				(await tokens.list(x, p.tenant)).filter(
					(t) => t.jti === p.jti || !exceededLimit(p, revocable(t)),
				),
			);
		});
	}

	// ---- master key -----------------------------------------------------------------------------

	/**
	 * Store-wide, and so only for the holder of the master key (the CLI on the store's host, never a
	 * tenant's token): moves the store to a new master key (re-wraps every data key: fast) and/or
	 * re-encrypts every tenant's values under new data keys (slow, in batches, resumable: run it again
	 * after a crash and it carries on). Other processes must be restarted with the new key afterwards.
	 */
	async rotateMasterKey(opts: {
		newKey?: KeyProvider;
		reencrypt?: boolean;
		batchSize?: number;
		onProgress?: (p: ReencryptProgress) => void;
	}): Promise<{ rewrapped: number; reencrypted: number }> {
		if (!opts.newKey && !opts.reencrypt)
			throw new SecretsError(
				'INVALID_INPUT',
				'Invalid input: give a new master key, ask to re-encrypt, or both.',
			);
		const actor = { subject: MASTER_KEY_HOLDER, jti: null };
		let rewrapped = 0;
		if (opts.newKey) rewrapped = await this.rewrapAll(actor, opts.newKey);
		let reencrypted = 0;
		if (opts.reencrypt) {
			for (const { id: tenant } of await tenants.all(this.driver)) {
				reencrypted += await this.reencryptTenant(
					actor,
					tenant,
					opts.batchSize ?? 500,
					opts.onProgress,
				);
			}
		}
		return { rewrapped, reencrypted };
	}

	/**
	 * `POST /keys/rotate`: re-encrypts the caller's own tenant under a new data key. It touches every
	 * value of the tenant, so it needs an admin token limited to no environment and no name pattern.
	 */
	async rotateDataKeys(
		caller: Caller,
		opts: { batchSize?: number } = {},
	): Promise<{ rewrapped: number; reencrypted: number }> {
		return this.op(caller, { action: 'key.rotate' }, async (p) => {
			requireOperation(p, 'rotateDataKeys', 'rotate keys');
			if (isLimited(p))
				throw new Denial(
					'This access token may not re-encrypt the tenant: that touches every secret in every environment, ' +
						'and the token is limited to some. Use an admin token without limits.',
					'key.rotate with a limited token',
				);
			await this.checkToken(this.driver, p);
			const reencrypted = await this.reencryptTenant(
				{ subject: p.subject, jti: p.jti },
				p.tenant,
				opts.batchSize ?? 500,
			);
			return { rewrapped: 0, reencrypted };
		});
	}

	private async rewrapAll(
		p: { subject: string; jti: string | null },
		provider: KeyProvider,
	): Promise<number> {
		const salt = provider.needsSalt ? randomBytes(16) : null;
		const next = await provider.open(salt);
		if (next.checkValue.equals(this.keys.master.checkValue)) {
			throw new SecretsError(
				'INVALID_INPUT',
				'The new master key is the same as the current one; nothing was changed.',
			);
		}
		const nextId = randomUUID();
		const count = await this.driver.transaction(async (tx) => {
			const now = this.iso();
			await masterKeys.insert(tx, nextId, next.checkValue, salt, now);
			await masterKeys.retireAllBut(tx, nextId, now);
			const all = await dataKeys.all(tx);
			for (const row of all) {
				// Unwrapped (and cached) under the old key first: the audit event below, in this same
				// transaction, seals with these data keys after their rows already hold the new wrapping.
				this.keys.keyring.unwrap(row);
				await dataKeys.rewrap(tx, this.keys.keyring.rewrap(row, next, nextId));
			}
			for (const { id: tenant } of await tenants.all(tx)) {
				await this.audit(tx, tenant, {
					actor: p.subject,
					tokenId: p.jti,
					action: 'key.rotate',
					outcome: 'success',
					reason: `master key replaced (from ${this.keys.master.source} to ${next.source}); ${all.length} data keys re-wrapped`,
				});
			}
			return all.length;
		});
		this.keys = { master: next, masterKeyId: nextId, keyring: new Keyring(next, nextId) };
		return count;
	}

	private async reencryptTenant(
		p: { subject: string; jti: string | null },
		tenant: string,
		batchSize: number,
		onProgress?: (p: ReencryptProgress) => void,
	): Promise<number> {
		const keyring = this.keys.keyring;
		// A 'retiring' key means an earlier run stopped part-way: carry on under the key it created.
		const target = await this.driver.transaction(async (tx) => {
			if ((await dataKeys.retiring(tx, tenant)).length === 0) {
				await dataKeys.retireActive(tx, tenant);
				const { wrapped } = keyring.create(tenant);
				await dataKeys.insert(tx, wrapped, this.iso());
			}
			return (await dataKeys.active(tx, tenant))!;
		});
		const to = keyring.unwrap(target);
		const total = await versions.countNotUnder(this.driver, tenant, to.id);
		let done = 0;
		onProgress?.({ tenant, done, total });
		for (;;) {
			const moved = await this.driver.transaction(async (tx) => {
				const batch = await versions.notUnder(tx, tenant, to.id, batchSize);
				for (const v of batch) {
					const from = await loadDataKey(tx, keyring, tenant, v.dek_id);
					const slot = {
						tenant,
						secretId: v.secret_id,
						environment: v.environment,
						version: v.version,
					};
					const plain = from.decryptValue(slot, {
						iv: toBuffer(v.iv)!,
						ciphertext: toBuffer(v.ciphertext)!,
						mac: toBuffer(v.mac)!,
					});
					const enc = to.encryptValue(slot, plain);
					await versions.reseal(tx, v, to.id, enc.iv, enc.ciphertext, enc.mac);
				}
				return batch.length;
			});
			if (moved === 0) break;
			done += moved;
			onProgress?.({ tenant, done, total });
		}
		await this.driver.transaction(async (tx) => {
			// Journal records sealed under the old keys must be chained before those keys are gone.
			if (this.journal) await this.ingestInto(tx);
			for (const old of await dataKeys.retiring(tx, tenant)) {
				const from = keyring.unwrap(old);
				await resealSigningKeys(tx, from, to);
				await versions.rekeyDestroyed(tx, tenant, old.id, to.id);
				await dataKeys.remove(tx, tenant, old.id);
			}
			await resealHead(tx, tenant, to);
			await this.audit(tx, tenant, {
				actor: p.subject,
				tokenId: p.jti,
				action: 'key.rotate',
				outcome: 'success',
				reason: `${done} values re-encrypted under a new data key`,
			});
		});
		return done;
	}
}
