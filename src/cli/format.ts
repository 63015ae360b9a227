/** Plain-text tables and values for people; `--json` output bypasses all of this. */
import type { CliIo } from './io';

type Cell = string | number | null | undefined;

export function table(headers: string[], rows: Cell[][]): string {
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

/** How a list is shown to people: a table, or a sentence when it is empty (else an empty table). */
export interface ListView<T> {
	headers: string[];
	row: (item: T) => Cell[];
	empty?: string;
}

/** Prints a list as JSON with `--json`, else as its view. */
export function printList<T>(
	io: CliIo,
	o: { json?: boolean },
	items: T[],
	view: ListView<T>,
): void {
	if (o.json) io.out(json(items));
	else if (items.length === 0 && view.empty !== undefined) io.out(view.empty);
	else io.out(table(view.headers, items.map(view.row)));
}
