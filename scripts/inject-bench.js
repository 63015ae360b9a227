/**
 * The server's own cost per request, without the network: fastify's app.inject on resolve (and, unless
 * --resolve-only, a list page of 50 and whoami) against an embedded SQLite store of 200 secrets. It
 * loads the compiled code of the checkout it is given, so two checkouts (say the commit before a change
 * and after it, each after `npm run build`) are measured alike, one after the other:
 *
 *   node scripts/inject-bench.js /path/to/checkout [--resolve-only]
 */
const root = require('node:path').resolve(process.argv[2] ?? '.');
const resolveOnly = process.argv.includes('--resolve-only');
const { randomBytes } = require('node:crypto');
const { mkdtempSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { rawKeyProvider } = require(`${root}/dist/src/crypto/master-key`);
const { buildServer } = require(`${root}/dist/src/server/app`);
const { SecretsService } = require(`${root}/dist/src/service/secrets-service`);
const { SqliteDriver } = require(`${root}/dist/src/store/sqlite/sqlite-driver`);
(async () => {
	const key = randomBytes(32).toString('base64');
	const db = join(mkdtempSync(join(tmpdir(), 'inj-')), 's.db');
	const { service, token } = await SecretsService.init(
		new SqliteDriver(db),
		rawKeyProvider(key, 'k'),
	);
	for (let i = 0; i < 200; i++)
		await service.createSecret(
			{ token },
			{
				name: `s${i}`,
				environment: 'production',
				value: `v${i}`,
				allowedHosts: ['api.example.com'],
			},
		);
	const user = (await service.createToken({ token }, { subject: 'u', role: 'runtime' })).token;
	const app = await buildServer({ service, log: () => {} });
	const run = async (label, n, req) => {
		for (let i = 0; i < 2000; i++) await app.inject(req(i));
		const t = process.hrtime.bigint();
		for (let i = 0; i < n; i++) {
			const r = await app.inject(req(i));
			if (r.statusCode >= 300) throw new Error(`${label}: ${r.statusCode} ${r.body}`);
		}
		console.log(
			`${label}: ${(Number(process.hrtime.bigint() - t) / 1e3 / n).toFixed(1)} µs/request`,
		);
	};
	for (let round = 0; round < 2; round++) {
		await run('resolve', 20000, (i) => ({
			method: 'POST',
			url: `/api/v1/secrets/s${i % 200}/resolve?env=production`,
			headers: { authorization: `Bearer ${user}`, 'content-type': 'application/json' },
			payload: JSON.stringify({ destinationHost: 'https://api.example.com:443' }),
		}));
		if (!resolveOnly)
			await run('list 50', 3000, () => ({
				method: 'GET',
				url: '/api/v1/secrets?limit=50',
				headers: { authorization: `Bearer ${token}` },
			}));
		if (!resolveOnly)
			await run('whoami', 20000, () => ({
				method: 'GET',
				url: '/api/v1/whoami',
				headers: { authorization: `Bearer ${token}` },
			}));
	}
	await app.close();
	await service.close();
})();
