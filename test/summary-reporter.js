// Prints one plain closing line, "N passed, N failed, N skipped", after jest's own summary, so any CI
// can read the outcome of the run without knowing jest's format.
class SummaryReporter {
	onRunComplete(_contexts, results) {
		const skipped = results.numPendingTests + results.numTodoTests;
		process.stdout.write(
			`\n${results.numPassedTests} passed, ${results.numFailedTests} failed, ${skipped} skipped\n`,
		);
	}
}

module.exports = SummaryReporter;
