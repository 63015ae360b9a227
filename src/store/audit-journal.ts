/**
 * The audit journal: how a `use` is audited in microseconds without giving up durability.
 *
 * A value is handed out only after its audit record has been appended (one `write`) to this process's
 * journal file; from then on the record survives the process being killed, because the kernel has it.
 * Records are then moved into the hash-chained audit table in batches ("ingested") by whichever process
 * gets there first: its own timer, any write transaction, any read of the audit trail, or the next
 * process to open the store after a crash. The ingest offset of every journal file is stored in the
 * database in the same transaction as the events, so each record is chained exactly once.
 *
 * A file's life, each step durable before the next (see ingestJournal in service/chain/ingest.ts):
 * 1. created, then registered in `audit_journals` (committed) before its first record is acknowledged,
 *    so a registered file that disappears before it was read to the end is noticed;
 * 2. appended to; each ingest stores how far it was read;
 * 3. marked `final` in the ingest transaction that chains its last record (its owner is gone, or it
 *    outgrew the roll size, or its owner is closing);
 * 4. deleted only after that commit; a `final` file is never read again, so a crash between the commit
 *    and the delete neither loses nor repeats a record;
 * 5. its row forgotten by a later ingest.
 *
 * A record that could not be written whole (disk full) is cut off again before the error is returned,
 * so the next record never follows a torn one; if even that fails, the file is never appended to again.
 *
 * Each record is sealed with an HMAC under the tenant's audit key, so a record edited in the file before
 * it is ingested is caught at ingest (and recorded as an integrity failure, never silently dropped).
 */
import { randomUUID } from 'node:crypto';
import {
	closeSync,
	fdatasyncSync,
	fstatSync,
	ftruncateSync,
	mkdirSync,
	openSync,
	readdirSync,
	readSync,
	statSync,
	unlinkSync,
	writeSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

import { processGone } from '../core/processes';

import { SecretsError } from '../core/errors';
import { faultPoint } from '../core/fault';

/**
 * Start a new file once this one has been ingested and grown past this size. Tests lower it with
 * N8N_SECRETS_JOURNAL_ROLL_BYTES to reach the roll path in a few hundred records.
 */
const ROLL_BYTES = 4 * 1024 * 1024;
const NEWLINE = 0x0a;

export interface JournalChunk {
	file: string;
	/** Complete lines from the requested offset; a torn last line (never acknowledged) is left out. */
	lines: string[];
	/** The offset just past the last complete line. */
	end: number;
	size: number;
	/** False when the file is gone. */
	exists: boolean;
}

/** A storage error of the journal folder as the coded error the operator acts on. */
export function journalError(dir: string, err: unknown): unknown {
	const code = (err as NodeJS.ErrnoException).code;
	if (code === 'ENOSPC' || code === 'EDQUOT')
		return new SecretsError(
			'STORE_FULL',
			`The audit journal folder ${dir} is full (no space left on its file system), so this use could not ` +
				'be audited and was refused. Free space on that file system; records already written are kept.',
		);
	if (code === 'EROFS' || code === 'EACCES' || code === 'EPERM')
		return new SecretsError(
			'STORE_READ_ONLY',
			`The audit journal folder ${dir} cannot be written (${code}), so this use could not be audited and ` +
				'was refused. Make the folder writable by the user n8n runs as.',
		);
	return err;
}

/**
 * Files some journal of this process writes to or is creating: several services can be open in one
 * process (one per store connection), and another's file is not an orphan because it has our pid.
 */
const liveFiles = new Set<string>();

export class AuditJournal {
	private fd: number | null = null;
	private file: string | null = null;
	private written = 0;
	private opening: Promise<void> | null = null;
	/** The file being created and registered, not yet written to. */
	private creating: string | null = null;
	/** Files this process stopped writing to (rolled, or a failed write): read to the end, then removed. */
	private readonly retired = new Set<string>();
	private readonly rollBytes: number;
	/** Bytes appended by this process that no ingest has covered yet, as far as this process knows. */
	pending = 0;

	constructor(
		readonly dir: string,
		private readonly sync: boolean,
	) {
		const configured = Number(process.env.N8N_SECRETS_JOURNAL_ROLL_BYTES);
		this.rollBytes = Number.isSafeInteger(configured) && configured > 0 ? configured : ROLL_BYTES;
	}

	/** True when a record can be appended now, without registering a new file first. */
	get ready(): boolean {
		return this.fd !== null;
	}

	/**
	 * Creates a file and has `register` commit it to the database before any record goes in: from then
	 * on, the file disappearing before it is read to the end is a detectable loss. Concurrent callers
	 * share one new file.
	 */
	ensureFile(register: (file: string) => Promise<void>): Promise<void> {
		if (this.fd !== null) return Promise.resolve();
		this.opening ??= this.openRegistered(register).finally(() => {
			this.opening = null;
		});
		return this.opening;
	}

	private async openRegistered(register: (file: string) => Promise<void>): Promise<void> {
		// host-pid-random: unique, and names a local process whose liveness can be checked.
		const file = `${hostname()}-${process.pid}-${randomUUID()}.jsonl`;
		this.creating = file;
		liveFiles.add(file);
		try {
			await this.createRegistered(file, register);
		} catch (err) {
			liveFiles.delete(file);
			throw err;
		} finally {
			this.creating = null;
		}
	}

	private async createRegistered(
		file: string,
		register: (file: string) => Promise<void>,
	): Promise<void> {
		let fd: number;
		try {
			mkdirSync(this.dir, { recursive: true, mode: 0o700 });
			fd = openSync(join(this.dir, file), 'a', 0o600);
		} catch (err) {
			throw journalError(this.dir, err);
		}
		faultPoint('audit.journal.created');
		try {
			await register(file);
		} catch (err) {
			// Not registered, and nothing in it: nobody will miss it.
			closeSync(fd);
			this.remove(file);
			throw err;
		}
		faultPoint('audit.journal.registered');
		this.fd = fd;
		this.file = file;
		this.written = 0;
	}

	/**
	 * Appends one record; throws (and the operation fails) if it cannot be written whole. A partial
	 * record is cut off again, so the file keeps only whole records; if that fails too, the file is
	 * retired and the next record goes to a new one.
	 */
	append(line: string): void {
		if (this.fd === null) throw new Error('AuditJournal.append before ensureFile');
		const fd = this.fd;
		const buf = Buffer.from(`${line}\n`, 'utf8');
		let off = 0;
		try {
			while (off < buf.length) off += writeSync(fd, buf, off);
			if (this.sync) fdatasyncSync(fd);
		} catch (err) {
			if (off > 0 || this.sync) {
				try {
					ftruncateSync(fd, this.written);
				} catch {
					// The torn record stays: never append after it (the reader would take the pair for
					// one record that fails its seal). A new file takes the next record.
					this.retire();
				}
			}
			throw journalError(this.dir, err);
		}
		this.written += buf.length;
		this.pending++;
	}

	/** The file this process writes to, if any. */
	get ownFile(): string | null {
		return this.file;
	}

	/**
	 * Called by an ingest that has just read this process's file to `ingestedEnd`: if nothing was
	 * appended since and the file is large enough (or `force`, at close), stop writing to it and return
	 * true; the caller marks it final in its transaction and removes it after the commit. Synchronous,
	 * so no append can slip in between the check and the switch.
	 */
	detachIfIngested(ingestedEnd: number, force: boolean): boolean {
		if (this.fd === null || ingestedEnd !== this.written) return false;
		if (!force && this.written < this.rollBytes) return false;
		this.retire();
		return true;
	}

	private retire(): void {
		if (this.fd === null) return;
		closeSync(this.fd);
		liveFiles.delete(this.file!);
		this.retired.add(this.file!);
		this.fd = null;
		this.file = null;
		this.written = 0;
	}

	files(): string[] {
		try {
			return readdirSync(this.dir).filter((f) => f.endsWith('.jsonl'));
		} catch (err) {
			if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
			throw err;
		}
	}

	exists(file: string): boolean {
		try {
			statSync(join(this.dir, file));
			return true;
		} catch (err) {
			if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
			throw err;
		}
	}

	read(file: string, offset: number): JournalChunk {
		let fd: number;
		try {
			fd = openSync(join(this.dir, file), 'r');
		} catch (err) {
			if ((err as NodeJS.ErrnoException).code === 'ENOENT')
				return { file, lines: [], end: offset, size: offset, exists: false };
			throw err;
		}
		try {
			const size = fstatSync(fd).size;
			if (size <= offset) return { file, lines: [], end: offset, size, exists: true };
			const buf = Buffer.alloc(size - offset);
			let got = 0;
			while (got < buf.length) {
				const n = readSync(fd, buf, got, buf.length - got, offset + got);
				if (n === 0) break;
				got += n;
			}
			const lastNewline = buf.lastIndexOf(NEWLINE, got - 1);
			if (lastNewline < 0) return { file, lines: [], end: offset, size, exists: true };
			const lines = buf.subarray(0, lastNewline).toString('utf8').split('\n');
			return { file, lines, end: offset + lastNewline + 1, size, exists: true };
		} finally {
			closeSync(fd);
		}
	}

	/**
	 * True when nobody will append to the file again: this process retired it, or it belongs to a
	 * process on this host that is no longer running. Its torn last line, if any, was never
	 * acknowledged (a record is acknowledged only once written whole).
	 */
	isOrphan(file: string): boolean {
		if (this.retired.has(file)) return true;
		if (file === this.file || file === this.creating) return false;
		const m = /^(.*)-(\d+)-[0-9a-f-]{36}\.jsonl$/.exec(file);
		if (!m || m[1] !== hostname()) return false;
		// Our pid but no journal of this process writes to it: an earlier process that had the same
		// pid (a container's process ids repeat after a restart).
		if (Number(m[2]) === process.pid) return !liveFiles.has(file);
		return processGone(Number(m[2]));
	}

	/** Deletes a file whose records are all chained (its `final` mark committed). */
	remove(file: string): void {
		try {
			unlinkSync(join(this.dir, file));
		} catch (err) {
			if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
		}
		this.retired.delete(file);
	}

	close(): void {
		if (this.fd !== null) closeSync(this.fd);
		if (this.file) liveFiles.delete(this.file);
		this.fd = null;
		this.file = null;
	}
}
