// A separate OS process working on a shared store (the SQLite file or the PostgreSQL database its
// environment names), through the built package (dist/), as a second
// n8n worker would. Configured by environment; prints one JSON line per acknowledged step.
const { writeSync } = require('node:fs');
const { SecretsService } = require('../../dist/src/service/secrets-service');
const { openDriver } = require('../../dist/src/service/config');
const { rawKeyProvider } = require('../../dist/src/crypto/master-key');

async function main() {
	const { WORKER_KEY, WORKER_TOKEN, WORKER_MODE, WORKER_ID, WORKER_COUNT } = process.env;
	const service = await SecretsService.open(
		openDriver(process.env),
		rawKeyProvider(WORKER_KEY, 'worker key'),
	);
	const caller = {
		token: WORKER_TOKEN,
		context: { workflowId: `worker-${WORKER_ID}`, executionId: String(process.pid) },
	};
	const count = Number(WORKER_COUNT);
	const target = { name: 'shared', environment: 'production' };
	if (WORKER_MODE === 'reencrypt') {
		// One value per batch, acknowledging each, so the parent can kill it part-way.
		await service.rotateMasterKey({
			reencrypt: true,
			batchSize: 1,
			onProgress: (p) => process.stdout.write(`${p.done}/${p.total}\n`),
		});
		await service.close();
		return;
	}
	if (WORKER_MODE === 'use-numbered') {
		// Each use names its number (executionId), so the parent can tell that every acknowledged one
		// is chained exactly once; yielding to the event loop lets the journal's ingest timer run.
		for (let i = 1; count === 0 || i <= count; i++) {
			await service.use(
				{ token: WORKER_TOKEN, context: { workflowId: `worker-${WORKER_ID}`, executionId: String(i) } },
				target,
			);
			process.stdout.write(`${i}\n`);
			if (i % 5 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
		}
		await service.close();
		return;
	}
	if (WORKER_MODE === 'archive') {
		const r = await service.archiveAudit(
			{ token: WORKER_TOKEN },
			{ before: process.env.WORKER_BEFORE, out: process.env.WORKER_OUT },
		);
		await service.close();
		process.stdout.write(`${JSON.stringify(r)}\n`);
		return;
	}
	if (WORKER_MODE === 'rewrap') {
		// Replaces the master key with WORKER_NEW_KEY (store-wide, as `key rotate` does).
		await service.rotateMasterKey({ newKey: rawKeyProvider(process.env.WORKER_NEW_KEY, 'new key') });
		await service.close();
		return;
	}
	if (WORKER_MODE === 'rotate-keys-loop') {
		// Re-encrypts the tenant again and again for WORKER_COUNT ms, as an impatient admin would.
		const until = Date.now() + count;
		const tally = { id: WORKER_ID, rotated: 0, refused: 0 };
		while (Date.now() < until) {
			try {
				await service.rotateDataKeys(caller, { batchSize: 3 });
				tally.rotated++;
			} catch (err) {
				if (err.code !== 'ROTATION_IN_PROGRESS') throw err;
				tally.refused++;
			}
		}
		await service.close();
		// Written synchronously: the parent parses this line, and the process ends right after it.
		writeSync(1, `${JSON.stringify(tally)}\n`);
		return;
	}
	if (WORKER_MODE === 'use-loop') {
		for (let i = 1; ; i++) {
			await service.use(caller, target);
			process.stdout.write(`${i}\n`);
		}
	}
	let conflicts = 0;
	for (let i = 0; i < count; i++) {
		for (;;) {
			const [latest] = await service.listVersions(caller, target);
			try {
				await service.rotate(caller, {
					...target,
					value: `w${WORKER_ID}-${i}`,
					expectedVersion: latest.version,
				});
				break;
			} catch (err) {
				if (err.code !== 'VERSION_CONFLICT') throw err;
				conflicts++;
			}
		}
		await service.use(caller, target);
	}
	await service.close();
	process.stdout.write(
		`${JSON.stringify({ id: WORKER_ID, rotations: count, uses: count, conflicts })}\n`,
	);
}

main().catch((err) => {
	process.stderr.write(`${err.code ?? ''} ${err.message}\n`);
	process.exit(1);
});
