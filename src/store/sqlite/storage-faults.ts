/**
 * Storage faults of the SQLite file store, told apart by SQLite's result code and the file system's
 * errno (node:sqlite gives SQLite's extended result code as `errcode`, never the errno behind it, so
 * the file system is asked directly: free space, read-only mount, file and folder permissions) and
 * explained with the fix, naming the files and folders involved.
 */
import { accessSync, constants, statSync, statfsSync } from 'node:fs';
import { basename, dirname } from 'node:path';

import { SecretsError } from '../../core/errors';

/** SQLite's primary result codes (sqlite3.h); the low byte of an extended code. */
export const SQLITE_READONLY = 8;
export const SQLITE_IOERR = 10;
export const SQLITE_FULL = 13;
export const SQLITE_CANTOPEN = 14;

/** Below this much free space an I/O error is the disk being full (SQLite needs 32 KiB for -shm). */
const NEARLY_FULL_BYTES = 1024 * 1024;

/** The primary SQLite result code of an error from node:sqlite, if it is one. */
export function sqlitePrimaryCode(err: unknown): number | undefined {
	const code = (err as { errcode?: unknown } | null)?.errcode;
	return typeof code === 'number' ? code & 0xff : undefined;
}

/** The files SQLite keeps for a WAL-mode database. */
export function storeFiles(location: string): string[] {
	return [location, `${location}-wal`, `${location}-shm`];
}

function errnoOf(err: unknown): string | undefined {
	const code = (err as { code?: unknown } | null)?.code;
	return typeof code === 'string' && /^E[A-Z]+$/.test(code) ? code : undefined;
}

/** The errno of a write-access check, or undefined when the path is writable (or absent). */
function writeDenied(path: string): string | undefined {
	try {
		accessSync(path, constants.W_OK);
		return undefined;
	} catch (err) {
		const code = errnoOf(err);
		return code === 'ENOENT' ? undefined : (code ?? 'EACCES');
	}
}

function freeBytes(dir: string): number | undefined {
	try {
		const s = statfsSync(dir);
		return Number(s.bavail) * Number(s.bsize);
	} catch {
		return undefined;
	}
}

function owner(path: string): string {
	try {
		const s = statSync(path);
		return `mode ${(s.mode & 0o777).toString(8).padStart(4, '0')}, owner uid ${s.uid}`;
	} catch {
		return 'absent';
	}
}

function whoAmI(): string {
	return typeof process.getuid === 'function' ? `uid ${process.getuid()}` : 'this user';
}

const READS_NOTE = 'Reading secrets and the audit trail still works; nothing was changed.';

/** A fault's message without the note that reads still work (for when they do not). */
export function withoutReadsNote(message: string): string {
	return message.endsWith(` ${READS_NOTE}`) ? message.slice(0, -READS_NOTE.length - 1) : message;
}

/** The disk holding the store has no room: free space, then try again. */
export function storeFull(location: string, cause?: unknown): SecretsError {
	const dir = dirname(location);
	const free = freeBytes(dir);
	return new SecretsError(
		'STORE_FULL',
		`The disk holding the secrets store ${location} is full${free === undefined ? '' : ` (${free} bytes free)`}. ` +
			`Free space on it (see \`df -h ${dir}\`), or raise this user's disk quota, then try again. ${READS_NOTE}`,
		{ cause, details: { location, freeBytes: free } },
	);
}

/**
 * Why the store cannot be written, from the file system itself: a read-only mount, a file that is not
 * writable (SQLite gives -wal and -shm the database file's mode, so a 0444 database leaves 0444
 * companions behind that outlive a `chmod` of the database alone), or a folder SQLite cannot create
 * its -wal and -shm files in. Undefined when all of them are writable.
 */
export function writeProblem(location: string, cause?: unknown): SecretsError | undefined {
	const dir = dirname(location);
	if (writeDenied(dir) === 'EROFS' || writeDenied(location) === 'EROFS') {
		return new SecretsError(
			'STORE_READ_ONLY',
			`The secrets store ${location} is on a read-only file system. Remount the file system holding ${dir} ` +
				`read-write (or move the store to a writable disk and point N8N_SECRETS_DB at it). ${READS_NOTE}`,
			{ cause, details: { location, reason: 'read-only file system' } },
		);
	}
	const locked = storeFiles(location).filter((f) => writeDenied(f) !== undefined);
	if (locked.length > 0) {
		return new SecretsError(
			'STORE_READ_ONLY',
			`The secrets store cannot be written by this process (${whoAmI()}): ` +
				`${locked.map((f) => `${basename(f)} (${owner(f)})`).join(', ')} in ${dir} ` +
				`${locked.length === 1 ? 'is' : 'are'} not writable. Give the user that runs n8n write access: ` +
				`chmod 0600 ${locked.join(' ')} (and chown if another user owns ${locked.length === 1 ? 'it' : 'them'}). ` +
				`SQLite gives the -wal and -shm files the database file's mode: when they exist, they need it too. ${READS_NOTE}`,
			{ cause, details: { location, files: locked, reason: 'files not writable' } },
		);
	}
	if (writeDenied(dir) !== undefined) {
		return new SecretsError(
			'STORE_READ_ONLY',
			`The folder ${dir} (${owner(dir)}) is not writable by this process (${whoAmI()}), and SQLite creates ` +
				`${basename(location)}-wal and ${basename(location)}-shm there to write. Give the store's user write ` +
				`access to the folder: chmod 0700 ${dir} (and chown it to the user that runs n8n). ${READS_NOTE}`,
			{ cause, details: { location, reason: 'folder not writable' } },
		);
	}
	return undefined;
}

/**
 * The coded error for a storage fault, from an error of node:sqlite (by its result code) or of node's
 * file system calls (by errno); undefined for anything else (a real I/O error stays what it is).
 */
export function storageFault(location: string, err: unknown): SecretsError | undefined {
	if (err instanceof SecretsError) return undefined;
	const dir = dirname(location);
	const nearlyFull = () => (freeBytes(dir) ?? Infinity) < NEARLY_FULL_BYTES;
	const primary = sqlitePrimaryCode(err);
	if (primary !== undefined) {
		if (primary === SQLITE_FULL) return storeFull(location, err);
		if (primary === SQLITE_READONLY || primary === SQLITE_CANTOPEN) {
			const problem = writeProblem(location, err);
			if (problem) return problem;
			if (nearlyFull()) return storeFull(location, err);
			return primary === SQLITE_READONLY
				? new SecretsError(
						'STORE_READ_ONLY',
						`The secrets store ${location} is read-only (SQLite: ${(err as Error).message}). ` +
							`Check that its files and folder are writable by the user that runs n8n. ${READS_NOTE}`,
						{ cause: err, details: { location } },
					)
				: undefined;
		}
		if (primary === SQLITE_IOERR) {
			// SQLite reports ENOSPC while growing -shm or the WAL as an I/O error: ask the disk.
			if (nearlyFull()) return storeFull(location, err);
			return writeProblem(location, err);
		}
		return undefined;
	}
	switch (errnoOf(err)) {
		case 'ENOSPC':
		case 'EDQUOT':
			return storeFull(location, err);
		case 'EROFS':
		case 'EACCES':
		case 'EPERM':
			return (
				writeProblem(location, err) ??
				new SecretsError(
					'STORE_READ_ONLY',
					`The secrets store ${location} cannot be written (${errnoOf(err)}: ${(err as Error).message}). ` +
						`Check that its files and folder are writable by the user that runs n8n. ${READS_NOTE}`,
					{ cause: err, details: { location } },
				)
			);
		default:
			return undefined;
	}
}

/** A storage fault of the store, or of a file beside it (the audit journal): full or read-only. */
export function isStorageFault(err: unknown): boolean {
	return (
		err instanceof SecretsError && (err.code === 'STORE_FULL' || err.code === 'STORE_READ_ONLY')
	);
}
