/**
 * SecretsService: the backend in this process. It opens the store with the master key and runs every
 * operation of the table (operations.ts) through the runner (runner.ts): validate, verify the token,
 * authorize from the declared permission, act in a transaction, audit from the declaration. The
 * operations themselves live in the capability modules (capabilities/*.ts).
 */
import { SecretsError } from '../core/errors';
import { ALL_ENVIRONMENTS, DEFAULT_RECOVERY_WINDOW_DAYS, type TokenInfo } from '../core/model';
import * as schema from '../core/schemas';
import type { KeyProvider } from '../crypto/master-key';
import { schemaVersion } from '../store/migrations';
import { tenants } from '../store/repository';
import type { SqlDriver } from '../store/sql';
import type { Caller, ReencryptProgress, ResolvedValue, VerifyAuditResult } from './api';
import type { CheckpointStatement } from './audit-archive';
import { IMPLEMENTATIONS } from './capabilities';
import { rotateMasterKey } from './capabilities/keys';
import { issueToken } from './capabilities/tokens';
import { Core, type CoreOptions, MASTER_KEY_HOLDER } from './core';
import { OperationsApi } from './facade';
import type { OperationName } from './operations';
import { Runner } from './runner';
import { type OpenedKeys, createTenant, openKeys } from './store-keys';

export type { Caller, DueItem, ExpiringItem, ReencryptProgress, ResolvedValue, Stats } from './api';

export type ServiceOptions = CoreOptions;

export class SecretsService extends OperationsApi {
	private readonly core: Core;
	private readonly runner: Runner;
	private closed = false;

	private constructor(driver: SqlDriver, keys: OpenedKeys, options: ServiceOptions) {
		super();
		this.core = new Core(driver, keys, options);
		this.runner = new Runner(this.core, IMPLEMENTATIONS);
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
		await service.core.audit.ingestBeforeRead();
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
		const issued = await issueToken(
			service.core,
			{ tenant, subject: MASTER_KEY_HOLDER, jti: null },
			{ subject: opts.subject ?? 'admin', role: 'admin', ttl: opts.ttl ?? '90d' },
			undefined,
		);
		return { service, ...issued, createdStore: !hadStore, createdTenant };
	}

	/** How long a deleted secret stays restorable before maintenance purges it. */
	get recoveryWindowDays(): number {
		return this.core.options.recoveryWindowDays ?? DEFAULT_RECOVERY_WINDOW_DAYS;
	}

	/** Runs one operation of the table by name with its input as one object. */
	run(name: OperationName, caller: Caller, input: unknown): Promise<unknown> {
		return this.runner.run(name, caller, input);
	}

	/** Chains what this process journaled, then closes the store. */
	async close(): Promise<void> {
		if (this.closed) return;
		this.closed = true;
		try {
			await this.core.audit.close();
		} finally {
			await this.core.driver.close();
		}
	}

	/** Chains every journaled audit record of every process; returns how many were chained. */
	ingestJournal(opts: { closing?: boolean } = {}): Promise<number> {
		return this.core.audit.ingest(opts);
	}

	/** Why this store can only be read (full disk, read-only mount, …), or undefined. */
	get readOnlyReason(): SecretsError | undefined {
		return this.core.driver.readOnlyReason;
	}

	/** Whether the store answers (the server's health check); no token, no data. */
	async ping(): Promise<void> {
		if (this.closed) throw new SecretsError('STORE_UNAVAILABLE', 'The secrets store is closed.');
		await this.core.driver.get('SELECT 1 AS ok');
	}

	/**
	 * `POST /secrets/{name}/resolve`: `use`, with the value crossing the network into the caller's own
	 * process (the n8n runtime in remote mode). It needs `secrets:runtime` as well.
	 */
	resolve(caller: Caller, input: schema.ResolveInput): Promise<ResolvedValue> {
		return this.run('resolve', caller, input) as Promise<ResolvedValue>;
	}

	/**
	 * `use` on behalf of the server's relay: the value goes into an outbound request the server itself
	 * sends to `destinationHost`, and never back to the caller (audited as `use`).
	 */
	relayUse(caller: Caller, input: schema.ResolveInput): Promise<ResolvedValue> {
		return this.run('relay', caller, input) as Promise<ResolvedValue>;
	}

	/** Whether the caller may have the server send requests for it in `environment`. */
	async authorizeRelay(caller: Caller, environment: string): Promise<void> {
		await this.run('relay', caller, { environment });
	}

	/** With `checkpoint` (kept by an auditor) it also checks the chain still holds that event. */
	verifyAudit(
		caller: Caller,
		opts: { checkpoint?: CheckpointStatement } = {},
	): Promise<VerifyAuditResult> {
		return this.run('verifyAudit', caller, opts) as Promise<VerifyAuditResult>;
	}

	auditCheckpoint(caller: Caller): Promise<CheckpointStatement> {
		return this.run('auditCheckpoint', caller, {}) as Promise<CheckpointStatement>;
	}

	archiveAudit(
		caller: Caller,
		input: { before: string; out: string },
	): Promise<{
		archived: number;
		fromSeq?: number;
		throughSeq?: number;
		file?: string;
		sha256?: string;
	}> {
		return this.run('archiveAudit', caller, input) as ReturnType<SecretsService['archiveAudit']>;
	}

	verifyArchive(
		caller: Caller,
		file: string,
	): Promise<{
		ok: boolean;
		events: number;
		fromSeq?: number;
		throughSeq?: number;
		problem?: string;
	}> {
		return this.run('verifyAudit', caller, { archive: file }) as ReturnType<
			SecretsService['verifyArchive']
		>;
	}

	/** `POST /keys/rotate`: re-encrypts the caller's tenant under a new data key. */
	rotateDataKeys(
		caller: Caller,
		opts: { batchSize?: number } = {},
	): Promise<{ rewrapped: number; reencrypted: number }> {
		return this.run('rotateDataKeys', caller, { reencrypt: true, ...opts }) as Promise<{
			rewrapped: number;
			reencrypted: number;
		}>;
	}

	/**
	 * Store-wide, and so only for the holder of the master key (the CLI on the store's host, never a
	 * tenant's token): a new master key (re-wraps every data key) and/or every tenant re-encrypted.
	 * Other processes must be restarted with the new key afterwards.
	 */
	rotateMasterKey(opts: {
		newKey?: KeyProvider;
		reencrypt?: boolean;
		batchSize?: number;
		onProgress?: (p: ReencryptProgress) => void;
	}): Promise<{ rewrapped: number; reencrypted: number }> {
		return rotateMasterKey(this.core, opts);
	}
}
