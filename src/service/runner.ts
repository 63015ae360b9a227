/**
 * The runner: how every operation of the table runs, whichever interface called it. Validate the input
 * with the declared schema → verify the token (and that it is still live) → authorize from the declared
 * permission and the token's limits → act (in a transaction for writes) → audit from the declaration.
 * A denial or failure is audited in a transaction of its own (the operation's own rolled back).
 */
import { DENIAL_CODES, SecretsError } from '../core/errors';
import { type Destination, formatDestination, parseDestination } from '../core/matching';
import type { AuditAction, Principal } from '../core/model';
import * as schema from '../core/schemas';
import { Denial, requireEnvironment, requireOperation, requireSecret } from '../auth/permissions';
import type { SqlExecutor } from '../store/sql';
import { isStorageFault, storageFault } from '../store/sqlite/storage-faults';
import type { Caller } from './api';
import type { Core } from './core';
import { type InputOf, type OperationName, OPERATIONS, type OperationDecl } from './operations';
import { StaleRead } from './stale';

/** One call of an operation: the verified principal, the validated input, and who called from where. */
export interface Call<K extends OperationName = OperationName> {
	p: Principal;
	i: InputOf<K>;
	caller: Caller;
	/** The input's `destinationHost`, parsed once: where a value is about to be sent. */
	destination?: Destination;
	/** The store's change counter this call's cached reads are good for (Core.refresh). */
	generation?: string | null;
	/**
	 * Read every row from the store, not the cache, and record without checking the counter: the last
	 * attempt of a resolution that found the store changing under every earlier one.
	 */
	fresh?: boolean;
}

/** Resolutions that validate their cached reads when they append their audit record. */
const RESOLUTIONS: ReadonlySet<OperationName> = new Set(['use', 'resolve', 'reveal', 'relay']);
/**
 * Attempts of a resolution on cached rows before it reads them all from the store (under a stream of
 * writes, such as a re-encryption, every optimistic attempt may find the counter moved).
 */
const OPTIMISTIC_ATTEMPTS = 3;

/**
 * What a write records on success, beyond the declaration: the version it made or served, a reason
 * of its own (default: the input's `reason`), or nothing at all (`skip`: it recorded its own events).
 */
export interface AuditNote {
	version?: number | null;
	reason?: string | null;
	skip?: boolean;
}

/**
 * An operation's implementation. `x` is the transaction of a `write`, the store for a `read`, and the
 * store (to open its own transactions on) for a `custom` operation.
 */
export type Impl<K extends OperationName> = (
	core: Core,
	call: Call<K>,
	x: SqlExecutor,
	note: AuditNote,
) => Promise<unknown>;

export type Implementations = { [K in OperationName]: Impl<K> };

/** Where a failure or denial is recorded: the secret, environment and destination the input named. */
interface Target {
	secret?: string;
	environment?: string;
	destinationHost?: string;
}

export class Runner {
	constructor(
		private readonly core: Core,
		private readonly impls: Implementations,
	) {}

	async run<K extends OperationName>(name: K, caller: Caller, input: unknown): Promise<unknown> {
		const decl: OperationDecl = OPERATIONS[name];
		const i = schema.parseInput(decl.input, input ?? {}) as InputOf<K>;
		const fields = i as { name?: unknown; environment?: unknown; destinationHost?: unknown };
		const destination =
			typeof fields.destinationHost === 'string'
				? parseDestination(fields.destinationHost)
				: undefined;
		const target: Target = {
			secret: typeof fields.name === 'string' ? fields.name : undefined,
			environment: typeof fields.environment === 'string' ? fields.environment : undefined,
			destinationHost: destination && formatDestination(destination),
		};
		// A relay check without a secret appends nothing, so it cannot defer its freshness check.
		const optimistic =
			this.core.driver.auditAppends !== undefined &&
			RESOLUTIONS.has(name) &&
			target.secret !== undefined;
		for (let attempt = 1; ; attempt++) {
			const deferred = optimistic && attempt <= OPTIMISTIC_ATTEMPTS;
			const fresh = optimistic && !deferred;
			try {
				return await this.guard(caller, decl, target, deferred, (p, generation) =>
					this.act(name, decl, target, { p, i, caller, destination, generation, fresh }),
				);
			} catch (err) {
				// Only a deferred attempt is refused as stale: the fresh one always ends.
				if (!(err instanceof StaleRead)) throw err;
			}
		}
	}

	private act<K extends OperationName>(
		name: K,
		decl: OperationDecl,
		target: Target,
		call: Call<K>,
	): Promise<unknown> {
		const { p, i, caller } = call;
		authorize(p, name, decl, target);
		const impl = this.impls[name] as Impl<K>;
		const note: AuditNote = {};
		if (decl.kind !== 'write') return impl(this.core, call, this.core.driver, note);
		return this.core.driver.transaction(async (tx) => {
			await this.core.checkToken(tx, p);
			const result = await impl(this.core, call, tx, note);
			if (!note.skip)
				await this.core.audit.write(tx, p.tenant, {
					actor: p.subject,
					tokenId: p.jti,
					action: decl.action as AuditAction,
					secret: target.secret,
					environment: target.environment,
					version: note.version ?? null,
					outcome: 'success',
					reason:
						note.reason !== undefined ? note.reason : ((i as { reason?: string }).reason ?? null),
					context: caller.context,
				});
			return result;
		}, 'full');
	}

	/**
	 * Verifies the token, runs `fn`, and audits a denial or failure in a transaction of its own.
	 * Invalid input and unknown tokens are not audited: there is no trustworthy identity or subject to
	 * record. Reads record only their denials and tampered rows; writes and value resolutions record
	 * every failure.
	 */
	private async guard<T>(
		caller: Caller,
		decl: OperationDecl,
		target: Target,
		deferred: boolean,
		fn: (p: Principal, generation: string | null) => Promise<T>,
	): Promise<T> {
		const p = await this.core.verifier.verify(caller?.token);
		let generation: string | null = null;
		try {
			// A revoked token is told so (401) whatever it asks for, before any permission check.
			generation = await this.core.refresh(deferred);
			await this.core.checkLive(p, generation);
			return await fn(p, generation);
		} catch (caught) {
			if (caught instanceof StaleRead) throw caught;
			// A failure decided on cached rows is only told (and audited) if they were still current.
			if (deferred && (await this.changedSince(generation))) throw new StaleRead();
			const err = this.explain(decl, caught);
			const denied =
				err instanceof SecretsError && (DENIAL_CODES.has(err.code) || err.code === 'TOKEN_REVOKED');
			if (
				err instanceof SecretsError &&
				err.code !== 'INVALID_INPUT' &&
				err.code !== 'TOKEN_INVALID' &&
				(denied || decl.kind !== 'read' || err.code === 'INTEGRITY_ERROR')
			) {
				const why = err instanceof Denial ? err.auditReason : err.code;
				await this.core.audit
					.writeAlone(p.tenant, {
						actor: p.subject,
						tokenId: p.jti,
						action: denied ? 'deny' : (decl.action as AuditAction),
						secret: target.secret,
						environment: target.environment,
						outcome: denied ? 'denied' : 'failure',
						reason: denied ? `${decl.action}: ${why}` : why,
						context: caller.context,
						destinationHost: target.destinationHost,
					})
					.catch((auditErr: unknown) => {
						// A store that cannot be written cannot record the failure either: the caller is told
						// what failed first, not that its record could not be written.
						if (!isStorageFault(auditErr)) throw auditErr;
					});
			}
			throw err;
		}
	}

	/** Whether the store changed since `generation` (false when that cannot be told now). */
	private async changedSince(generation: string | null): Promise<boolean> {
		try {
			return (await this.core.driver.changeCounter()) !== generation;
		} catch {
			return false;
		}
	}

	/** A full disk or read-only mount met outside the driver (the journal's files) is coded too. */
	private explain(decl: OperationDecl, caught: unknown): unknown {
		const { driver } = this.core;
		const err =
			driver.dialect === 'sqlite' ? (storageFault(driver.location, caught) ?? caught) : caught;
		if ((decl.action === 'reveal' || decl.action === 'use') && isStorageFault(err)) {
			const e = err as SecretsError;
			return new SecretsError(
				e.code,
				`No value was handed out: every ${decl.action} is audited before the value is, and the audit ` +
					`record cannot be written. ${e.message}`,
				{ cause: e, details: e.details },
			);
		}
		return err;
	}
}

/** The declared permission, then the token's limits on the secret and environment the input names. */
function authorize(p: Principal, name: OperationName, decl: OperationDecl, target: Target): void {
	requireOperation(p, name, decl.verb);
	const limits = decl.limits ?? ['name', 'environment'];
	if (limits.includes('environment') && target.environment !== undefined)
		requireEnvironment(p, target.environment);
	if (limits.includes('name') && target.secret !== undefined) requireSecret(p, target.secret);
}
