/**
 * SecretsService: every operation of the backend. Each one validates its input, authorizes the caller
 * before it reads anything, acts, and writes its audit event in the same transaction, so an operation
 * whose audit event cannot be written does not happen. Denials and failures are audited too.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { hostname } from 'node:os';

import { tamperedError } from '../store/row-seals';
import { readFileSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';

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
	type EnvironmentLine,
	type N8nContext,
	type Page,
	type Principal,
	type SecretMetadata,
	type TokenInfo,
	type VersionInfo,
	type VersionSelector,
} from '../core/model';
import {
	ROTATION_ACTIONS,
	changedRotationSettings,
	newRotationSettings,
	rotationDueAt,
} from '../core/rotation';
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
	type RotationLeaseRow,
	type SecretRow,
	type VersionRow,
	audit as auditRepo,
	auditCheckpoints,
	dataKeys,
	journals,
	lines,
	masterKeys,
	rotationLeases,
	seals,
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
	type IngestResult,
	type VerifyResult,
	GENESIS_HASH,
	brokenTrail,
	chainEvent,
	ingestJournal,
	sealJournalRecord,
	unchainedEvent,
	resealCheckpoints,
	resealHead,
	sealCheckpoint,
	sealedHead,
	verifyChain,
} from './audit-chain';
import {
	ARCHIVE_TYPE,
	type CheckpointStatement,
	checkArchive,
	checkOutputFree,
	sameKey,
	signStatement,
	statementSigned,
	writeArchive,
} from './audit-archive';
import { faultPoint } from '../core/fault';
import type { OperationName } from './operations';
import { processGone } from '../core/processes';
import { AuditJournal } from '../store/audit-journal';
import { isStorageFault, storageFault } from '../store/sqlite/storage-faults';
import { schemaVersion } from '../store/migrations';
import {
	type OpenedKeys,
	activeDataKey,
	createTenant,
	loadDataKey,
	loadSigningKey,
	KeyedDriver,
	loadVerifyKey,
	openKeys,
	resealSigningKeys,
} from './store-keys';

import type { Caller, DueItem, ExpiringItem, ReencryptProgress, ResolvedValue, Stats } from './api';

export type { Caller, DueItem, ExpiringItem, ReencryptProgress, ResolvedValue, Stats } from './api';

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
	/**
	 * How many resolutions' rows (never values) this process keeps under the store's change counter;
	 * beyond it the least recently used go. Default 100,000 (about 1.6 KB each; N8N_SECRETS_RESOLVE_CACHE_ENTRIES).
	 */
	resolveCacheEntries?: number;
}

const DAY_MS = 86_400_000;
/** The actor of what only the master key's holder can do (init, master key rotation). */
const MASTER_KEY_HOLDER = 'master-key-holder';
/** Journaled audit records are chained within this delay, or sooner by any write or audit read. */
const INGEST_DELAY_MS = 200;
/** A re-encryption lease without progress for this long may be taken over by another run. */
const LEASE_STALE_MS = 2 * 60_000;
/**
 * Resolutions whose rows a process keeps (about 1.6 KB each, so some 160 MB when full): enough for
 * every value of a store of 100,000 secrets to be served from the cache once it has been used.
 */
const RESOLVE_CACHE_ENTRIES = 100_000;

/**
 * What a resolution needs of the rows it read (their seals already checked): kept small, because the
 * cache holds one per secret, environment and selector resolved (see resolveCacheEntries).
 */
type SnapshotSecret = Pick<SecretRow, 'name' | 'type' | 'previous_window_days'>;
type SnapshotLine = Pick<LineRow, 'environment' | 'previous_since'>;
type SnapshotVersion = Pick<VersionRow, 'version' | 'dek_id' | 'expires_at' | 'not_before'>;

type ResolveSnapshot =
	| { error: SecretsError }
	| {
			row: SnapshotSecret;
			line: SnapshotLine;
			v: SnapshotVersion;
			hosts: string[];
			consumers: string[];
			/** The ciphertext as stored and the slot it is bound to: never the plaintext. */
			aad: Buffer;
			stored: EncryptedValue;
	  };

/**
 * The slot and the stored ciphertext as views of one Buffer of their own. The column values node:sqlite
 * returns each own a backing store, and a small Buffer from Node's shared pool keeps its whole 8 KB
 * slab alive: either way a cache entry cost over a kilobyte outside the heap.
 */
function compactSlot(aad: Buffer, v: VersionRow): { aad: Buffer; stored: EncryptedValue } {
	const parts = [aad, toBuffer(v.iv)!, toBuffer(v.ciphertext)!, toBuffer(v.mac)!];
	const all = Buffer.allocUnsafeSlow(parts.reduce((n, b) => n + b.length, 0));
	const views: Buffer[] = [];
	let at = 0;
	for (const b of parts) {
		b.copy(all, at);
		views.push(all.subarray(at, at + b.length));
		at += b.length;
	}
	return { aad: views[0], stored: { iv: views[1], ciphertext: views[2], mac: views[3] } };
}

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
	/** The store, with the row keys that seal and check every sealed row (store-keys.ts). */
	private readonly driver: SqlDriver;
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
	private readonly resolveCacheEntries: number;

	private constructor(
		driver: SqlDriver,
		private keys: OpenedKeys,
		options: ServiceOptions,
	) {
		this.driver = new KeyedDriver(driver, () => this.keys.keyring);
		this.now = options.now ?? (() => new Date());
		this.recoveryWindowDays = options.recoveryWindowDays ?? DEFAULT_RECOVERY_WINDOW_DAYS;
		this.lockHead = driver.dialect === 'postgres';
		this.journal = driver.journalDir
			? new AuditJournal(driver.journalDir, options.durability === 'full')
			: null;
		this.onBackgroundError = options.onBackgroundError ?? (() => undefined);
		this.relayUnboundTenants = options.relayUnboundTenants ?? [];
		this.resolveCacheEntries = Math.max(1, options.resolveCacheEntries ?? RESOLVE_CACHE_ENTRIES);
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
		await service.ingestBeforeRead();
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
			await this.ingestJournal({ closing: true });
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
			{
				key,
				lockHead: this.lockHead,
				sealedWith: (t, id) => loadDataKey(tx, this.keys.keyring, t, id),
			},
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
		const record = sealJournalRecord(key, unchainedEvent(tenant, this.iso(), input));
		// A new file is registered (committed) before its first record; then the append is synchronous,
		// so no ingest can retire the file between the check and the write.
		while (!this.journal.ready)
			await this.journal.ensureFile((file) =>
				this.driver.transaction(
					async (tx) => {
						await journals.register(tx, file);
					},
					'process',
					{ changesSecrets: false },
				),
			);
		this.journal.append(record);
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

	/**
	 * Chains every journaled audit record of every process; returns how many were chained. Journal files
	 * that are done with are marked final in the transaction and deleted only after it commits (see
	 * audit-journal.ts for why in that order).
	 */
	async ingestJournal(opts: { closing?: boolean } = {}): Promise<number> {
		// A store opened read-only (full disk, read-only mount) keeps its journal for the next writer.
		if (!this.journal || this.driver.readOnlyReason) return 0;
		const journal = this.journal;
		const { chained, finalized } = await this.driver.transaction(
			(tx) => this.ingestInto(tx, { finalize: true, closing: opts.closing }),
			'process',
			{ changesSecrets: false },
		);
		if (finalized.length > 0) faultPoint('audit.ingest.after-commit');
		for (const file of finalized) {
			journal.remove(file);
			faultPoint('audit.ingest.after-unlink');
		}
		return chained;
	}

	/**
	 * Ingest before a read (and at open): a store that cannot be written (a full disk) is read as it
	 * is, and its journaled records stay in the journal, chained by the next ingest that can write.
	 */
	private async ingestBeforeRead(): Promise<void> {
		try {
			await this.ingestJournal();
		} catch (err) {
			if (!isStorageFault(err)) throw err;
		}
	}

	/** Why this store can only be read (full disk, read-only mount, …), or undefined. */
	get readOnlyReason(): SecretsError | undefined {
		return this.driver.readOnlyReason;
	}

	/** Without `finalize`, inside another operation's transaction: chains and records offsets only. */
	private ingestInto(
		tx: SqlExecutor,
		opts: { finalize: boolean; closing?: boolean } = { finalize: false },
	): Promise<IngestResult> {
		return ingestJournal(tx, this.journal!, {
			lockHead: this.lockHead,
			keyFor: (tenant, id) => loadDataKey(tx, this.keys.keyring, tenant, id),
			activeKey: (tenant) => activeDataKey(tx, this.keys.keyring, tenant),
			tenants: async () => (await tenants.all(tx)).map((t) => t.id),
			...opts,
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
		} catch (caught) {
			// A full disk or read-only mount met outside the driver (the audit journal's files) is coded too.
			let err =
				this.driver.dialect === 'sqlite'
					? (storageFault(this.driver.location, caught) ?? caught)
					: caught;
			if ((what.action === 'reveal' || what.action === 'use') && isStorageFault(err)) {
				const e = err as SecretsError;
				err = new SecretsError(
					e.code,
					`No value was handed out: every ${what.action} is audited before the value is, and the audit ` +
						`record cannot be written. ${e.message}`,
					{ cause: e, details: e.details },
				);
			}
			const denied =
				err instanceof SecretsError && (DENIAL_CODES.has(err.code) || err.code === 'TOKEN_REVOKED');
			// Reads record only their denials and tampered rows; writes and value resolutions record
			// every failure.
			if (
				err instanceof SecretsError &&
				err.code !== 'INVALID_INPUT' &&
				err.code !== 'TOKEN_INVALID' &&
				(denied || !what.read || err.code === 'INTEGRITY_ERROR')
			) {
				const why = err instanceof Denial ? err.auditReason : err.code;
				await this.driver
					.transaction(
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
						// Only the audit trail changes: on PostgreSQL it need not wait for the store's
						// exclusive write lock (a burst of refused calls must not hold up the one running).
						{ changesSecrets: false },
					)
					.catch((auditErr: unknown) => {
						// A store that cannot be written cannot record the failure either: the caller is told
						// what failed first, not that its record could not be written.
						if (!isStorageFault(auditErr)) throw auditErr;
					});
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
		return (await this.metadataOf(x, [row], p))[0];
	}

	/**
	 * The metadata of several secrets of `p`'s tenant (a page of a listing) from one read of all their
	 * lines, each joined with its current version's expiry: the one place secret and line rows become
	 * metadata.
	 */
	private async metadataOf(
		x: SqlExecutor,
		rows: readonly SecretRow[],
		p: Principal,
	): Promise<SecretMetadata[]> {
		const bySecret = new Map<string, EnvironmentLine[]>(rows.map((r) => [r.id, []]));
		for (const { line, currentExpiresAt, currentCreatedAt } of await lines.ofSecrets(
			x,
			p.tenant,
			rows.map((r) => r.id),
		)) {
			if (line.environment !== ALL_ENVIRONMENTS && !environmentAllowed(p, line.environment))
				continue;
			bySecret.get(line.secret_id)?.push(toLine(line, currentExpiresAt, currentCreatedAt));
		}
		return rows.map((r) => toMetadata(r, bySecret.get(r.id)!));
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
			// The repository seals every row it writes.
			seal: null,
			seal_key: null,
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
			seal: null,
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

	private previousExpired(
		row: Pick<SecretRow, 'previous_window_days'>,
		line: Pick<LineRow, 'previous_since'>,
	): boolean {
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

	/**
	 * A read outside any transaction. The token's state is not read again here: `ensureLive` checked
	 * it at the start of this same operation (op), and a second read cost every read another round
	 * trip on PostgreSQL; a revocation committed between the two is no different from one just after.
	 */
	private readStore<T>(fn: (x: SqlExecutor) => Promise<T>): Promise<T> {
		return fn(this.driver);
	}

	/**
	 * Runs one operation of the table (operations.ts) by name with its input as one object: what the
	 * generated interfaces (REST, GraphQL) call.
	 */
	run(name: OperationName, caller: Caller, input: unknown): Promise<unknown> {
		// Transitional dispatch to the methods, until the runner (runner.ts) takes their place.
		const i = (input ?? {}) as Record<string, unknown>;
		const m = this as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
		const byName = ['getSecret', 'restoreSecret'];
		const noInput = [
			'whoami',
			'stats',
			'maintenance',
			'listTokens',
			'auditCheckpoint',
			'verifyAudit',
		];
		if (name === 'purgeSecret')
			return this.purgeSecret(caller, i.name as string).then(() => ({ purged: i.name }));
		if (name === 'deleteSecret') return m.deleteSecret(caller, i.name, i.reason);
		if (name === 'revokeToken') return m.revokeToken(caller, i.jti);
		if (name === 'rotateDataKeys') return m.rotateDataKeys(caller, { batchSize: i.batchSize });
		if (name === 'verifyArchive') return m.verifyArchive(caller, i.file);
		if (name === 'rotate' && i.value === undefined && i.generate === undefined) i.generate = {};
		if (byName.includes(name)) return m[name](caller, i.name);
		if (noInput.includes(name)) return m[name](caller);
		return m[name](caller, i);
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
		const rotation = newRotationSettings(i.rotationPolicy, i.rotationIntervalDays);
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
						rotation_policy: rotation.policy,
						rotation_interval_days: rotation.intervalDays,
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
						seal: null,
						seal_key: null,
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
				// Checked only when changed: a row from before policies were checked keeps working as is.
				if (i.rotationPolicy !== undefined || i.rotationIntervalDays !== undefined) {
					const rotation = changedRotationSettings(
						{ policy: row.rotation_policy, intervalDays: row.rotation_interval_days },
						i.rotationPolicy,
						i.rotationIntervalDays,
					);
					set('rotationPolicy', 'rotation_policy', rotation.policy);
					set('rotationIntervalDays', 'rotation_interval_days', rotation.intervalDays);
				}
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
			return this.readStore(async (x) => {
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
			return this.readStore(async (x) => {
				// One read for the page's secret rows (more only while a token limited to some names
				// skips rows), one for all their lines.
				const rows: SecretRow[] = [];
				let after = i.cursor ?? '';
				let more = false;
				while (!more) {
					const batch = await secrets.page(x, p.tenant, { ...i, after, limit: i.limit + 1 });
					for (const row of batch) {
						if (!secretAllowed(p, row.name)) continue;
						if (rows.length === i.limit) {
							more = true;
							break;
						}
						rows.push(row);
					}
					if (batch.length <= i.limit) break;
					after = batch[batch.length - 1].name;
				}
				const items = await this.metadataOf(x, rows, p);
				return more ? { items, nextCursor: rows[rows.length - 1].name } : { items };
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
				return this.readStore(async (x) => {
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
		if (snap) {
			// Least recently used first: a Map iterates in insertion order, so a hit moves to the end.
			this.resolveCache.delete(cacheKey);
			this.resolveCache.set(cacheKey, snap);
			return snap;
		}
		snap = await this.loadSnapshot(this.driver, p.tenant, name, environment, selector);
		// The generation is re-checked: a commit seen by another call while this one read would have
		// cleared the cache, and these rows may predate it.
		if (generation !== null && generation === this.cacheGeneration) {
			// Full: the least recently used entry goes (clearing it all made every call after a
			// sweep over more values than fit a miss, 2.5x slower over 100,000 secrets than 1,000).
			if (this.resolveCache.size >= this.resolveCacheEntries)
				this.resolveCache.delete(this.resolveCache.keys().next().value!);
			this.resolveCache.set(cacheKey, snap);
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
				row: { name: row.name, type: row.type, previous_window_days: row.previous_window_days },
				line: { environment: line.environment, previous_since: line.previous_since },
				v: {
					version: v.version,
					dek_id: v.dek_id,
					expires_at: v.expires_at,
					not_before: v.not_before,
				},
				hosts: JSON.parse(row.allowed_hosts) as string[],
				consumers: JSON.parse(row.allowed_consumers) as string[],
				...compactSlot(
					valueAad({ tenant, secretId: row.id, environment: line.environment, version: v.version }),
					v,
				),
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
		if (!v && version !== null) {
			// Version rows are never deleted one by one (retention erases the value and keeps the
			// row): one the sealed line names but that is gone was removed behind the store's back.
			throw tamperedError(`version ${version} of secret "${row.name}" in ${line.environment}`);
		}
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
		row: SnapshotSecret,
		line: SnapshotLine,
		v: SnapshotVersion,
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

	/**
	 * Current values older than their secret's rotation interval: AUTOMATIC ones for the rotation
	 * workflow to rotate (`action: 'rotate'`), MANUAL ones as reminders for a person (`action: 'remind'`).
	 * ON_DEMAND secrets are never due.
	 */
	async dueForRotation(caller: Caller, input: schema.DueInput = {}): Promise<DueItem[]> {
		const i = schema.parseInput(schema.dueInput, input);
		return this.op(caller, { action: 'list', read: true }, async (p) => {
			requireOperation(p, 'dueForRotation', 'list secrets due for rotation');
			if (i.environment !== undefined) requireEnvironment(p, i.environment);
			return this.dueItems(await this.visibleLines(p, i.environment)).filter(
				(d) => i.rotationPolicy === undefined || d.rotationPolicy === i.rotationPolicy,
			);
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
			const dueAt = rotationDueAt(
				{ policy: secret.rotation_policy, intervalDays: secret.rotation_interval_days },
				since,
			);
			if (dueAt === null || dueAt > nowMs) continue;
			out.push({
				name: secret.name,
				type: secret.type,
				environment: line.environment,
				rotationPolicy: secret.rotation_policy,
				action: ROTATION_ACTIONS[secret.rotation_policy]!,
				rotationIntervalDays: secret.rotation_interval_days!,
				currentSince: since!,
				dueAt: new Date(dueAt).toISOString(),
				overdueDays: Math.floor((nowMs - dueAt) / DAY_MS),
			});
		}
		return out.sort((a, b) => a.dueAt.localeCompare(b.dueAt) || a.name.localeCompare(b.name));
	}

	async stats(caller: Caller): Promise<Stats> {
		return this.op(caller, { action: 'read', read: true }, async (p) => {
			requireOperation(p, 'stats', 'read statistics');
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
			const due = this.dueItems(rows);
			return {
				secrets: live.length,
				deleted: all.filter((s) => s.deleted_at && secretAllowed(p, s.name)).length,
				byType,
				byEnvironment,
				dueForRotation: due.filter((d) => d.action === 'rotate').length,
				remindersDue: due.filter((d) => d.action === 'remind').length,
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
			await this.ingestBeforeRead();
			return this.readStore(async (x) => {
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

	/**
	 * Checks the hash chain from the genesis or the latest archive checkpoint to the sealed head. With
	 * `checkpoint` (a statement from `auditCheckpoint`, kept by an auditor outside the store) it also
	 * checks that the chain still holds that event: a rolled-back or rewritten chain does not.
	 */
	async verifyAudit(
		caller: Caller,
		opts: { checkpoint?: CheckpointStatement } = {},
	): Promise<VerifyResult & { checkpoint?: { seq: number; found: 'in-store' | 'archived' } }> {
		return this.op(caller, { action: 'audit.read', read: true }, async (p) => {
			requireOperation(p, 'verifyAudit', 'verify the audit trail');
			await this.ingestBeforeRead();
			return this.readStore(async (x) => {
				const keyFor = (id: string) => loadDataKey(x, this.keys.keyring, p.tenant, id);
				const result = await verifyChain(x, p.tenant, keyFor);
				const anchor = opts.checkpoint;
				if (!result.ok || !anchor) return result;
				const broken = (problem: string) => ({
					...result,
					ok: false,
					brokenAt: { seq: anchor.seq, id: null, problem },
				});
				if (anchor.tenant !== p.tenant)
					return broken(`the checkpoint is about tenant "${anchor.tenant}", not this one`);
				if (
					!statementSigned(anchor) ||
					!sameKey(await loadVerifyKey(x, this.keys.keyring, p.tenant, anchor.kid), anchor)
				)
					return broken(
						"the checkpoint is not signed by one of the tenant's signing keys (it was altered, or the store's keys were replaced)",
					);
				const archived = result.archivedThrough ?? 0;
				const end = archived + result.events;
				if (anchor.seq > end)
					return broken(
						`the checkpoint of ${anchor.time} vouches for event ${anchor.seq}, but the chain now ends at event ${end}: ` +
							'events were removed and the head rolled back (or the store was restored from an older backup)',
					);
				let hash: string | undefined;
				if (anchor.seq > archived)
					hash = (await auditRepo.range(x, p.tenant, anchor.seq - 1, 1))[0]?.hash;
				else hash = (await auditCheckpoints.get(x, p.tenant, anchor.seq))?.hash;
				if (hash === undefined)
					return { ...result, checkpoint: { seq: anchor.seq, found: 'archived' } };
				if (hash !== anchor.hash)
					return broken(
						`event ${anchor.seq} is not the event the checkpoint of ${anchor.time} vouches for: the chain was rewritten`,
					);
				return { ...result, checkpoint: { seq: anchor.seq, found: 'in-store' } };
			});
		});
	}

	/**
	 * A statement of the chain's last event signed with the tenant's signing key, for an auditor to
	 * keep outside the store (see audit-archive.ts). Refused when the head's seal does not hold or it
	 * does not name the last stored event (checked in constant time; `verify` walks the chain).
	 */
	async auditCheckpoint(caller: Caller): Promise<CheckpointStatement> {
		return this.op(caller, { action: 'audit.read', read: true }, async (p) => {
			requireOperation(p, 'auditCheckpoint', 'sign an audit checkpoint');
			await this.ingestJournal();
			const sign = async (x: SqlExecutor, lock: boolean) => {
				const head = await sealedHead(
					x,
					p.tenant,
					(id) => loadDataKey(x, this.keys.keyring, p.tenant, id),
					lock,
				);
				return signStatement(await loadSigningKey(x, this.keys.keyring, p.tenant), {
					tenant: p.tenant,
					...head,
					time: this.iso(),
				});
			};
			// The head and the last event are read together: outside a transaction, an event chained
			// by another connection between the two reads would look like a broken head.
			if (this.driver.readOnlyReason) return this.readStore((x) => sign(x, false));
			return this.driver.transaction((tx) => sign(tx, this.lockHead), 'process', {
				changesSecrets: false,
			});
		});
	}

	/**
	 * Moves the tenant's oldest audit events (every event before the first one at or after `before`)
	 * to the file `out`, then removes them from the store. The file is complete and fsynced before a
	 * single event is removed, and the removal records a sealed checkpoint of the last archived event
	 * from which `verify` then starts. Stopped at any point, it loses nothing; run again, it completes.
	 */
	async archiveAudit(
		caller: Caller,
		input: { before: string; out: string },
	): Promise<{
		archived: number;
		fromSeq?: number;
		throughSeq?: number;
		file?: string;
		sha256?: string;
	}> {
		const before = Date.parse(input.before);
		if (Number.isNaN(before))
			throw new SecretsError(
				'INVALID_INPUT',
				`Invalid input: before: "${input.before}" is not a date; use an ISO date such as 2026-01-01.`,
			);
		if (typeof input.out !== 'string' || input.out.trim() === '')
			throw new SecretsError(
				'INVALID_INPUT',
				'Invalid input: out: name the archive file to write.',
			);
		const out = resolvePath(input.out);
		return this.op(caller, { action: 'audit.archive' }, async (p) => {
			requireOperation(p, 'archiveAudit', 'archive the audit trail');
			if (isLimited(p))
				throw new Denial(
					'This access token may not archive the audit trail: that removes events about every secret, ' +
						'and the token is limited to some. Use an admin token without limits.',
					'audit.archive with a limited token',
				);
			await this.ingestJournal();
			// A prune cut short by a crash is finished first.
			await this.pruneArchived(p.tenant);
			const keyFor = (x: SqlExecutor) => (id: string) =>
				loadDataKey(x, this.keys.keyring, p.tenant, id);
			const verified = await verifyChain(this.driver, p.tenant, keyFor(this.driver));
			if (!verified.ok) throw brokenTrail(verified);
			const previous = await auditCheckpoints.latest(this.driver, p.tenant);
			const fromSeq = previous ? Number(previous.seq) + 1 : 1;
			const prevHash = previous ? previous.hash : GENESIS_HASH;
			const stop = await auditCheckpoints.firstAtOrAfter(
				this.driver,
				p.tenant,
				fromSeq,
				new Date(before).toISOString(),
			);
			const head = (await auditRepo.head(this.driver, p.tenant, false))!;
			const throughSeq = stop === null ? Number(head.seq) : stop - 1;
			if (throughSeq < fromSeq) return { archived: 0 };
			checkOutputFree(out, p.tenant, fromSeq);
			const [last] = await auditRepo.range(this.driver, p.tenant, throughSeq - 1, 1);
			const statement = signStatement(
				await loadSigningKey(this.driver, this.keys.keyring, p.tenant),
				{
					tenant: p.tenant,
					seq: throughSeq,
					hash: last.hash,
					time: this.iso(),
				},
			);
			const driver = this.driver;
			const sha256 = await writeArchive(
				out,
				{
					type: ARCHIVE_TYPE,
					tenant: p.tenant,
					fromSeq,
					throughSeq,
					prevHash,
					count: throughSeq - fromSeq + 1,
					createdAt: this.iso(),
				},
				async function* () {
					for (let after = fromSeq - 1; after < throughSeq; ) {
						const batch = (await auditRepo.range(driver, p.tenant, after, 2000)).filter(
							(e) => e.seq <= throughSeq,
						);
						if (batch.length === 0) break;
						yield batch;
						after = batch[batch.length - 1].seq;
					}
				},
				statement,
			);
			await this.driver.transaction(async (tx) => {
				const now = await auditCheckpoints.latest(tx, p.tenant);
				const [still] = await auditRepo.range(tx, p.tenant, throughSeq - 1, 1);
				if (Number(now?.seq ?? 0) !== fromSeq - 1 || still?.hash !== last.hash)
					throw new SecretsError(
						'VERSION_CONFLICT',
						`Another archive of tenant "${p.tenant}" ran at the same time; nothing was removed. ${out} ` +
							'is not needed (its events are still in the store or in the other archive); run again.',
					);
				const key = await activeDataKey(tx, this.keys.keyring, p.tenant);
				await auditCheckpoints.insert(tx, {
					tenant: p.tenant,
					seq: throughSeq,
					hash: last.hash,
					prev_seq: fromSeq - 1,
					archived_at: this.iso(),
					archive_file: out,
					archive_sha256: sha256,
					...sealCheckpoint(key, p.tenant, throughSeq, last.hash, fromSeq - 1),
				});
				await this.audit(tx, p.tenant, {
					actor: p.subject,
					tokenId: p.jti,
					action: 'audit.archive',
					outcome: 'success',
					reason: `events ${fromSeq}-${throughSeq} archived to ${out} (sha256 ${sha256})`,
					context: caller.context,
				});
				faultPoint('audit.archive.before-commit');
			});
			faultPoint('audit.archive.committed');
			await this.pruneArchived(p.tenant);
			return { archived: throughSeq - fromSeq + 1, fromSeq, throughSeq, file: out, sha256 };
		});
	}

	/** Removes archived events (at or before the latest checkpoint) in bounded transactions. */
	private async pruneArchived(tenant: string): Promise<void> {
		const checkpoint = await auditCheckpoints.latest(this.driver, tenant);
		if (!checkpoint) return;
		for (;;) {
			const { changes } = await this.driver.transaction(
				(tx) => auditCheckpoints.pruneBatch(tx, tenant, Number(checkpoint.seq), 10_000),
				'process',
				{ changesSecrets: false },
			);
			if (changes === 0) return;
			faultPoint('audit.archive.pruned-batch');
		}
	}

	/**
	 * Checks an archive file on its own (links, hashes, signed closing statement) and against the
	 * store: signed with the tenant's key, and its first and last events are the store's checkpoints.
	 */
	async verifyArchive(
		caller: Caller,
		file: string,
	): Promise<{
		ok: boolean;
		events: number;
		fromSeq?: number;
		throughSeq?: number;
		problem?: string;
	}> {
		return this.op(caller, { action: 'audit.read', read: true }, async (p) => {
			requireOperation(p, 'verifyAudit', 'verify the audit trail');
			let text: string;
			try {
				text = readFileSync(file, 'utf8');
			} catch (err) {
				throw new SecretsError(
					'INVALID_INPUT',
					`Cannot read the archive ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}.`,
				);
			}
			const c = checkArchive(text);
			const range = c.header ? { fromSeq: c.header.fromSeq, throughSeq: c.header.throughSeq } : {};
			if (!c.ok) return { ok: false, events: c.events, ...range, problem: c.problem };
			const h = c.header!;
			const st = c.statement!;
			const fail = (problem: string) => ({ ok: false, events: c.events, ...range, problem });
			if (h.tenant !== p.tenant)
				return fail(`the archive is of tenant "${h.tenant}", not this one`);
			return this.readStore(async (x) => {
				if (!sameKey(await loadVerifyKey(x, this.keys.keyring, p.tenant, st.kid), st))
					return fail("the archive is not signed by one of the tenant's signing keys");
				const end = await auditCheckpoints.get(x, p.tenant, h.throughSeq);
				if (!end || end.hash !== st.hash)
					return fail(
						`the store has no checkpoint of event ${h.throughSeq} with this hash: this archive's events were not the ones removed from the store`,
					);
				if (
					h.fromSeq === 1
						? h.prevHash !== GENESIS_HASH
						: (await auditCheckpoints.get(x, p.tenant, h.fromSeq - 1))?.hash !== h.prevHash
				)
					return fail(
						`the archive's first event does not link to the store's checkpoint of event ${h.fromSeq - 1}`,
					);
				return { ok: true, events: c.events, ...range };
			});
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
			return this.readStore(async (x) =>
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
			faultPoint('rewrap.before-commit');
			return all.length;
		});
		faultPoint('rewrap.committed');
		this.keys = { master: next, masterKeyId: nextId, keyring: new Keyring(next, nextId) };
		return count;
	}

	/**
	 * Whether another run's lease on a tenant's re-encryption still holds: its process is alive (when
	 * it ran on this host) and it made progress within LEASE_STALE_MS. A killed run's lease does not
	 * hold, so running the command again carries on where it stopped.
	 */
	private leaseHolds(lease: RotationLeaseRow): boolean {
		const [host, pid] = lease.holder.split('|');
		if (host === hostname() && Number(pid) !== process.pid && processGone(Number(pid)))
			return false;
		return this.now().getTime() - Date.parse(lease.heartbeat_at) < LEASE_STALE_MS;
	}

	private rotationInProgress(tenant: string, lease: RotationLeaseRow): SecretsError {
		return new SecretsError(
			'ROTATION_IN_PROGRESS',
			`A re-encryption of tenant "${tenant}" started by ${lease.actor} at ${lease.started_at} is still running ` +
				`(last progress at ${lease.heartbeat_at}). Nothing was changed. Wait for it to finish (its key.rotate ` +
				'audit event says when); run this again only if you want yet another new data key.',
			{ details: { startedAt: lease.started_at, lastProgressAt: lease.heartbeat_at } },
		);
	}

	/** Inside each step's transaction: this run still holds the lease (and says it is alive). */
	private async holdLease(tx: SqlExecutor, tenant: string, runId: string): Promise<void> {
		const lease = await rotationLeases.get(tx, tenant);
		if (!lease || lease.run_id !== runId) {
			throw new SecretsError(
				'ROTATION_IN_PROGRESS',
				`The re-encryption of tenant "${tenant}" was taken over by another run (it stopped making progress ` +
					'for too long). Nothing is lost: the other run finishes it.',
			);
		}
		await rotationLeases.heartbeat(tx, tenant, runId, this.iso());
	}

	/**
	 * Re-encrypts every value of a tenant under a new data key, re-seals every sealed row with it, and
	 * deletes the old keys once no row needs them. One run per tenant at a time across all processes
	 * (a lease row, taken and checked inside the store's write lock): a second caller gets
	 * ROTATION_IN_PROGRESS and changes nothing, so a client that retries after a timeout is safe.
	 * Each batch is its own short transaction, so other writers and readers are never held for long;
	 * a run killed part-way is carried on by the next one, under the key the first one created.
	 */
	private async reencryptTenant(
		p: { subject: string; jti: string | null },
		tenant: string,
		batchSize: number,
		onProgress?: (p: ReencryptProgress) => void,
	): Promise<number> {
		const keyring = this.keys.keyring;
		const runId = randomUUID();
		// Looked at before the write lock too: a refused retry must not queue behind the running one.
		const current = await rotationLeases.get(this.driver, tenant);
		if (current && this.leaseHolds(current)) throw this.rotationInProgress(tenant, current);
		const target = await this.driver.transaction(async (tx) => {
			const lease = await rotationLeases.get(tx, tenant);
			if (lease && this.leaseHolds(lease)) throw this.rotationInProgress(tenant, lease);
			const now = this.iso();
			await rotationLeases.take(tx, {
				tenant,
				run_id: runId,
				holder: `${hostname()}|${process.pid}|${runId}`,
				actor: p.subject,
				started_at: now,
				heartbeat_at: now,
			});
			// A 'retiring' key means an earlier run stopped part-way: carry on under the key it created.
			if ((await dataKeys.retiring(tx, tenant)).length === 0) {
				await this.requireCurrentMasterKey(tx);
				await dataKeys.retireActive(tx, tenant);
				const { wrapped } = keyring.create(tenant);
				await dataKeys.insert(tx, wrapped, now);
			}
			return (await dataKeys.active(tx, tenant))!;
		});
		faultPoint('reencrypt.started');
		try {
			return await this.reencryptUnderLease(p, tenant, runId, keyring.unwrap(target), {
				batchSize,
				onProgress,
			});
		} catch (err) {
			// Give the lease back at once (a killed process's lease lapses by itself).
			await this.driver
				.transaction((tx) => rotationLeases.release(tx, tenant, runId))
				.catch(() => undefined);
			throw err;
		}
	}

	private async reencryptUnderLease(
		p: { subject: string; jti: string | null },
		tenant: string,
		runId: string,
		to: DataKey,
		opts: { batchSize: number; onProgress?: (p: ReencryptProgress) => void },
	): Promise<number> {
		const keyring = this.keys.keyring;
		const total = await versions.countNotUnder(this.driver, tenant, to.id);
		let done = 0;
		opts.onProgress?.({ tenant, done, total });
		for (;;) {
			const moved = await this.driver.transaction(async (tx) => {
				await this.holdLease(tx, tenant, runId);
				const batch = await versions.notUnder(tx, tenant, to.id, opts.batchSize);
				for (const v of batch) {
					if (v.ciphertext === null) {
						// Destroyed by retention: nothing to decrypt, but its seal moves to the new key.
						await versions.save(tx, { ...v, dek_id: to.id });
						continue;
					}
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
					await versions.save(tx, { ...v, dek_id: to.id, ...enc });
				}
				return batch.length;
			});
			if (moved === 0) break;
			faultPoint('reencrypt.batch');
			done += moved;
			opts.onProgress?.({ tenant, done, total });
		}
		for (const table of ['secrets', 'value_lines', 'tokens'] as const) {
			for (;;) {
				const moved = await this.driver.transaction(async (tx) => {
					await this.holdLease(tx, tenant, runId);
					return seals.resealBatch(tx, table, tenant, to.id, opts.batchSize);
				});
				if (moved === 0) break;
				faultPoint('reencrypt.reseal');
			}
		}
		let kept = 0;
		await this.driver.transaction(async (tx) => {
			await this.holdLease(tx, tenant, runId);
			// Journal records sealed under the old keys must be chained before those keys are gone.
			if (this.journal) await this.ingestInto(tx);
			const retiring = await dataKeys.retiring(tx, tenant);
			for (const old of retiring) await resealSigningKeys(tx, keyring.unwrap(old), to);
			await resealHead(tx, tenant, to);
			await resealCheckpoints(tx, tenant, to, (id) => loadDataKey(tx, keyring, tenant, id));
			for (const old of retiring) {
				// Never a key some row still needs: keep it (retiring) for the next run to finish.
				if ((await seals.references(tx, tenant, old.id)) === 0)
					await dataKeys.remove(tx, tenant, old.id);
				else kept++;
			}
			await rotationLeases.release(tx, tenant, runId);
			await this.audit(tx, tenant, {
				actor: p.subject,
				tokenId: p.jti,
				action: 'key.rotate',
				outcome: 'success',
				reason:
					`${done} values re-encrypted under a new data key` +
					(kept > 0 ? `; ${kept} old data keys kept because rows still need them` : ''),
			});
			faultPoint('reencrypt.before-commit');
		});
		faultPoint('reencrypt.committed');
		return done;
	}

	/**
	 * A new data key must be wrapped by the store's current master key: a process still running with
	 * a key another process has since retired would otherwise wrap one that nobody can open.
	 */
	private async requireCurrentMasterKey(tx: SqlExecutor): Promise<void> {
		const active = (await masterKeys.all(tx)).find((r) => r.state === 'active');
		if (active && active.id !== this.keys.masterKeyId) {
			throw new SecretsError(
				'WRONG_MASTER_KEY',
				'The master key was rotated by another process since this one started. Nothing was changed; ' +
					'restart this process with the new master key.',
			);
		}
	}
}
