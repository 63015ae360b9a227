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
