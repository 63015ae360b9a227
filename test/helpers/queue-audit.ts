/**
 * The leak audit of queue mode: every place a value could have reached in a cluster of n8n
 * processes, searched for every value in every encoding of the browser suite's scanner
 * (encodingsOf: raw, base64 at each alignment, base64url, URL, JSON, hex, UTF-16).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

import { type Hit, type Place, encodingsOf, scan } from '../browser/leak';
import { pgDump, testDatabase } from './n8n-queue';
import type { PrivateRedis } from './redis-server';

export interface QueueAuditInput {
	dir: string;
	/** Every process's output (n8n main and workers, serve, Redis, the CLIs), one file each. */
	logs: string;
	/** The user folder of each n8n process. */
	folders: Record<string, string>;
	/** n8n's own database. */
	database: string;
	/** The secrets store's schema in the suites' database. */
	schema: string;
	redis: PrivateRedis;
	/** Runs an n8n CLI command (for the exports). */
	n8n(args: string[]): Promise<string>;
	/** label -> value. */
	values: ReadonlyMap<string, string>;
}

export interface QueueAudit {
	places: Place[];
	hits: Hit[];
	summary: string;
}

/**
 * Every file under `dir` except the installed community packages (`.n8n/nodes`) and n8n's copy of
 * its editor's static files (`.cache/n8n/public`): n8n's config, event logs and storage.
 */
function userFolderFiles(dir: string, label: string): Place[] {
	const out: Place[] = [];
	const walk = (d: string): void => {
		for (const name of readdirSync(d)) {
			const full = join(d, name);
			const st = statSync(full, { throwIfNoEntry: false });
			if (!st) continue;
			if (st.isDirectory()) {
				if (full !== join(dir, '.n8n', 'nodes') && full !== join(dir, '.cache', 'n8n', 'public'))
					walk(full);
			} else if (st.isFile()) {
				out.push({ where: `${label}:${full.slice(dir.length + 1)}`, data: readFileSync(full) });
			}
		}
	};
	walk(dir);
	return out;
}

const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;

export async function auditQueueMode(input: QueueAuditInput): Promise<QueueAudit> {
	const { dir, logs } = input;
	const file = (name: string) => join(dir, name);
	await input.n8n(['export:workflow', '--all', `--output=${file('workflows.json')}`]);
	await input.n8n([
		'export:credentials',
		'--all',
		'--decrypted',
		`--output=${file('credentials.json')}`,
	]);
	await pgDump(input.database, file('n8n-database.sql'));
	await pgDump(testDatabase(), file('secrets-schema.sql'), input.schema);
	await input.redis.stopMonitor();
	const redisKeys = await input.redis.dumpAll();

	const read = (where: string, path: string): Place => ({ where, data: readFileSync(path) });
	const processLogs = readdirSync(logs).map((f) => read(`log:${f}`, join(logs, f)));
	const userFiles = Object.entries(input.folders).flatMap(([name, folder]) =>
		userFolderFiles(folder, name),
	);
	const places: Place[] = [
		read('n8n database (pg_dump)', file('n8n-database.sql')),
		read('secrets store schema (pg_dump)', file('secrets-schema.sql')),
		{ where: 'redis: every key, by type', data: redisKeys.data },
		read('export:workflow --all', file('workflows.json')),
		read('export:credentials --all --decrypted', file('credentials.json')),
		...processLogs,
		...userFiles,
	];
	const hits = scan(input.values, places);
	const forms = [...input.values.values()].reduce((n, v) => n + encodingsOf(v).length, 0);
	const monitor = places.find((p) => p.where === 'log:redis-monitor.log')!;
	const commands = monitor.data.toString('latin1').split('\n').length - 1;
	const keyTypes = Object.entries(redisKeys.types)
		.map(([t, n]) => `${n} ${t}`)
		.join(', ');
	const summary =
		`leak audit: ${input.values.size} values in ${forms} forms searched in ${places.length} places: ` +
		`n8n's PostgreSQL database (pg_dump, ${mb(places[0].data.length)}), the secrets schema (pg_dump), ` +
		`Redis (every key: ${keyTypes}; and MONITOR: ${commands} commands, ${mb(monitor.data.length)}), ` +
		`${processLogs.length - 1} process outputs (${processLogs
			.map((p) => p.where.slice(4))
			.filter((f) => f !== 'redis-monitor.log')
			.join(', ')}), both exports, ` +
		`${userFiles.length} files of the n8n user folders; ${hits.length} hits`;
	return { places, hits, summary };
}
