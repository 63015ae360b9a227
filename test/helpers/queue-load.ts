/**
 * Executions triggered continuously through a published webhook while a value changes, and what the
 * upstream saw on each worker before and after the change was acknowledged.
 */
import { type Seen, type Triggered, trigger } from './queue-workflows';

export interface SwitchResult {
	/** performance.now() when the CLI acknowledged the change. */
	ackAt: number;
	/** Per worker: ms from the acknowledgment to the first request it sent with the new value. */
	lagMs: Record<string, number>;
	/** Requests of executions triggered after the acknowledgment, per worker. */
	after: Record<string, Seen[]>;
	/** Requests of executions triggered after the acknowledgment that did not send the new value. */
	stale: Seen[];
	triggered: Triggered[];
}

export interface Load {
	mainBase: string;
	path: string;
	/** Where the upstream's requests are recorded. */
	seen: Seen[];
	/** The worker that ran an execution, by its id (from the workers' logs). */
	workerOf(execution: string): string | undefined;
	workers: string[];
	nextSeq(): number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Keeps `concurrency` webhook calls in flight; once every worker has served one, runs `change` (it
 * returns the acknowledgment's time) and goes on until every worker has served an execution
 * triggered after it with `expected` as credential (or 30 s pass).
 */
export async function measureSwitch(
	load: Load,
	expected: string,
	credentialOf: (s: Seen) => string | undefined,
	change: () => Promise<number>,
	concurrency = 4,
	/** Executions triggered after the acknowledgment each worker must have run before it stops. */
	minAfter = 8,
): Promise<SwitchResult> {
	const triggered: Triggered[] = [];
	let running = true;
	// A call that fails (not 200) stops the load: the test reports it instead of measuring around it.
	const loop = async () => {
		while (running) {
			const t = await trigger(load.mainBase, load.path, load.nextSeq());
			triggered.push(t);
			if (t.status !== 200) running = false;
		}
	};
	const loops = Array.from({ length: concurrency }, loop);
	const sentAt = new Map<number, number>();
	const mine = () => {
		for (const t of triggered) sentAt.set(t.seq, t.sentAt);
		return load.seen.filter((s) => s.path.endsWith(`/${load.path}`) && sentAt.has(s.seq));
	};
	const servedBy = (seen: Seen[]) =>
		new Set(seen.map((s) => load.workerOf(s.execution)).filter(Boolean));
	try {
		const warm = Date.now() + 30_000;
		while (running && servedBy(mine()).size < load.workers.length && Date.now() < warm)
			await sleep(20);
		const ackAt = await change();
		const until = Date.now() + 30_000;
		const afterAck = () => mine().filter((s) => sentAt.get(s.seq)! > ackAt);
		const done = (w: string) => {
			const mineAfter = afterAck().filter((s) => load.workerOf(s.execution) === w);
			return mineAfter.length >= minAfter && mineAfter.some((s) => credentialOf(s) === expected);
		};
		while (running && !load.workers.every(done) && Date.now() < until) await sleep(20);
		running = false;
		await Promise.all(loops);
		const seen = mine();
		const lagMs: Record<string, number> = {};
		const after: Record<string, Seen[]> = {};
		for (const w of load.workers) {
			const first = seen.find(
				(s) => load.workerOf(s.execution) === w && credentialOf(s) === expected,
			);
			if (first) lagMs[w] = Math.round(first.at - ackAt);
			after[w] = afterAck().filter((s) => load.workerOf(s.execution) === w);
		}
		return {
			ackAt,
			lagMs,
			after,
			stale: afterAck().filter((s) => credentialOf(s) !== expected),
			triggered,
		};
	} finally {
		running = false;
		await Promise.all(loops);
	}
}

/** `count` webhook calls with `concurrency` in flight: each call's round trip, sorted (ms). */
export async function roundTrips(
	load: Pick<Load, 'mainBase' | 'path' | 'nextSeq'>,
	count: number,
	concurrency = 4,
): Promise<{ ms: number[]; failed: number; perSecond: number }> {
	const calls: Triggered[] = [];
	const started = performance.now();
	const loop = async () => {
		while (calls.length < count) {
			calls.push(await trigger(load.mainBase, load.path, load.nextSeq()));
		}
	};
	await Promise.all(Array.from({ length: concurrency }, loop));
	const elapsed = performance.now() - started;
	return {
		ms: calls.map((c) => c.ms).sort((a, b) => a - b),
		failed: calls.filter((c) => c.status !== 200).length,
		perSecond: Math.round((calls.length / elapsed) * 1000),
	};
}

/** The q-th quantile of sorted numbers, rounded. */
export const quantile = (sorted: number[], q: number): number =>
	Math.round(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))]);
