/**
 * The hash-chained audit trail. Each event carries the SHA-256 of the one before it, so editing or
 * removing a row breaks every later link. The head row (last sequence number and hash) is sealed with
 * an HMAC under a key derived from the tenant's data key: without the master key, nobody can rewrite
 * the chain and re-seal its head, and a truncated tail no longer matches the head.
 *
 * Its parts are in chain/: events and their hash (events.ts), chaining (writer.ts), the journal's
 * records (ingest.ts), the head and checkpoint seals (seals.ts) and verification (verify.ts). Their
 * names are importable from here.
 */
export {
	type AuditInput,
	eventHash,
	GENESIS_HASH,
	type UnchainedEvent,
	unchainedEvent,
} from './chain/events';
export {
	type IngestResult,
	ingestJournal,
	type KeyLookup,
	sealJournalRecord,
} from './chain/ingest';
export { resealCheckpoints, resealHead, sealCheckpoint } from './chain/seals';
export { brokenTrail, sealedHead, verifyChain, type VerifyResult } from './chain/verify';
export { ChainWriter, chainEvent } from './chain/writer';
