/**
 * Resolving `[[secret:…]]` references for one hop of an outgoing request: each value is fetched with
 * `use` (or the relay's `relayUse`, never `reveal`) for the hop's destination, so the service checks
 * the secret's destination binding and audits the use with that destination; each value is
 * registered with the scrubber so it can be removed from the answer and from errors, and remembered
 * with the hosts it is bound to.
 */
import { SecretsError } from '../core/errors';
import { hostOfUrl } from '../core/matching';
import { type SecretReference, hasReferences, substituteReferencesAsync } from '../core/reference';
import { Scrubber } from '../core/scrub';
import type { Caller, ValueSource } from '../service/api';

/** The URL with every reference replaced by a placeholder: what decides where the request goes. */
export function withoutReferences(url: string): string {
	return url.replace(/\[\[secret:[^\]]*\]\]/g, 'REFERENCE');
}

/** The URL's host must be literal: a reference may stand in the path or query, not decide the host. */
export function literalHost(url: string): string {
	const host = hostOfUrl(withoutReferences(url));
	if (/reference/i.test(host) && hasReferences(url)) {
		throw new SecretsError(
			'INVALID_INPUT',
			'A secret reference cannot stand in the host of the URL: the host decides where secrets may go.',
		);
	}
	return host;
}

export class RequestSecrets {
	/** Union of the hosts the resolved secrets are bound to; empty when none is bound. */
	private readonly bound = new Set<string>();
	private anyBound = false;

	constructor(
		private readonly backend: ValueSource,
		private readonly caller: Caller,
		private readonly environment: string,
		/** Where the request goes, as `scheme://host:port`: the binding is checked against all three. */
		private readonly destinationHost: string,
		/** Shared by every hop of one request, so values resolved on any hop are scrubbed. */
		readonly scrubber: Scrubber = new Scrubber(),
	) {}

	/**
	 * Replaces every reference in `text`; text without references comes back unchanged. With
	 * `encode`, each value is percent-encoded, as a value inside a URL must be.
	 */
	resolve(text: string, encode?: (value: string) => string): Promise<string> {
		return substituteReferencesAsync(text, async (ref: SecretReference) => {
			const r = await this.backend.use(this.caller, {
				name: ref.name,
				environment: this.environment,
				selector: ref.selector,
				destinationHost: this.destinationHost,
			});
			this.scrubber.add(r.value, ref.name);
			if (r.allowedHosts.length > 0) {
				this.anyBound = true;
				for (const h of r.allowedHosts) this.bound.add(h);
			}
			return encode ? encode(r.value) : r.value;
		});
	}

	/**
	 * Basic auth from resolved parts. The header carries `base64(user:password)` as one blob, whose
	 * characters mix the user's bits with the password's, so the composed text and the blob itself
	 * are registered with the scrubber as values of their own: every form of the whole blob is
	 * removed, the user's part too, and so is an echo of the header in hex or base64 again.
	 */
	basicAuth(
		username: string,
		password: string,
		label?: string,
	): { username: string; password: string } {
		const composed = `${username}:${password}`;
		this.scrubber.add(composed, label);
		this.scrubber.add(Buffer.from(composed, 'utf8').toString('base64'), label);
		return { username, password };
	}

	/** Resolves every string inside a JSON-like value (object keys included). */
	async resolveDeep<T>(value: T): Promise<T> {
		if (typeof value === 'string') return (await this.resolve(value)) as T;
		if (Array.isArray(value))
			return (await Promise.all(value.map((v) => this.resolveDeep(v)))) as T;
		if (value && typeof value === 'object' && !Buffer.isBuffer(value)) {
			const out: Record<string, unknown> = {};
			for (const [k, v] of Object.entries(value))
				out[await this.resolve(k)] = await this.resolveDeep(v);
			return out as T;
		}
		return value;
	}

	/** Whether any resolved secret is bound to hosts: then redirects must not leave those hosts. */
	get hasBoundSecrets(): boolean {
		return this.anyBound;
	}

	get boundHosts(): string[] {
		return [...this.bound];
	}
}
