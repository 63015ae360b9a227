/**
 * Opening the secrets backend, for everything that calls it (the CLI, the n8n nodes and credentials):
 * the embedded store this host's environment names (SQLite file or PostgreSQL, with the master key
 * from the environment), or a client of the server behind `n8n-secrets serve`. Callers decide which
 * from their own inputs (the CLI from --url and N8N_SECRETS_URL, n8n from the credential) and hand a
 * `BackendTarget` here; how each kind is opened is decided only here.
 *
 * It sits above src/service and src/client (it uses both) and below src/cli and src/n8n.
 */
import { readFileSync } from 'node:fs';

import { RemoteSecrets } from '../client/remote-secrets';
import type { SecretsApi } from '../service/api';
import { openEmbedded, storeLocation } from '../service/config';
import type { SecretsService } from '../service/secrets-service';

/** Which backend: the server at `url`, or (no url) the embedded store that `env` names. */
export interface BackendTarget {
	url?: string;
	env: NodeJS.ProcessEnv;
}

/** Where a target is, for messages and for sharing one open backend per process (no password). */
export function backendLocation(target: BackendTarget): string {
	return target.url ?? storeLocation(target.env);
}

/** A client of the server; N8N_SECRETS_SERVER_CA_FILE names the PEM of a private CA to trust. */
export function openRemote(url: string, env: NodeJS.ProcessEnv): RemoteSecrets {
	const ca = env.N8N_SECRETS_SERVER_CA_FILE?.trim();
	return new RemoteSecrets(url, { ca: ca ? readFileSync(ca) : undefined });
}

/** Opens the backend a target names; the caller closes it. */
export async function openBackend(target: BackendTarget): Promise<SecretsApi> {
	return target.url ? openRemote(target.url, target.env) : openEmbedded(target.env);
}

/**
 * Backends opened once per location and shared by every caller in the process (the n8n nodes and
 * credentials): opening the embedded store checks the master key (and, with a passphrase, runs
 * scrypt), and a server's client is a keep-alive pool, neither of which may happen per request.
 */
export class SharedBackends {
	private readonly embedded = new Map<string, Promise<SecretsService>>();
	private readonly remotes = new Map<string, RemoteSecrets>();

	/** The shared client of a server (a relay needs the client itself, not only its SecretsApi). */
	remote(url: string, env: NodeJS.ProcessEnv): RemoteSecrets {
		let remote = this.remotes.get(url);
		if (!remote) {
			remote = openRemote(url, env);
			this.remotes.set(url, remote);
		}
		return remote;
	}

	async open(target: BackendTarget): Promise<SecretsApi> {
		if (target.url) return this.remote(target.url, target.env);
		const location = backendLocation(target);
		let opening = this.embedded.get(location);
		if (!opening) {
			opening = openEmbedded(target.env);
			this.embedded.set(location, opening);
			// A failed open (no key yet, wrong key) is retried on the next use instead of cached.
			opening.catch(() => this.embedded.delete(location));
		}
		return opening;
	}

	/** Closes every backend opened here (tests, an orderly shutdown). */
	async closeAll(): Promise<void> {
		const pools = [...this.remotes.values()];
		this.remotes.clear();
		for (const remote of pools) await remote.close();
		const stores = [...this.embedded.values()];
		this.embedded.clear();
		for (const opening of stores) {
			const service = await opening.catch(() => undefined);
			await service?.close();
		}
	}
}
