/**
 * `npm run bench`, the Secrets page's listing: a page of 50 secrets from a store of 1,000 and from one
 * of 100,000 (SQLite), first and deep pages in each order, search as you type and a status filter,
 * with the ratio of the two stores' p50 (keyset paging should keep a deep page as cheap as the first).
 *
 * Environment: BENCH_LIST_SECRETS (default 100000), BENCH_LIST_REPEAT (default 30).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { ListSecretsInput } from '../src/core/schemas';
import { rawKeyProvider } from '../src/crypto/master-key';
import { SecretsService } from '../src/service/secrets-service';
import { SqliteDriver } from '../src/store/sqlite/sqlite-driver';
import { type Summary, summarize } from './summary';

const name = (i: number) => `svc-${String(i).padStart(6, '0')}`;

async function seeded(dir: string, count: number) {
	const { service, token } = await SecretsService.init(
		new SqliteDriver(join(dir, `list-${count}.db`)),
		rawKeyProvider(randomBytes(32).toString('base64'), 'bench key'),
		{},
	);
	const admin = { token };
	const t0 = Date.now();
	for (let i = 0; i < count; i++) {
		const withValue = i % 100 === 0;
		await service.createSecret(admin, {
			name: name(i),
			description: `Key for service ${i} of team ${i % 50}`,
			tags: [`team-${i % 50}`],
			...(withValue
				? {
						environment: 'production',
						value: `v-${i}`,
						expiresAt: new Date(Date.now() + ((i / 100) % 60) * 86_400_000).toISOString(),
					}
				: {}),
		});
		if ((i + 1) % 20_000 === 0)
			process.stderr.write(`  seeded ${i + 1}/${count} secrets (${Date.now() - t0} ms)\n`);
	}
	return { service, admin };
}

async function time(
	service: SecretsService,
	admin: { token: string },
	input: ListSecretsInput,
	repeat: number,
): Promise<Summary> {
	const samples: number[] = [];
	const start = process.hrtime.bigint();
	for (let k = 0; k < repeat; k++) {
		const t0 = process.hrtime.bigint();
		await service.listSecrets(admin, input);
		samples.push(Number(process.hrtime.bigint() - t0));
	}
	return summarize(samples, Number(process.hrtime.bigint() - start));
}

/** The queries, each a page of 50; deep pages start at the middle of the store. */
function queries(count: number): Record<string, ListSecretsInput> {
	const middle = name(Math.floor(count / 2));
	return {
		'first page, by name': { limit: 50 },
		'middle page, by name': { limit: 50, cursor: middle },
		'first page, last changed first': { limit: 50, sort: '-updatedAt' },
		'search "team-7" (a tag, 2%)': { limit: 50, search: 'team-7' },
		'search a name part (1 hit)': { limit: 50, search: name(Math.floor(count / 3)).slice(4) },
		'status expiring (30 days)': { limit: 50, status: 'expiring' },
	};
}

async function main(): Promise<void> {
	const big = Number(process.env.BENCH_LIST_SECRETS ?? 100_000);
	const repeat = Number(process.env.BENCH_LIST_REPEAT ?? 30);
	const base = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
	const dir = mkdtempSync(join(base, 'n8n-secrets-bench-list-'));
	const result: Record<string, Record<string, Summary>> = {};
	try {
		for (const count of [1000, big]) {
			process.stderr.write(`Seeding ${count} secrets for the listing benchmark\n`);
			const { service, admin } = await seeded(dir, count);
			try {
				result[count] = {};
				for (const [label, input] of Object.entries(queries(count))) {
					await time(service, admin, input, 3);
					result[count][label] = await time(service, admin, input, repeat);
				}
			} finally {
				await service.close();
			}
		}
	} finally {
		rmSync(dir, { recursive: true, force: true });
	}
	console.log(`n8n-nodes-secrets listing benchmark (Node ${process.version}, pages of 50)`);
	const ratios: Record<string, number> = {};
	for (const label of Object.keys(result[1000])) {
		const small = result[1000][label].p50 / 1000;
		const large = result[big][label].p50 / 1000;
		ratios[label] = large / small;
		console.log(
			`  ${label.padEnd(32)} 1,000: p50 ${small.toFixed(2)} ms   ${big.toLocaleString('en-US')}: p50 ${large.toFixed(2)} ms (p99 ${(result[big][label].p99 / 1000).toFixed(2)} ms)   ${ratios[label].toFixed(1)}x`,
		);
	}
	mkdirSync('.bench', { recursive: true });
	writeFileSync(join('.bench', 'list.json'), JSON.stringify({ result, ratios }, null, 2));
}

main().catch((err) => {
	console.error(err);
	process.exit(1);
});
