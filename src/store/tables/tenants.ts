import type { SqlExecutor } from '../sql';

export const tenants = {
	exists: async (x: SqlExecutor, id: string) =>
		(await x.get<{ id: string }>('SELECT id FROM tenants WHERE id = ?', [id])) !== undefined,
	insert: (x: SqlExecutor, id: string, now: string) =>
		x.run('INSERT INTO tenants (id, created_at) VALUES (?, ?)', [id, now]),
	all: (x: SqlExecutor) => x.all<{ id: string }>('SELECT id FROM tenants ORDER BY id'),
};
