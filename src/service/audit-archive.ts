/**
 * Audit archives and signed checkpoints: what leaves the store and can still be checked on its own.
 *
 * A checkpoint statement says "tenant T's chain had event N with hash H at time X", signed with the
 * tenant's Ed25519 token signing key. An auditor keeps it outside the store: a chain later rolled back
 * (an older head restored, the database restored from a backup) or rewritten no longer contains it,
 * which nothing inside the same database can prove (whoever can write the database can write anything
 * it checks against).
 *
 * An archive file (JSONL) holds a prefix of the chain: a header line, one line per event with its
 * hashes and links, and a checkpoint statement of its last event as the last line. It verifies alone
 * (links, hashes, signature with the public key it carries) and against the store (the key is the
 * tenant's, and a sealed checkpoint row holds the same last event).
 */
import { createHash, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import {
	closeSync,
	existsSync,
	fsyncSync,
	openSync,
	readFileSync,
	renameSync,
	writeSync,
} from 'node:fs';
import { dirname } from 'node:path';

import { SecretsError } from '../core/errors';
import { faultPoint } from '../core/fault';
import type { AuditEvent } from '../core/model';
import { eventHash } from './chain/events';

export const CHECKPOINT_TYPE = 'n8n-secrets/audit-checkpoint/v1';
export const ARCHIVE_TYPE = 'n8n-secrets/audit-archive/v1';

export interface CheckpointStatement {
	type: typeof CHECKPOINT_TYPE;
	tenant: string;
	/** The last event the statement vouches for, and its hash. */
	seq: number;
	hash: string;
	/** When the statement was made. */
	time: string;
	/** The tenant's signing key (its id in the store, and the public key as SPKI PEM). */
	kid: string;
	publicKey: string;
	/** Ed25519 over the fields above, base64. */
	signature: string;
}

export interface ArchiveHeader {
	type: typeof ARCHIVE_TYPE;
	tenant: string;
	fromSeq: number;
	throughSeq: number;
	/** The hash the first event links to: the genesis, or the previous archive's last event. */
	prevHash: string;
	count: number;
	createdAt: string;
}

function signedBytes(s: Omit<CheckpointStatement, 'signature'>): Buffer {
	return Buffer.from(
		JSON.stringify([s.type, s.tenant, s.seq, s.hash, s.time, s.kid, s.publicKey]),
		'utf8',
	);
}

export function signStatement(
	signing: { kid: string; key: KeyObject },
	fields: { tenant: string; seq: number; hash: string; time: string },
): CheckpointStatement {
	const unsigned = {
		type: CHECKPOINT_TYPE,
		...fields,
		kid: signing.kid,
		publicKey: createPublicKey(signing.key).export({ type: 'spki', format: 'pem' }).toString(),
	} as const;
	return {
		...unsigned,
		signature: sign(null, signedBytes(unsigned), signing.key).toString('base64'),
	};
}

/** Parses a statement from its JSON text; INVALID_INPUT when it is not one. */
export function parseStatement(text: string, where: string): CheckpointStatement {
	let s: Partial<CheckpointStatement>;
	try {
		s = JSON.parse(text) as Partial<CheckpointStatement>;
	} catch {
		s = {};
	}
	if (
		s?.type !== CHECKPOINT_TYPE ||
		typeof s.tenant !== 'string' ||
		!Number.isSafeInteger(s.seq) ||
		typeof s.hash !== 'string' ||
		typeof s.time !== 'string' ||
		typeof s.kid !== 'string' ||
		typeof s.publicKey !== 'string' ||
		typeof s.signature !== 'string'
	) {
		throw new SecretsError(
			'INVALID_INPUT',
			`${where} is not an audit checkpoint statement (as printed by \`n8n-secrets audit checkpoint\`).`,
		);
	}
	return s as CheckpointStatement;
}

/** True when the statement is signed by the public key it names. */
export function statementSigned(s: CheckpointStatement): boolean {
	try {
		const { signature, ...unsigned } = s;
		return verify(
			null,
			signedBytes(unsigned),
			createPublicKey(s.publicKey),
			Buffer.from(signature, 'base64'),
		);
	} catch {
		return false;
	}
}

/** Whether `key` (the store's key for the statement's kid) is the key the statement carries. */
export function sameKey(key: KeyObject | undefined, s: CheckpointStatement): boolean {
	if (!key) return false;
	try {
		return createPublicKey(s.publicKey)
			.export({ type: 'spki', format: 'der' })
			.equals(key.export({ type: 'spki', format: 'der' }));
	} catch {
		return false;
	}
}

/** An archive file's content, checked on its own. */
export interface ArchiveCheck {
	ok: boolean;
	problem?: string;
	header?: ArchiveHeader;
	statement?: CheckpointStatement;
	events: number;
}

/** Reads just the header line of an existing file (deciding whether a rerun may replace it). */
export function archiveHeaderOf(path: string): ArchiveHeader | null {
	const text = readFileSync(path, 'utf8');
	const first = text.slice(0, Math.max(0, text.indexOf('\n')));
	try {
		const h = JSON.parse(first) as ArchiveHeader;
		return h?.type === ARCHIVE_TYPE ? h : null;
	} catch {
		return null;
	}
}

/**
 * Checks an archive alone: header, every event's hash and link from the header's `prevHash`, the
 * count, and the last line's statement (same last event, valid signature with the key it carries).
 */
export function checkArchive(text: string): ArchiveCheck {
	const lines = text.split('\n');
	if (lines[lines.length - 1] === '') lines.pop();
	const fail = (problem: string, events = 0, header?: ArchiveHeader): ArchiveCheck => ({
		ok: false,
		problem,
		events,
		header,
	});
	let header: ArchiveHeader;
	try {
		header = JSON.parse(lines[0] ?? '') as ArchiveHeader;
	} catch {
		return fail('the first line is not an audit archive header');
	}
	if (header?.type !== ARCHIVE_TYPE) return fail('the first line is not an audit archive header');
	if (lines.length < 3) return fail('the archive has no events or no closing statement', 0, header);
	let prevHash = header.prevHash;
	let expect = header.fromSeq;
	let events = 0;
	let last: AuditEvent | null = null;
	for (const line of lines.slice(1, -1)) {
		let e: AuditEvent;
		try {
			e = JSON.parse(line) as AuditEvent;
		} catch {
			return fail(`the line after event ${expect - 1} is not an event`, events, header);
		}
		if (e.tenant !== header.tenant || e.seq !== expect)
			return fail(`event ${expect} is missing or out of place`, events, header);
		if (e.prevHash !== prevHash)
			return fail(`event ${e.seq} does not link to the one before it`, events, header);
		if (eventHash(e) !== e.hash)
			return fail(`event ${e.seq} was changed after it was written`, events, header);
		prevHash = e.hash;
		expect++;
		events++;
		last = e;
	}
	if (events !== header.count || last!.seq !== header.throughSeq)
		return fail(
			`the header announces events ${header.fromSeq}–${header.throughSeq} but the file holds ${events}`,
			events,
			header,
		);
	let statement: CheckpointStatement;
	try {
		statement = parseStatement(lines[lines.length - 1], 'The last line');
	} catch {
		return fail('the last line is not a checkpoint statement', events, header);
	}
	if (
		statement.tenant !== header.tenant ||
		statement.seq !== last!.seq ||
		statement.hash !== last!.hash
	)
		return fail('the closing statement does not name the last event', events, header);
	if (!statementSigned(statement))
		return fail('the closing statement is not validly signed', events, header);
	return { ok: true, header, statement, events };
}

/**
 * Writes an archive durably: to `<out>.partial`, fsynced, renamed to `out`, and the folder fsynced,
 * so `out` is either absent or complete on disk before anything is pruned. Returns its SHA-256.
 */
export async function writeArchive(
	out: string,
	header: ArchiveHeader,
	events: () => AsyncIterable<AuditEvent[]>,
	statement: CheckpointStatement,
): Promise<string> {
	const partial = `${out}.partial`;
	const sha = createHash('sha256');
	const fd = openSync(partial, 'w', 0o600);
	try {
		const put = (text: string) => {
			const buf = Buffer.from(text, 'utf8');
			sha.update(buf);
			let off = 0;
			while (off < buf.length) off += writeSync(fd, buf, off);
		};
		put(`${JSON.stringify(header)}\n`);
		for await (const batch of events()) put(batch.map((e) => `${JSON.stringify(e)}\n`).join(''));
		put(`${JSON.stringify(statement)}\n`);
		fsyncSync(fd);
	} finally {
		closeSync(fd);
	}
	faultPoint('audit.archive.written');
	renameSync(partial, out);
	const dir = openSync(dirname(out), 'r');
	try {
		fsyncSync(dir);
	} finally {
		closeSync(dir);
	}
	faultPoint('audit.archive.renamed');
	return sha.digest('hex');
}

/**
 * Whether `out` may be (re)written for an archive starting at `fromSeq`: it is absent, or it is the
 * file of an earlier run that stopped before pruning (it starts where the stored chain still starts,
 * so every event in it is still in the store). Never an archive whose events are gone from the store.
 */
export function checkOutputFree(out: string, tenant: string, fromSeq: number): void {
	if (!existsSync(out)) return;
	let header: ArchiveHeader | null;
	try {
		header = archiveHeaderOf(out);
	} catch {
		header = null;
	}
	if (header && header.tenant === tenant && header.fromSeq === fromSeq) return;
	throw new SecretsError(
		'INVALID_INPUT',
		header
			? `${out} already holds archived audit events ${header.fromSeq}–${header.throughSeq} of tenant "${header.tenant}". ` +
				'Keep it, and give each archive a new file name.'
			: `${out} exists and is not an unfinished audit archive; nothing was changed. Give a new file name.`,
	);
}
