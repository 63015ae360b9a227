/**
 * Audit records of resolutions on PostgreSQL: appended to `audit_pending` in one statement that also
 * reads the store's change counter, and kept only where the counter still equals the one the record's
 * resolution read its (cached) rows under. No per-tenant row is touched, so appends never wait for
 * one another; they are chained later, in batches, by whichever process holds the ingest lock
 * (service/audit-writer.ts).
 *
 * Concurrent appends of one process travel together: while a statement is out, the next records wait
 * and leave together in the next one (group commit), so 32 concurrent resolutions cost a few round
 * trips, not 32 commits.
 */
import type { Pool } from 'pg';

/**
 * One statement: the records are inserted only if the counter, read in the statement's own snapshot,
 * still equals the one they were prepared under; a commit acknowledged before the statement began is
 * seen. The single-record form is the one a lone resolution sends.
 */
const APPEND_ONE = {
	name: 'n8ns_audit_append1',
	text: 'INSERT INTO audit_pending (record) SELECT $1::text FROM store_changes WHERE id = 1 AND counter = $2',
};
const APPEND_MANY = {
	name: 'n8ns_audit_append',
	text: 'INSERT INTO audit_pending (record) SELECT unnest($1::text[]) FROM store_changes WHERE id = 1 AND counter = $2',
};
const READ_COUNTER = {
	name: 'n8ns_audit_counter',
	text: 'SELECT counter FROM store_changes WHERE id = 1',
};

/** Most records one statement carries; more wait for the next. */
const MAX_BATCH = 512;
/** Statements one process has out at once: enough to keep the pool busy, few enough to group. */
const MAX_IN_FLIGHT = 2;

interface Waiting {
	record: string;
	generation: string;
	done: (kept: boolean) => void;
	failed: (err: unknown) => void;
}

export class AuditAppends {
	private queue: Waiting[] = [];
	private inFlight = 0;
	/** The newest change counter any statement of this process has seen. */
	private known: number | null = null;

	constructor(
		private readonly pool: Pool,
		private readonly failure: (err: unknown) => unknown,
	) {}

	/** The newest change counter this process has seen, without asking the database. */
	get knownCounter(): string | null {
		return this.known === null ? null : String(this.known);
	}

	/** Records a counter read elsewhere (a commit of this process, a fresh read): it only moves forward. */
	saw(counter: number | string | null | undefined): void {
		if (counter === null || counter === undefined) return;
		const n = Number(counter);
		if (this.known === null || n > this.known) this.known = n;
	}

	/**
	 * Appends `record`, committed (the server has it) when this resolves true; false, with nothing
	 * written, when the store changed since `generation` (the caller re-reads and tries again).
	 */
	append(record: string, generation: string): Promise<boolean> {
		return new Promise<boolean>((done, failed) => {
			this.queue.push({ record, generation, done, failed });
			this.pump();
		});
	}

	private pump(): void {
		while (this.inFlight < MAX_IN_FLIGHT && this.queue.length > 0) {
			const batch = this.queue.splice(0, MAX_BATCH);
			this.inFlight++;
			void this.send(batch).finally(() => {
				this.inFlight--;
				this.pump();
			});
		}
	}

	private async send(batch: Waiting[]): Promise<void> {
		// One statement per generation the records were prepared under (almost always one).
		const groups = new Map<string, Waiting[]>();
		for (const w of batch) {
			const group = groups.get(w.generation);
			if (group) group.push(w);
			else groups.set(w.generation, [w]);
		}
		for (const [generation, group] of groups) {
			try {
				const records = group.map((w) => w.record);
				const result = await this.pool.query(
					records.length === 1
						? { ...APPEND_ONE, values: [records[0], generation] }
						: { ...APPEND_MANY, values: [records, generation] },
				);
				const kept = result.rowCount === records.length;
				if (kept) this.saw(generation);
				// Refused: the store changed. Learn its counter, so the calls run again on fresh rows.
				else this.saw((await this.pool.query<{ counter: number }>(READ_COUNTER)).rows[0]?.counter);
				for (const w of group) w.done(kept);
			} catch (err) {
				const e = this.failure(err);
				for (const w of group) w.failed(e);
			}
		}
	}
}
