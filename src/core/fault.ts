/**
 * Named crash points for fault-injection tests. When N8N_SECRETS_FAULT_POINT names a point (or a
 * comma-separated list of them), the process kills itself with SIGKILL the moment it reaches one:
 * no `finally`, no exit handler, no flush, exactly as a power cut or the OOM killer would stop it.
 * `name@N` stops at the N-th time the point is reached. Unset (always, outside tests), this is a
 * single property lookup.
 */
const counts = new Map<string, number>();

function armed(): Map<string, number> | null {
	const spec = process.env.N8N_SECRETS_FAULT_POINT;
	if (!spec) return null;
	const points = new Map<string, number>();
	for (const part of spec.split(',')) {
		const [name, nth] = part.trim().split('@');
		if (name) points.set(name, nth ? Number(nth) : 1);
	}
	return points;
}

/** Stops the process here if a test asked for it (see above). */
export function faultPoint(name: string): void {
	const points = armed();
	if (!points) return;
	const nth = points.get(name);
	if (nth === undefined) return;
	const seen = (counts.get(name) ?? 0) + 1;
	counts.set(name, seen);
	if (seen === nth) {
		// Say where, for the test's log, then die without running anything else.
		process.stderr.write(`fault point ${name} reached: killing process ${process.pid}\n`);
		process.kill(process.pid, 'SIGKILL');
	}
}
