import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { randomBytes } from 'node:crypto';

import { rawKeyProvider, type KeyProvider } from '../../src/crypto/master-key';
import { SqliteDriver } from '../../src/store/sqlite/sqlite-driver';
import { SecretsService, type ServiceOptions } from '../../src/service/secrets-service';

/** A mutable clock: tests move time forward to cross expiry dates and retention windows. */
export class TestClock {
	constructor(public ms = Date.parse('2026-11-23T12:00:00.000Z')) {}
	now = (): Date => new Date(this.ms);
	advanceDays(days: number): void {
		this.ms += days * 86_400_000;
	}
}

export function newMasterKey(base64 = randomBytes(32).toString('base64')): KeyProvider {
	return rawKeyProvider(base64, 'test key');
}

export interface TestStore {
	dir: string;
	path: string;
	key: KeyProvider;
	/** The master key as N8N_SECRETS_MASTER_KEY would hold it, for child processes. */
	keyBase64: string;
	clock: TestClock;
	service: SecretsService;
	admin: { token: string };
	open(options?: ServiceOptions, key?: KeyProvider): Promise<SecretsService>;
	cleanup(): Promise<void>;
}

/** A real SQLite file in a fresh temporary folder, initialized with an admin token for `default`. */
export async function createTestStore(options: { tenant?: string } = {}): Promise<TestStore> {
	const dir = mkdtempSync(join(tmpdir(), 'n8n-secrets-test-'));
	const path = join(dir, 'secrets.db');
	const keyBase64 = randomBytes(32).toString('base64');
	const key = newMasterKey(keyBase64);
	const clock = new TestClock();
	const opened: SecretsService[] = [];
	const { service, token } = await SecretsService.init(
		new SqliteDriver(path),
		key,
		{ tenant: options.tenant },
		{ now: clock.now },
	);
	opened.push(service);
	return {
		dir,
		path,
		key,
		keyBase64,
		clock,
		service,
		admin: { token },
		async open(opts = {}, k = key) {
			const s = await SecretsService.open(new SqliteDriver(path), k, { now: clock.now, ...opts });
			opened.push(s);
			return s;
		},
		async cleanup() {
			for (const s of opened) await s.close();
			rmSync(dir, { recursive: true, force: true });
		},
	};
}

/**
 * Runs one statement on the store file directly, as an attacker or a broken disk would: for tests
 * that tamper with rows and check the engine notices.
 */
export function rawSql(
	path: string,
	statement: string,
	...params: (string | number | Uint8Array)[]
): unknown[] {
	const db = new DatabaseSync(path);
	try {
		return db.prepare(statement).all(...params);
	} finally {
		db.close();
	}
}
