import type { SqlExecutor } from '../sql';

/** How far each audit journal file (see audit-journal.ts) has been chained, and whether it is done. */
export const journals = {
	offset: async (x: SqlExecutor, file: string) =>
		Number(
			(
				await x.get<{ ingested_to: number }>(
					'SELECT ingested_to FROM audit_journals WHERE file = ?',
					[file],
				)
			)?.ingested_to ?? 0,
		),
	setOffset: (x: SqlExecutor, file: string, offset: number) =>
		x.run(
			'INSERT INTO audit_journals (file, ingested_to) VALUES (?, ?) ON CONFLICT (file) DO UPDATE SET ingested_to = excluded.ingested_to',
			[file, offset],
		),
	forget: (x: SqlExecutor, file: string) =>
		x.run('DELETE FROM audit_journals WHERE file = ?', [file]),
	/** Every file the database knows, with how far it was read and whether it is done with. */
	all: (x: SqlExecutor) =>
		x.all<{ file: string; ingested_to: number | string; state: 'open' | 'final' | 'legacy' }>(
			'SELECT file, ingested_to, state FROM audit_journals ORDER BY file',
		),
	/** A new file is known before its first record is acknowledged (see AuditJournal.ensureFile). */
	register: (x: SqlExecutor, file: string) =>
		x.run(
			"INSERT INTO audit_journals (file, ingested_to, state) VALUES (?, 0, 'open') ON CONFLICT (file) DO NOTHING",
			[file],
		),
	/** Every record of the file is chained: it may be deleted once this commits, and never read again. */
	finalize: (x: SqlExecutor, file: string, offset: number) =>
		x.run(
			"INSERT INTO audit_journals (file, ingested_to, state) VALUES (?, ?, 'final') ON CONFLICT (file) DO UPDATE SET ingested_to = excluded.ingested_to, state = 'final'",
			[file, offset],
		),
};
