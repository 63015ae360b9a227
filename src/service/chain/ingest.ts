/** The audit journal's records, sealed when written and chained when ingested. */
import { faultPoint } from '../../core/fault';
import { macEquals } from '../../crypto/aead';
import type { DataKey } from '../../crypto/keyring';
import type { AuditJournal } from '../../store/audit-journal';
import { journals } from '../../store/repository';
import type { SqlExecutor } from '../../store/sql';
import { type UnchainedEvent, unchainedEvent } from './events';
import { ChainWriter } from './writer';

/** The seal of a journal record: computed over the JSON text as is (no copy; it is on the hot path). */
function journalMac(key: DataKey, json: string): Buffer {
	return key.auditHmac.mac(json);
}

/** One journal line: the event as JSON, a tab, and its seal (JSON never contains a raw tab). */
export function sealJournalRecord(key: DataKey, e: UnchainedEvent): string {
	const json = JSON.stringify({ ...e, dekId: key.id });
	return `${json}\t${journalMac(key, json).toString('hex')}`;
}

export type KeyLookup = (tenant: string, dekId: string) => Promise<DataKey>;

export interface IngestResult {
	chained: number;
	/** Files marked final in this transaction: the caller deletes them once it has committed. */
	finalized: string[];
}

/**
 * Moves every complete journal record not yet ingested into the chain, inside the caller's write
 * transaction, and records how far each file has been read.
 *
 * With `finalize` (a transaction of its own, whose commit the caller waits for) it also ends files:
 * a file nobody appends to any more, read to its last whole record, is marked `final` here and
 * returned; the caller deletes it only after the commit (a `final` file is never read again, so a
 * crash before the delete repeats nothing). Files marked final by an earlier commit are deleted and
 * forgotten. A registered file that is gone while still `open` was deleted by someone else before its
 * records were chained: that is recorded in every tenant's chain as an integrity failure.
 */
export async function ingestJournal(
	tx: SqlExecutor,
	journal: AuditJournal,
	opts: {
		lockHead: boolean;
		keyFor: KeyLookup;
		activeKey: (tenant: string) => Promise<DataKey>;
		tenants: () => Promise<string[]>;
		finalize: boolean;
		/** This process is closing: its own file is ended too, whatever its size. */
		closing?: boolean;
	},
): Promise<IngestResult> {
	const finalized: string[] = [];
	const writer = new ChainWriter(tx, opts.lockHead, opts.keyFor);
	const chain = recordChainer(writer, opts);
	const alarm = chain.alarm;
	const present = journal.files();
	const rows = new Map((await journals.all(tx)).map((r) => [r.file, r]));
	if (opts.finalize) {
		const listed = new Set(present);
		for (const [file, row] of rows) {
			if (row.state === 'final') {
				faultPoint('audit.ingest.before-forget');
				journal.remove(file);
				await journals.forget(tx, file);
			} else if (!listed.has(file) && !journal.exists(file)) {
				// Before registration existed (state 'legacy'), a rolled file was deleted and its row kept.
				if (row.state === 'open')
					await alarm(
						`audit journal file ${file} was deleted before all its records were chained (chained up to byte ` +
							`${Number(row.ingested_to)}); any use it recorded after that is lost. Journal files must never be deleted by hand.`,
					);
				await journals.forget(tx, file);
			}
		}
	}
	for (const file of present) {
		const row = rows.get(file);
		if (row?.state === 'final') continue;
		const from = Number(row?.ingested_to ?? 0);
		const chunk = journal.read(file, from);
		let offset = from;
		for (const line of chunk.lines) {
			const lineOffset = offset;
			offset += Buffer.byteLength(line) + 1;
			await chain.add(line, `audit journal record at ${file}:${lineOffset}`);
		}
		if (!chunk.exists) continue;
		const ended =
			opts.finalize &&
			(journal.isOrphan(file) ||
				(file === journal.ownFile && journal.detachIfIngested(chunk.end, opts.closing ?? false)));
		if (ended) {
			await journals.finalize(tx, file, chunk.end);
			finalized.push(file);
		} else if (chunk.end !== from) {
			await journals.setOffset(tx, file, chunk.end);
		}
	}
	await writer.finish();
	journal.pending = 0;
	if (opts.finalize) faultPoint('audit.ingest.before-commit');
	return { chained: chain.count(), finalized };
}

/**
 * Chains sealed records one by one; a record that fails its seal was altered after it was written,
 * and is recorded as an integrity failure in every tenant's chain instead of being dropped.
 */
export function recordChainer(
	writer: ChainWriter,
	opts: {
		keyFor: KeyLookup;
		activeKey: (tenant: string) => Promise<DataKey>;
		tenants: () => Promise<string[]>;
	},
) {
	let chained = 0;
	const activeKeys = new Map<string, DataKey>();
	const activeKey = async (tenant: string) => {
		let k = activeKeys.get(tenant);
		if (!k) activeKeys.set(tenant, (k = await opts.activeKey(tenant)));
		return k;
	};
	const alarm = async (reason: string) => {
		// The tenant of a lost or altered record is unknown (or untrusted): every chain says so.
		for (const tenant of await opts.tenants()) {
			const e = unchainedEvent(tenant, new Date().toISOString(), {
				actor: 'n8n-secrets',
				action: 'use',
				outcome: 'failure',
				reason: `INTEGRITY_ERROR: ${reason}`,
			});
			await writer.add(await activeKey(tenant), e);
			chained++;
		}
	};
	return {
		alarm,
		count: () => chained,
		/** `where` names the record in the alarm if it fails its seal. */
		add: async (line: string, where: string) => {
			const record = await openJournalRecord(line, opts.keyFor);
			if (!record) return alarm(`${where} failed its seal and was not trusted`);
			await writer.add(await activeKey(record.tenant), record);
			chained++;
		},
	};
}

async function openJournalRecord(line: string, keyFor: KeyLookup): Promise<UnchainedEvent | null> {
	const tab = line.lastIndexOf('\t');
	if (tab < 0) return null;
	const json = line.slice(0, tab);
	let parsed: UnchainedEvent & { dekId: string };
	try {
		parsed = JSON.parse(json) as UnchainedEvent & { dekId: string };
	} catch {
		return null;
	}
	if (typeof parsed.tenant !== 'string' || typeof parsed.dekId !== 'string') return null;
	let key: DataKey;
	try {
		key = await keyFor(parsed.tenant, parsed.dekId);
	} catch {
		return null;
	}
	const mac = Buffer.from(line.slice(tab + 1), 'hex');
	if (!macEquals(journalMac(key, json), mac)) return null;
	const { dekId: _dekId, ...event } = parsed;
	return event;
}
