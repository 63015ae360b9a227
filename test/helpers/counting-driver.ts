import type { SqlDriver, SqlExecutor, SqlParam } from '../../src/store/sql';

/**
 * A real driver with every statement the service sends through it recorded (on the driver itself and
 * inside its transactions): for tests of how many round trips an operation costs.
 */
export interface CountingDriver extends SqlDriver {
	/** The SQL text of every statement since the last `reset`, in order. */
	readonly statements: string[];
	reset(): void;
}

export function countingDriver(inner: SqlDriver): CountingDriver {
	const statements: string[] = [];
	const counted = (x: SqlExecutor): SqlExecutor => ({
		get: <T>(sql: string, params?: readonly SqlParam[]) => {
			statements.push(sql);
			return x.get<T>(sql, params);
		},
		all: <T>(sql: string, params?: readonly SqlParam[]) => {
			statements.push(sql);
			return x.all<T>(sql, params);
		},
		run: (sql: string, params?: readonly SqlParam[]) => {
			statements.push(sql);
			return x.run(sql, params);
		},
	});
	const direct = counted(inner);
	return {
		statements,
		reset: () => void statements.splice(0),
		dialect: inner.dialect,
		location: inner.location,
		journalDir: inner.journalDir,
		get: direct.get,
		all: direct.all,
		run: direct.run,
		transaction: (fn, durability, options) =>
			inner.transaction((tx) => fn(counted(tx)), durability, options),
		changeCounter: () => inner.changeCounter(),
		exec: (sql) => inner.exec(sql),
		close: () => inner.close(),
	};
}
