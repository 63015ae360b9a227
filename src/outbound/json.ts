/**
 * JSON parsed with a bound on nesting. Resolving references and scrubbing walk a parsed value
 * recursively, so a request body nested thousands deep would exhaust the stack; the bound is checked
 * before parsing, in one pass without recursion.
 */

export const NOT_JSON = Symbol('not JSON');
export const TOO_DEEP = Symbol('nested too deep');

/**
 * Whether JSON text nests arrays and objects deeper than `max`. One pass, no recursion, strings
 * skipped; exact for valid JSON, and invalid JSON fails to parse anyway.
 */
function nestedDeeperThan(text: string, max: number): boolean {
	let depth = 0;
	let inString = false;
	for (let i = 0; i < text.length; i++) {
		const c = text.charCodeAt(i);
		if (inString) {
			if (c === 0x5c) i++;
			else if (c === 0x22) inString = false;
		} else if (c === 0x22) inString = true;
		else if (c === 0x5b || c === 0x7b) {
			if (++depth > max) return true;
		} else if (c === 0x5d || c === 0x7d) depth--;
	}
	return false;
}

/** The parsed value, `NOT_JSON`, or `TOO_DEEP` when it nests deeper than `maxDepth` (not parsed). */
export function parseJson(text: string, maxDepth: number): unknown {
	if (nestedDeeperThan(text, maxDepth)) return TOO_DEEP;
	try {
		return JSON.parse(text);
	} catch {
		return NOT_JSON;
	}
}
