/** The server's log: JSON lines built field by field, never from a request or an error object. */
/** One structured log line (JSON). Only the fields named here are ever written. */
export interface LogLine {
	level: 'info' | 'warn' | 'error';
	msg: string;
	reqId?: string;
	method?: string;
	path?: string;
	status?: number;
	ms?: number;
	code?: string;
}

export type Logger = (line: LogLine) => void;

/** One log line as written: JSON with the time first. */
export function formatLogLine(line: LogLine): string {
	return `${JSON.stringify({ time: new Date().toISOString(), ...line })}\n`;
}

export function defaultLog(line: LogLine): void {
	process.stdout.write(formatLogLine(line));
}
