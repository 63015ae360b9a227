/**
 * Thrown when a resolution's audit record was refused because the store changed since its cached rows
 * were read: nothing was recorded or handed out, and the runner runs the call again on fresh rows.
 */
export class StaleRead extends Error {
	constructor() {
		super('The secrets store changed while this call read it; it is run again.');
	}
}
