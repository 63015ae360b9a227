import { SecretsError } from '../core/errors';

/** What a command may touch: injected so tests can run the CLI in-process as well as in a child. */
export interface CliIo {
	env: NodeJS.ProcessEnv;
	/** All of standard input, read only when a command asks for a value. */
	stdin: () => Promise<string>;
	out: (text: string) => void;
	err: (text: string) => void;
	/** Whether stdout is a terminal (tables get no colour codes either way). */
	isTty: boolean;
}

/** Set by a command that must exit non-zero without an error (a broken audit chain). */
export class ExitCode {
	constructor(readonly code: number) {}
}

/**
 * Standard input as text, byte for byte: a value is text stored as UTF-8, so bytes that are not
 * UTF-8 are refused rather than stored as U+FFFD (the value would silently differ from the input).
 * A leading byte order mark is kept: it is part of what was given.
 */
export function decodeStdin(bytes: Uint8Array): string {
	try {
		return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
	} catch {
		throw new SecretsError(
			'INVALID_INPUT',
			'Standard input is not valid UTF-8 text, and a value is text. Store binary data encoded, ' +
				'for example `base64 < key.der | n8n-secrets secret set … --value-stdin`.',
		);
	}
}
