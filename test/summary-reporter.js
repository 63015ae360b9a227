// Prints one plain closing line, "N passed, N failed, N skipped", as the very last line of the run, so
// any CI can read its outcome without knowing jest's format. Jest's own summary is printed after every
// custom reporter has run, so the line is written when the process exits (stderr writes are synchronous
// then on Linux, for terminals, files and pipes alike).
class SummaryReporter {
	onRunComplete(_contexts, results) {
		const skipped = results.numPendingTests + results.numTodoTests;
		const line = `\n${results.numPassedTests} passed, ${results.numFailedTests} failed, ${skipped} skipped\n`;
		process.once('exit', () => process.stderr.write(line));
	}
}

module.exports = SummaryReporter;
