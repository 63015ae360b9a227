/** Parsers for option values, and the options several commands declare alike. */
import { InvalidArgumentError, Option } from 'commander';

// ---- parsers (commander calls them with the new value and the previous one) ------------------------

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

// ---- shared options ---------------------------------------------------------------------------------

/** `--json`: the result as JSON on stdout instead of text for people. */
export function jsonOption(): Option {
	return new Option('--json', 'print JSON');
}

/** `--reason`: recorded with the change in the audit trail. */
export function reasonOption(): Option {
	return new Option('--reason <text>', 'why, for the audit trail');
}

/** `--env`, required: the command acts on one environment's value line. */
export function envOption(): Option {
	return new Option(
		'--env <environment>',
		'environment (development, staging, production, … or * for all)',
	).makeOptionMandatory();
}

/** `--expected-version`: check-and-set against the latest version. */
export function expectedVersionOption(description: string): Option {
	return new Option('--expected-version <n>', description).argParser(nonNegativeInt);
}
