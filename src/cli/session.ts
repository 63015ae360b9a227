/** Opening the backend for one command, with the token it acts as. */
import type { Command } from 'commander';

import { openBackend } from '../backend/open';
import { SecretsError, toSecretsError } from '../core/errors';
import type { Page } from '../core/model';
import type { Caller, SecretsApi } from '../service/api';
import { openEmbedded } from '../service/config';
import { SecretsService } from '../service/secrets-service';
import type { CliIo } from './io';

/** The options of the program itself, which every command inherits. */
export interface GlobalOptions {
	db?: string;
	token?: string;
	url?: string;
}

export function globalsOf(cmd: Command): GlobalOptions {
	return cmd.optsWithGlobals() as GlobalOptions;
}

/** The server to talk to: `--url`, else N8N_SECRETS_URL; undefined for the local store. */
export function serverUrl(io: CliIo, global: GlobalOptions): string | undefined {
	return global.url ?? (io.env.N8N_SECRETS_URL?.trim() || undefined);
}

/** The environment the command runs with: `--db` overrides N8N_SECRETS_DB. */
export function commandEnv(io: CliIo, global: GlobalOptions): NodeJS.ProcessEnv {
	return global.db ? { ...io.env, N8N_SECRETS_DB: global.db } : io.env;
}

export function callerFrom(io: CliIo, global: GlobalOptions): Caller {
	const token = global.token ?? io.env.N8N_SECRETS_TOKEN;
	if (!token) {
		throw new SecretsError(
			'INVALID_INPUT',
			'No access token: set N8N_SECRETS_TOKEN (preferred: command-line arguments are visible to other ' +
				'users in `ps`) or pass --token. `n8n-secrets init` prints an admin token.',
		);
	}
	return { token: token.trim(), context: { mode: 'cli' } };
}

/**
 * Opens the store (or, with `--url`, a client of the server), runs `fn` as the caller, and closes it
 * whatever happens. A command whose work is done (committed, or a value audited before it was shown)
 * does not fail because closing did: see `closeAfter`.
 */
export async function withService<T>(
	io: CliIo,
	cmd: Command,
	fn: (service: SecretsApi, caller: Caller) => Promise<T>,
): Promise<T> {
	const global = globalsOf(cmd);
	const caller = callerFrom(io, global);
	const service = await openBackend({ url: serverUrl(io, global), env: commandEnv(io, global) });
	if (service instanceof SecretsService) noteReadOnly(io, service);
	let result: T;
	try {
		result = await fn(service, caller);
	} catch (err) {
		// The command's own error is the one to report, not a failure to close after it.
		await service.close().catch(() => undefined);
		throw err;
	}
	await closeAfter(io, service);
	return result;
}

/**
 * Commands that read or write files beside the store (archives, checkpoints checked against it) run
 * on the store's host, against the local store.
 */
export async function withLocalService<T>(
	io: CliIo,
	cmd: Command,
	what: string,
	fn: (service: SecretsService, caller: Caller) => Promise<T>,
): Promise<T> {
	const global = globalsOf(cmd);
	if (serverUrl(io, global))
		throw new SecretsError(
			'INVALID_INPUT',
			`\`${what}\` works on the local store only (it reads or writes files on this host): run it where the ` +
				'store is, without --url or N8N_SECRETS_URL.',
		);
	const caller = callerFrom(io, global);
	const service = await openEmbedded(commandEnv(io, global));
	try {
		return await fn(service, caller);
	} finally {
		await service.close();
	}
}

/**
 * Closes the store after a command succeeded. Closing chains the audit journal, which a full disk can
 * refuse; the records stay in the journal (they were written before any value was shown) and the
 * next process that can write chains them. The command has done its work and may have printed a
 * value, so this is a warning on stderr, never a failure (a shown value with exit 1 would be a lie
 * to scripts: they would retry, and reveal again).
 */
export async function closeAfter(io: CliIo, service: { close(): Promise<void> }): Promise<void> {
	try {
		await service.close();
	} catch (err) {
		const e = toSecretsError(err);
		io.err(
			`warning ${e.code}: closing the store failed after the command completed: ${e.message}\n`,
		);
	}
}

/** On stderr: the store can only be read, and why (each change would fail with that error). */
export function noteReadOnly(io: CliIo, service: SecretsService): void {
	const reason = service.readOnlyReason;
	if (reason) io.err(`note ${reason.code}: the store is open read-only. ${reason.message}\n`);
}

/**
 * Every item of a paged list, page after page, until the last page or `max` items; `fetch` is given
 * the cursor and how many items are still wanted.
 */
export async function allPages<T>(
	fetch: (cursor: string | undefined, wanted: number) => Promise<Page<T>>,
	max = Infinity,
): Promise<T[]> {
	const items: T[] = [];
	let cursor: string | undefined;
	do {
		const page = await fetch(cursor, max - items.length);
		items.push(...page.items);
		cursor = page.nextCursor;
	} while (cursor && items.length < max);
	return items;
}

/** Reads a value from standard input, dropping one trailing newline (from `echo` or a here-doc). */
export async function readValue(io: CliIo): Promise<string> {
	const text = await io.stdin();
	const value = text.endsWith('\r\n')
		? text.slice(0, -2)
		: text.endsWith('\n')
			? text.slice(0, -1)
			: text;
	if (value.length === 0) {
		throw new SecretsError(
			'INVALID_INPUT',
			'Standard input was empty: pipe the value in, for example `printf %s "$VALUE" | n8n-secrets …`.',
		);
	}
	return value;
}
