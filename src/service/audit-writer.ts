/**
 * Writes audit events: chained inside an operation's own transaction, or, for a resolution, appended
 * to the journal (SQLite: one write, durable against a killed process) or to the pending table
 * (PostgreSQL: one statement, which also checks the store's change counter), and chained shortly
 * after by whichever process ingests next. Either way an operation whose event cannot be written does
 * not happen.
 */
import type { AuditEvent } from '../core/model';
import { faultPoint } from '../core/fault';
import type { DataKey, Keyring } from '../crypto/keyring';
import { AuditJournal } from '../store/audit-journal';
import { journals, tenants } from '../store/repository';
import type { AuditAppends, SqlDriver, SqlExecutor } from '../store/sql';
import { isStorageFault } from '../store/sqlite/storage-faults';
import {
	type AuditInput,
	type IngestResult,
	chainEvent,
	ingestJournal,
	sealJournalRecord,
	unchainedEvent,
} from './audit-chain';
import { ingestPending } from './chain/pending';
import { StaleRead } from './stale';
import { activeDataKey, loadDataKey } from './store-keys';

/** Journaled audit records are chained within this delay, or sooner by any write or audit read. */
const INGEST_DELAY_MS = 200;

const AUDIT_ONLY = { changesSecrets: false } as const;

export class AuditWriter {
	/** On PostgreSQL the chain head row is locked while chaining; SQLite's write lock covers it. */
	readonly lockHead: boolean;
	private readonly journal: AuditJournal | null;
	/** PostgreSQL: resolutions' records go to the pending table, checked against the change counter. */
	private readonly appends: AuditAppends | null;
	private ingestTimer: NodeJS.Timeout | undefined;
	private readonly onBackgroundError: (err: unknown) => void;
	/** Active data key per tenant for sealing journal records; re-read whenever the caches reset. */
	private readonly activeKeys = new Map<string, DataKey>();

	constructor(
		private readonly driver: SqlDriver,
		private readonly keyring: () => Keyring,
		private readonly now: () => Date,
		options: { durability?: 'full' | 'process'; onBackgroundError?: (err: unknown) => void },
	) {
		this.lockHead = driver.dialect === 'postgres';
		this.journal = driver.journalDir
			? new AuditJournal(driver.journalDir, options.durability === 'full')
			: null;
		this.appends = driver.auditAppends ?? null;
		this.onBackgroundError = options.onBackgroundError ?? (() => undefined);
	}

	clear(): void {
		this.activeKeys.clear();
	}

	/**
	 * Chains an event inside the caller's write transaction, after any journaled events, so the chain
	 * keeps the order in which things happened as closely as the processes allow.
	 */
	async write(tx: SqlExecutor, tenant: string, input: AuditInput): Promise<AuditEvent> {
		await this.ingestWithin(tx);
		return this.chain(tx, tenant, input);
	}

	private async chain(tx: SqlExecutor, tenant: string, input: AuditInput): Promise<AuditEvent> {
		const keyring = this.keyring();
		return chainEvent(
			tx,
			{
				key: await activeDataKey(tx, keyring, tenant),
				lockHead: this.lockHead,
				sealedWith: (t, id) => loadDataKey(tx, keyring, t, id),
			},
			unchainedEvent(tenant, this.now().toISOString(), input),
		);
	}

	/** An event in a transaction of its own that changes only the audit trail (denials, failures). */
	writeAlone(tenant: string, input: AuditInput): Promise<AuditEvent> {
		// On PostgreSQL it need not wait for the store's exclusive write lock (a burst of refused calls
		// must not hold up the one running), nor for the ingest lock: pending records are chained at
		// their next ingest, not ahead of it.
		return this.driver.transaction(
			(tx) => (this.appends ? this.chain(tx, tenant, input) : this.write(tx, tenant, input)),
			'process',
			AUDIT_ONLY,
		);
	}

	async activeKey(tenant: string): Promise<DataKey> {
		let key = this.activeKeys.get(tenant);
		if (!key) {
			key = await activeDataKey(this.driver, this.keyring(), tenant);
			this.activeKeys.set(tenant, key);
		}
		return key;
	}

	/**
	 * Audits a resolution: appended to the journal (one write, durable against a killed process) when
	 * the store has one, chained directly otherwise. Either way the value is returned only afterwards.
	 */
	async use(tenant: string, input: AuditInput, generation?: string | null): Promise<void> {
		if (this.appends && generation) {
			const key = this.activeKeys.get(tenant) ?? (await this.activeKey(tenant));
			const record = sealJournalRecord(
				key,
				unchainedEvent(tenant, this.now().toISOString(), input),
			);
			// Refused when the store changed since the call's rows were read: nothing was written.
			if (!(await this.appends.append(record, generation))) throw new StaleRead();
			this.scheduleIngest();
			return;
		}
		if (!this.journal) {
			await this.writeAlone(tenant, input);
			return;
		}
		// The cached key is taken without an await: this is every resolution's path.
		const key = this.activeKeys.get(tenant) ?? (await this.activeKey(tenant));
		const record = sealJournalRecord(key, unchainedEvent(tenant, this.now().toISOString(), input));
		// A new file is registered (committed) before its first record; then the append is synchronous,
		// so no ingest can retire the file between the check and the write.
		while (!this.journal.ready)
			await this.journal.ensureFile((file) =>
				this.driver.transaction(
					async (tx) => {
						await journals.register(tx, file);
					},
					'process',
					AUDIT_ONLY,
				),
			);
		this.journal.append(record);
		this.scheduleIngest();
	}

	private scheduleIngest(): void {
		if (this.ingestTimer) return;
		this.ingestTimer = setTimeout(() => {
			this.ingestTimer = undefined;
			this.ingest({ wait: false }).catch((err: unknown) => {
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
	async ingest(opts: { closing?: boolean; wait?: boolean } = {}): Promise<number> {
		if (this.appends) return this.ingestPendingRecords(opts.wait ?? true);
		// A store opened read-only (full disk, read-only mount) keeps its journal for the next writer.
		if (!this.journal || this.driver.readOnlyReason) return 0;
		const journal = this.journal;
		const { chained, finalized } = await this.driver.transaction(
			(tx) => this.ingestInto(tx, { finalize: true, closing: opts.closing }),
			'process',
			AUDIT_ONLY,
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
	async ingestBeforeRead(): Promise<void> {
		try {
			await this.ingest();
		} catch (err) {
			if (!isStorageFault(err)) throw err;
		}
	}

	/**
	 * Inside another operation's transaction: chains journaled or pending records first, so the chain
	 * keeps the order things happened in (and records sealed with a retiring key are chained with it).
	 */
	async ingestWithin(tx: SqlExecutor): Promise<void> {
		if (this.journal) await this.ingestInto(tx);
		for (let more = this.appends !== null; more; )
			more = (await ingestPending(tx, this.pendingOptions(tx, true)))?.more ?? false;
	}

	/**
	 * PostgreSQL: chains the pending records in transactions of PENDING_BATCH. Without `wait`, leaves
	 * them to a process already ingesting, and looks again later (its batch may have missed ours).
	 */
	private async ingestPendingRecords(wait: boolean): Promise<number> {
		if (this.driver.readOnlyReason) return 0;
		let chained = 0;
		for (;;) {
			const batch = await this.driver.transaction(
				(tx) => ingestPending(tx, this.pendingOptions(tx, wait)),
				'process',
				AUDIT_ONLY,
			);
			if (batch === null) {
				this.scheduleIngest();
				return chained;
			}
			chained += batch.chained;
			if (!batch.more) return chained;
		}
	}

	private pendingOptions(tx: SqlExecutor, wait: boolean) {
		const keyring = this.keyring();
		return {
			lockHead: this.lockHead,
			keyFor: (tenant: string, id: string) => loadDataKey(tx, keyring, tenant, id),
			activeKey: (tenant: string) => activeDataKey(tx, keyring, tenant),
			tenants: async () => (await tenants.all(tx)).map((t) => t.id),
			wait,
		};
	}

	/** Without `finalize`, inside another operation's transaction: chains and records offsets only. */
	private ingestInto(
		tx: SqlExecutor,
		opts: { finalize: boolean; closing?: boolean } = { finalize: false },
	): Promise<IngestResult> {
		const keyring = this.keyring();
		return ingestJournal(tx, this.journal!, {
			lockHead: this.lockHead,
			keyFor: (tenant, id) => loadDataKey(tx, keyring, tenant, id),
			activeKey: (tenant) => activeDataKey(tx, keyring, tenant),
			tenants: async () => (await tenants.all(tx)).map((t) => t.id),
			...opts,
		});
	}

	/** Chains what this process journaled; the journal's files are closed. */
	async close(): Promise<void> {
		if (this.ingestTimer) clearTimeout(this.ingestTimer);
		this.ingestTimer = undefined;
		try {
			await this.ingest({ closing: true });
		} catch (err) {
			// A PostgreSQL server that takes only reads keeps its pending records for the next writer.
			if (!this.appends || !isStorageFault(err)) throw err;
		} finally {
			this.journal?.close();
		}
	}
}
