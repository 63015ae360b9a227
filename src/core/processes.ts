/**
 * Whether a process of this host is gone: signal 0 checks that it exists without touching it. A
 * process we may not signal (EPERM) exists. Used to tell a crashed holder of a journal file or of a
 * re-encryption lease from a live one.
 */
export function processGone(pid: number): boolean {
	try {
		process.kill(pid, 0);
		return false;
	} catch (err) {
		return (err as NodeJS.ErrnoException).code === 'ESRCH';
	}
}
