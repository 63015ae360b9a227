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
