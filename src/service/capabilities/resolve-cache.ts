/**
 * The rows a resolution needs (secret, line, version: ciphertext, never plaintext), read with their
 * seals checked and cached only until the next commit by any process: the store's change counter moves
 * on every commit, so a rotated value is seen on the very next call. Time-dependent checks are not
 * cached (resolve.ts makes them on every call).
 */
import { SecretsError } from '../../core/errors';
import { ALL_ENVIRONMENTS, type VersionSelector } from '../../core/model';
import { type EncryptedValue, valueAad } from '../../crypto/keyring';
import { tamperedError } from '../../store/row-seals';
import {
	type LineRow,
	type SecretRow,
	type VersionRow,
	lines,
	versions,
} from '../../store/repository';
import { type SqlExecutor, toBuffer } from '../../store/sql';
import type { Core } from '../core';
import { liveSecret } from './secret-rows';

/**
 * Resolutions whose rows a process keeps (about 1.6 KB each, so some 160 MB when full): enough for
 * every value of a store of 100,000 secrets to be served from the cache once it has been used.
 */
const RESOLVE_CACHE_ENTRIES = 100_000;

/** What a resolution needs of the rows it read: kept small, the cache holds one per resolution. */
export type SnapshotSecret = Pick<SecretRow, 'name' | 'type' | 'previous_window_days'>;
export type SnapshotLine = Pick<LineRow, 'environment' | 'previous_since'>;
export type SnapshotVersion = Pick<VersionRow, 'version' | 'dek_id' | 'expires_at' | 'not_before'>;

export type ResolveSnapshot =
	| { error: SecretsError }
	| {
			row: SnapshotSecret;
			line: SnapshotLine;
			v: SnapshotVersion;
			hosts: string[];
			consumers: string[];
			/** The ciphertext as stored and the slot it is bound to: never the plaintext. */
			aad: Buffer;
			stored: EncryptedValue;
			/**
			 * Set once a decryption of `stored` passed the MAC check: the cache keeps the bytes read from
			 * the store, so later resolutions of this entry need not check the same bytes again.
			 */
			macChecked?: boolean;
	  };

/**
 * The slot and the stored ciphertext as views of one Buffer of their own. The column values node:sqlite
 * returns each own a backing store, and a small Buffer from Node's shared pool keeps its whole 8 KB
 * slab alive: either way a cache entry cost over a kilobyte outside the heap.
 */
function compactSlot(aad: Buffer, v: VersionRow): { aad: Buffer; stored: EncryptedValue } {
	const parts = [aad, toBuffer(v.iv)!, toBuffer(v.ciphertext)!, toBuffer(v.mac)!];
	const all = Buffer.allocUnsafeSlow(parts.reduce((n, b) => n + b.length, 0));
	const views: Buffer[] = [];
	let at = 0;
	for (const b of parts) {
		b.copy(all, at);
		views.push(all.subarray(at, at + b.length));
		at += b.length;
	}
	return { aad: views[0], stored: { iv: views[1], ciphertext: views[2], mac: views[3] } };
}

export class ResolveCache {
	/** Oldest first; `used`: hit since it was last passed over for eviction (second chance). */
	private readonly entries = new Map<string, { snap: ResolveSnapshot; used: boolean }>();
	private readonly capacity: number;

	constructor(
		private readonly core: Pick<Core, 'driver' | 'generation'>,
		capacity?: number,
	) {
		this.capacity = Math.max(1, capacity ?? RESOLVE_CACHE_ENTRIES);
	}

	clear(): void {
		this.entries.clear();
	}

	/** From the oldest: a used entry goes to the end unmarked, the first unused one is removed. */
	private evictOne(): void {
		for (const [key, entry] of this.entries) {
			this.entries.delete(key);
			if (!entry.used) return;
			entry.used = false;
			this.entries.set(key, entry);
		}
	}

	async snapshot(
		tenant: string,
		name: string,
		environment: string,
		selector: VersionSelector | undefined,
		fresh = false,
	): Promise<ResolveSnapshot> {
		if (fresh) return load(this.core.driver, tenant, name, environment, selector);
		// `refresh`, at the start of this same operation, brought the cache up to the store's state.
		const generation = this.core.generation;
		const key = `${tenant}\0${name}\0${environment}\0${selector ? JSON.stringify(selector) : ''}`;
		const hit = this.entries.get(key);
		if (hit) {
			// A hit only marks the entry: moving it to the end on every call cost more than the rest
			// of the lookup.
			hit.used = true;
			return hit.snap;
		}
		const snap = await load(this.core.driver, tenant, name, environment, selector);
		// The generation is re-checked: a commit seen by another call while this one read would have
		// cleared the cache, and these rows may predate it.
		if (generation !== null && generation === this.core.generation) {
			// Full: an entry not used since it was last passed over goes (second chance, close to least
			// recently used; clearing it all made every call after a sweep over more values than fit a
			// miss, 2.5x slower over 100,000 secrets than 1,000).
			if (this.entries.size >= this.capacity) this.evictOne();
			this.entries.set(key, { snap, used: false });
		}
		return snap;
	}
}

async function load(
	x: SqlExecutor,
	tenant: string,
	name: string,
	environment: string,
	selector: VersionSelector | undefined,
): Promise<ResolveSnapshot> {
	try {
		const row = await liveSecret(x, tenant, name);
		const { line, v } = await selectVersion(x, row, environment, selector);
		return {
			row: { name: row.name, type: row.type, previous_window_days: row.previous_window_days },
			line: { environment: line.environment, previous_since: line.previous_since },
			v: {
				version: v.version,
				dek_id: v.dek_id,
				expires_at: v.expires_at,
				not_before: v.not_before,
			},
			hosts: JSON.parse(row.allowed_hosts) as string[],
			consumers: JSON.parse(row.allowed_consumers) as string[],
			...compactSlot(
				valueAad({ tenant, secretId: row.id, environment: line.environment, version: v.version }),
				v,
			),
		};
	} catch (error) {
		if (error instanceof SecretsError) return { error };
		throw error;
	}
}

/** The caller's environment line, else the line marked for all environments; never another one. */
async function selectVersion(
	x: SqlExecutor,
	row: SecretRow,
	environment: string,
	selector: VersionSelector | undefined,
): Promise<{ line: LineRow; v: VersionRow }> {
	const line =
		(await lines.get(x, row.tenant, row.id, environment)) ??
		(await lines.get(x, row.tenant, row.id, ALL_ENVIRONMENTS));
	if (!line) {
		throw new SecretsError(
			'SECRET_NOT_FOUND',
			`Secret "${row.name}" has no value for environment "${environment}". Set one with \`n8n-secrets secret set ${row.name} --env ${environment}\`.`,
		);
	}
	const sel = selector ?? { label: 'current' as const };
	let version: number | null;
	if ('version' in sel) version = sel.version <= line.latest_version ? sel.version : null;
	else if (sel.label === 'current') version = line.current_version;
	else if (sel.label === 'pending') version = line.pending_version;
	else version = line.previous_version;
	const what = 'version' in sel ? `version ${sel.version}` : `${sel.label} version`;
	const v =
		version === null
			? undefined
			: await versions.get(x, row.tenant, row.id, line.environment, version);
	if (!v && version !== null) {
		// Version rows are never deleted one by one (retention erases the value and keeps the row): one
		// the sealed line names but that is gone was removed behind the store's back.
		throw tamperedError(`version ${version} of secret "${row.name}" in ${line.environment}`);
	}
	if (!v) {
		throw new SecretsError(
			'VERSION_NOT_FOUND',
			`Secret "${row.name}" has no ${what} in ${line.environment}.`,
		);
	}
	if (v.destroyed_at || !v.ciphertext) {
		throw new SecretsError(
			'VERSION_DESTROYED',
			`Version ${v.version} of "${row.name}" was destroyed by retention on ${v.destroyed_at}; its value is gone.`,
		);
	}
	return { line, v };
}
