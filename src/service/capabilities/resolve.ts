/**
 * Values out of the store: `use` (into the package's own code, to send somewhere), `resolve` (the same
 * across the network to the n8n runtime), `reveal` (as output, for people allowed to see it) and the
 * relay's use (the server sends the value itself). Each is audited before the value is returned.
 */
import { SecretsError } from '../../core/errors';
import { formatDestination, hostAllowed } from '../../core/matching';
import { ALL_ENVIRONMENTS, type VersionSelector } from '../../core/model';
import { requireConsumer } from '../../auth/permissions';
import { loadDataKey } from '../store-keys';
import type { Core } from '../core';
import type { Call, Impl } from '../runner';
import { previousExpired } from './lines';
import {
	ResolveCache,
	type SnapshotLine,
	type SnapshotSecret,
	type SnapshotVersion,
} from './resolve-cache';

type Via = 'use' | 'resolve' | 'reveal' | 'relay';

const caches = new WeakMap<Core, ResolveCache>();

/** The process's row cache of a store, emptied with the other caches on every foreign commit. */
function cacheOf(c: Core): ResolveCache {
	let cache = caches.get(c);
	if (!cache) {
		cache = new ResolveCache(c, c.options.resolveCacheEntries);
		c.register(cache);
		caches.set(c, cache);
	}
	return cache;
}

async function resolveValue(
	c: Core,
	{ p, i, caller, destination, generation, fresh }: Call<'use' | 'reveal' | 'resolve'>,
	via: Via,
) {
	const shown = destination && formatDestination(destination);
	const snap = await cacheOf(c).snapshot(p.tenant, i.name, i.environment, i.selector, fresh);
	if ('error' in snap) throw snap.error;
	const { row, line, v, hosts } = snap;
	requireConsumer(p, i.name, snap.consumers);
	const unboundOk = (c.options.relayUnboundTenants ?? []).some((t) => t === '*' || t === p.tenant);
	if (via === 'relay' && hosts.length === 0 && !unboundOk) {
		throw new SecretsError(
			'DESTINATION_NOT_ALLOWED',
			`Secret "${i.name}" is not bound to any host, and the relay only sends secrets to the hosts they are bound to. ` +
				'Set its allowed hosts (e.g. `--allowed-host api.example.com`, or `*` to allow any destination).',
		);
	}
	if (
		via !== 'reveal' &&
		hosts.length > 0 &&
		(destination === undefined || !hostAllowed(destination, hosts))
	) {
		throw new SecretsError(
			'DESTINATION_NOT_ALLOWED',
			destination === undefined
				? `Secret "${i.name}" is bound to ${hosts.join(', ')} and can only be used for a request to one of them.`
				: `Secret "${i.name}" may not be sent to ${shown}; it is bound to ${hosts.join(', ')}.`,
		);
	}
	checkValidity(c, row, line, v, i.selector);
	const key = await loadDataKey(c.driver, c.keyring, p.tenant, v.dek_id);
	const value = key.decryptValue(snap.aad, snap.stored, snap.macChecked);
	snap.macChecked = true;
	await c.audit.use(
		p.tenant,
		{
			actor: p.subject,
			tokenId: p.jti,
			action: via === 'reveal' ? 'reveal' : 'use',
			secret: i.name,
			environment: i.environment,
			version: v.version,
			outcome: 'success',
			reason:
				[
					via === 'relay' ? 'relayed by the server' : null,
					via === 'resolve' ? 'sent to the caller over the network' : null,
					line.environment === i.environment ? null : `served from the ${ALL_ENVIRONMENTS} line`,
				]
					.filter(Boolean)
					.join('; ') || null,
			context: caller.context,
			destinationHost: shown,
		},
		// The counter the call's cached rows were read under: the record is refused if it moved
		// (none for rows just read from the store: the record is chained directly).
		fresh ? null : generation,
	);
	return {
		name: i.name,
		environment: i.environment,
		servedFrom: line.environment,
		version: v.version,
		value,
		type: row.type,
		expiresAt: v.expires_at,
		allowedHosts: hosts,
	};
}

/** Checks that depend on the clock, made on every call: a cached row never outlives its expiry. */
function checkValidity(
	c: Pick<Core, 'now' | 'iso'>,
	row: SnapshotSecret,
	line: SnapshotLine,
	v: SnapshotVersion,
	selector: VersionSelector | undefined,
): void {
	if (
		selector &&
		'label' in selector &&
		selector.label === 'previous' &&
		previousExpired(c, row, line)
	) {
		throw new SecretsError(
			'VERSION_NOT_FOUND',
			`Secret "${row.name}" has no previous version in ${line.environment} (past its ${row.previous_window_days}-day window).`,
		);
	}
	const now = c.iso();
	if (v.expires_at && v.expires_at <= now) {
		throw new SecretsError(
			'SECRET_EXPIRED',
			`Secret "${row.name}" (version ${v.version} in ${line.environment}) expired on ${v.expires_at}. Rotate it to a new value.`,
		);
	}
	if (v.not_before && v.not_before > now) {
		throw new SecretsError(
			'SECRET_NOT_YET_VALID',
			`Secret "${row.name}" (version ${v.version} in ${line.environment}) is not valid before ${v.not_before}.`,
		);
	}
}

/**
 * The relay: without a secret, only whether the caller may have the server send requests for it in
 * that environment (the runner checked it; asked before anything is sent, even a request without
 * references); with one, its value for the request the server sends to `destinationHost`.
 */
const relay: Impl<'relay'> = async (c, call) => {
	const { i } = call;
	if (i.name === undefined) return undefined;
	if (i.destinationHost === undefined)
		throw new SecretsError('INVALID_INPUT', 'A relayed value needs the host it is sent to.');
	return resolveValue(c, call as unknown as Call<'use'>, 'relay');
};

export const RESOLVE = {
	use: ((c, call) => resolveValue(c, call, 'use')) as Impl<'use'>,
	resolve: ((c, call) => resolveValue(c, call, 'resolve')) as Impl<'resolve'>,
	reveal: ((c, call) => resolveValue(c, call, 'reveal')) as Impl<'reveal'>,
	relay,
};
