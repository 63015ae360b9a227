/**
 * The SQLite store's files (the default, embedded store) on disk belong to their owner alone, whatever the umask: the database,
 * its -wal and -shm files, its folder (and the folders created above it), and the audit journal.
 */
import { chmodSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { SecretsService } from '../../src/service/secrets-service';
import { SqliteDriver } from '../../src/store/sqlite/sqlite-driver';
import { newMasterKey } from '../helpers/store';

let root: string;
let umask: number;

beforeEach(() => {
	root = mkdtempSync(join(tmpdir(), 'n8n-secrets-modes-'));
	// The usual umask, under which SQLite on its own creates its files 0644.
	umask = process.umask(0o022);
});

afterEach(() => {
	process.umask(umask);
	rmSync(root, { recursive: true, force: true });
});

const mode = (path: string) => (statSync(path).mode & 0o777).toString(8);

describe('store file modes (umask 022)', () => {
	it('a new store, its WAL and SHM files, folders and audit journal are 0600 / 0700', async () => {
		const dir = join(root, 'home', '.n8n', 'secrets');
		const db = join(dir, 'secrets.db');
		const { service, token } = await SecretsService.init(new SqliteDriver(db), newMasterKey());
		try {
			const admin = { token };
			await service.createSecret(admin, {
				name: 'k',
				environment: 'production',
				value: 'file-mode-value',
			});
			// A resolution is audited through the journal: its folder and file exist from here on.
			await service.use(admin, { name: 'k', environment: 'production' });
			const files = [db, `${db}-wal`, `${db}-shm`];
			const journal = `${db}-audit`;
			const journalFiles = readdirSync(journal).map((f) => join(journal, f));
			expect(journalFiles.length).toBeGreaterThan(0);
			const modes = Object.fromEntries(
				[
					...files,
					...journalFiles,
					dir,
					join(root, 'home'),
					join(root, 'home', '.n8n'),
					journal,
				].map((p) => [p.slice(root.length), mode(p)]),
			);
			const expected = Object.fromEntries(
				Object.keys(modes).map((p) => [
					p,
					p.endsWith('.db') || p.endsWith('-wal') || p.endsWith('-shm') || p.endsWith('.jsonl')
						? '600'
						: '700',
				]),
			);
			expect(modes).toEqual(expected);
		} finally {
			await service.close();
		}
	});

	it('opening an existing store leaves its mode as the operator set it', async () => {
		const db = join(root, 'secrets.db');
		const first = await SecretsService.init(new SqliteDriver(db), newMasterKey());
		await first.service.close();
		chmodSync(db, 0o640);
		const again = new SqliteDriver(db);
		await again.close();
		expect(mode(db)).toBe('640');
	});
});
