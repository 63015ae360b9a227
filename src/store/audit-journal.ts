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
 * Each record is sealed with an HMAC under the tenant's audit key, so a record edited in the file before
 * it is ingested is caught at ingest (and recorded as an integrity failure, never silently dropped).
 */
import { randomUUID } from 'node:crypto';
import {
	closeSync,
	fdatasyncSync,
	fstatSync,
	mkdirSync,
	openSync,
	readdirSync,
	readSync,
	unlinkSync,
	writeSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

/** Start a new file once this one has been ingested and grown past this size. */
const ROLL_BYTES = 4 * 1024 * 1024;
const NEWLINE = 0x0a;

export interface JournalChunk {
	file: string;
	/** Complete lines from the requested offset; a torn last line (killed mid-write) is left out. */
	lines: string[];
	/** The offset just past the last complete line. */
	end: number;
	size: number;
}

export class AuditJournal {
	private fd: number | null = null;
	private file: string | null = null;
	private written = 0;
	/** Bytes appended by this process that no ingest has covered yet, as far as this process knows. */
	pending = 0;

	constructor(
		readonly dir: string,
		private readonly sync: boolean,
	) {}

	private open(): number {
		if (this.fd === null) {
			mkdirSync(this.dir, { recursive: true, mode: 0o700 });
			// host-pid-random: unique, and names a local process whose liveness can be checked.
			this.file = `${hostname()}-${process.pid}-${randomUUID()}.jsonl`;
			this.fd = openSync(join(this.dir, this.file), 'a', 0o600);
			this.written = 0;
		}
		return this.fd;
	}

	/** Appends one record; throws (and the operation fails) if it cannot be written. */
	append(line: string): void {
		const fd = this.open();
		const buf = Buffer.from(`${line}\n`, 'utf8');
		let off = 0;
		while (off < buf.length) off += writeSync(fd, buf, off);
		if (this.sync) fdatasyncSync(fd);
		this.written += buf.length;
		this.pending++;
	}

	/** The file this process writes to, if any. */
	get ownFile(): string | null {
		return this.file;
	}

	/** After a full ingest, a large own file is closed so the next append starts a fresh one. */
	rollIfIngested(ingestedEnd: number): void {
		if (this.fd !== null && this.written >= ROLL_BYTES && ingestedEnd >= this.written) {
			closeSync(this.fd);
			unlinkSync(join(this.dir, this.file!));
			this.fd = null;
			this.file = null;
		}
	}

	files(): string[] {
		try {
			return readdirSync(this.dir).filter((f) => f.endsWith('.jsonl'));
		} catch (err) {
			if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
			throw err;
		}
	}

	read(file: string, offset: number): JournalChunk {
		let fd: number;
		try {
			fd = openSync(join(this.dir, file), 'r');
		} catch (err) {
			if ((err as NodeJS.ErrnoException).code === 'ENOENT')
				return { file, lines: [], end: offset, size: offset };
			throw err;
		}
		try {
			const size = fstatSync(fd).size;
			if (size <= offset) return { file, lines: [], end: offset, size };
			const buf = Buffer.alloc(size - offset);
			let got = 0;
			while (got < buf.length) {
				const n = readSync(fd, buf, got, buf.length - got, offset + got);
				if (n === 0) break;
				got += n;
			}
			const lastNewline = buf.lastIndexOf(NEWLINE, got - 1);
			if (lastNewline < 0) return { file, lines: [], end: offset, size };
			const lines = buf.subarray(0, lastNewline).toString('utf8').split('\n');
			return { file, lines, end: offset + lastNewline + 1, size };
		} finally {
			closeSync(fd);
		}
	}

	/** True when the file belongs to a process on this host that is no longer running. */
	isOrphan(file: string): boolean {
		if (file === this.file) return false;
		const m = /^(.*)-(\d+)-[0-9a-f-]{36}\.jsonl$/.exec(file);
		if (!m || m[1] !== hostname()) return false;
		try {
			process.kill(Number(m[2]), 0);
			return false;
		} catch (err) {
			return (err as NodeJS.ErrnoException).code === 'ESRCH';
		}
	}

	remove(file: string): void {
		try {
			unlinkSync(join(this.dir, file));
		} catch (err) {
			if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
		}
	}

	close(): void {
		if (this.fd !== null) closeSync(this.fd);
		this.fd = null;
	}
}
