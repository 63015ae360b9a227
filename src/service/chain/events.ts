/** An audit event as it is made, before it is chained, and the hash that chains it. */
import { createHash, randomUUID } from 'node:crypto';

import type { AuditAction, AuditEvent, AuditOutcome, N8nContext } from '../../core/model';
import { toStorableText } from '../../core/schemas';
import { hashedAuditValues } from '../../store/audit-fields';

export const GENESIS_HASH = '0'.repeat(64);

export interface AuditInput {
	actor: string;
	tokenId?: string | null;
	action: AuditAction;
	secret?: string | null;
	environment?: string | null;
	version?: number | null;
	outcome: AuditOutcome;
	reason?: string | null;
	context?: N8nContext;
	destinationHost?: string | null;
}

export function eventHash(e: Omit<AuditEvent, 'hash'>): string {
	// A JSON array keeps field boundaries unambiguous and the order fixed (store/audit-fields.ts).
	return createHash('sha256')
		.update(JSON.stringify(hashedAuditValues(e)))
		.digest('hex');
}

/** Context strings come from workflow data; keep them bounded so a huge name cannot bloat the trail. */
function clip(s: string | undefined | null, max = 256): string | null {
	if (s === undefined || s === null || s === '') return null;
	if (s.length <= max) return toStorableText(s);
	// Never half a surrogate pair: it would be stored as U+FFFD and the event's hash would not match.
	const high = s.charCodeAt(max - 2);
	return toStorableText(`${s.slice(0, high >= 0xd800 && high <= 0xdbff ? max - 2 : max - 1)}…`);
}

/** Text from a token or the caller, as the store will keep it (see toStorableText). */
function text(s: string | undefined | null): string | null {
	return s === undefined || s === null ? null : toStorableText(s);
}

/** What an event says before it is chained (sequence number and hashes are given at chaining). */
export type UnchainedEvent = Omit<AuditEvent, 'seq' | 'prevHash' | 'hash'>;

export function unchainedEvent(tenant: string, time: string, input: AuditInput): UnchainedEvent {
	return {
		id: randomUUID(),
		time,
		tenant,
		actor: toStorableText(input.actor),
		tokenId: text(input.tokenId),
		action: input.action,
		secret: text(input.secret),
		environment: text(input.environment),
		version: input.version ?? null,
		outcome: input.outcome,
		reason: clip(input.reason, 500),
		workflowId: clip(input.context?.workflowId),
		workflowName: clip(input.context?.workflowName),
		executionId: clip(input.context?.executionId),
		node: clip(input.context?.node),
		mode: clip(input.context?.mode, 64),
		destinationHost: clip(input.destinationHost),
	};
}
