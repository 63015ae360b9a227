/** Latency percentiles (µs) and throughput of a series of timed calls, for the benchmarks. */
export interface Summary {
	p50: number;
	p90: number;
	p95: number;
	p99: number;
	mean: number;
	opsPerSec: number;
}

export function summarize(samplesNs: ArrayLike<number>, totalNs: number): Summary {
	const sorted = Float64Array.from(samplesNs).sort();
	const at = (q: number) =>
		sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] / 1000;
	return {
		p50: at(0.5),
		p90: at(0.9),
		p95: at(0.95),
		p99: at(0.99),
		mean: sorted.reduce((a, b) => a + b, 0) / sorted.length / 1000,
		opsPerSec: sorted.length / (totalNs / 1e9),
	};
}

/** Runs `op` `iterations` times spread over `clients` concurrent loops; per-call latency and total rate. */
export async function measure(
	iterations: number,
	clients: number,
	op: (i: number) => Promise<unknown>,
): Promise<Summary> {
	const samples: number[] = [];
	let next = 0;
	const start = process.hrtime.bigint();
	await Promise.all(
		Array.from({ length: clients }, async () => {
			for (let i = next++; i < iterations; i = next++) {
				const t0 = process.hrtime.bigint();
				await op(i);
				samples.push(Number(process.hrtime.bigint() - t0));
			}
		}),
	);
	return summarize(samples, Number(process.hrtime.bigint() - start));
}

/** p50, p99 and throughput on one line. */
export function formatP50P99(s: Summary): string {
	return `p50 ${s.p50.toFixed(1)} µs   p99 ${s.p99.toFixed(1)} µs   ${Math.round(s.opsPerSec).toLocaleString('en-US')} ops/s`;
}
