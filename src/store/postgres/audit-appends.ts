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
 * One statement, one snapshot: the counter it compares with is the one it returns, and a commit
 * acknowledged before the statement began is seen by both.
 */
const APPEND = {
	name: 'n8ns_audit_append',
	text: `WITH c AS (SELECT counter FROM store_changes WHERE id = 1),
  ins AS (
    INSERT INTO audit_pending (record)
    SELECT r.record FROM unnest($1::text[], $2::bigint[]) WITH ORDINALITY AS r(record, generation, n), c
    WHERE r.generation = c.counter ORDER BY r.n
  )
SELECT counter FROM c`,
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
		try {
			const result = await this.pool.query<{ counter: number | string }>({
				...APPEND,
				values: [batch.map((w) => w.record), batch.map((w) => w.generation)],
			});
			const counter = result.rows[0]?.counter;
			this.saw(counter);
			const now = String(counter);
			for (const w of batch) w.done(counter !== undefined && w.generation === now);
		} catch (err) {
			const e = this.failure(err);
			for (const w of batch) w.failed(e);
		}
	}
}
