/** Plain-text tables and values for people; `--json` output bypasses all of this. */
import { InvalidArgumentError } from 'commander';

export function table(headers: string[], rows: (string | number | null | undefined)[][]): string {
	const cells = rows.map((r) =>
		r.map((c) => (c === null || c === undefined || c === '' ? '-' : String(c))),
	);
	const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i].length)));
	const line = (r: string[]) =>
		r
			.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i])))
			.join('  ')
			.trimEnd();
	return [line(headers), ...cells.map(line)].join('\n') + '\n';
}

/** `2026-11-23T12:00:00.000Z` -> `2026-11-23 12:00Z`: short enough for a table, still unambiguous. */
export function shortDate(iso: string | null | undefined): string {
	if (!iso) return '-';
	return `${iso.slice(0, 10)} ${iso.slice(11, 16)}Z`;
}

export function json(value: unknown): string {
	return `${JSON.stringify(value, null, 2)}\n`;
}

// ---- option parsers (commander calls them with the new value and the previous one) -------------

/** `90d` or `90` -> 90: the CLI speaks in days for rotation intervals. */
export function days(text: string): number {
	const m = /^(\d+)d?$/.exec(text.trim());
	if (!m || Number(m[1]) < 1)
		throw new InvalidArgumentError('expected a number of days, such as 90d.');
	return Number(m[1]);
}

export function positiveInt(text: string): number {
	if (!/^\d+$/.test(text) || Number(text) < 1)
		throw new InvalidArgumentError('expected a positive whole number.');
	return Number(text);
}

export function nonNegativeInt(text: string): number {
	if (!/^\d+$/.test(text)) throw new InvalidArgumentError('expected a whole number.');
	return Number(text);
}

export function collect(value: string, previous: string[] = []): string[] {
	return [...previous, value];
}
