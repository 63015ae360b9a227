// Some suites run the package as users do: the built CLI in a child process, several OS processes on
// one store, n8n's own package loader. Build it once before any suite starts, so they never see a stale or half-written dist/.
const { execFileSync } = require('node:child_process');
const path = require('node:path');

module.exports = async function globalSetup() {
	const root = path.resolve(__dirname, '..');
	execFileSync(
		process.execPath,
		[require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json'],
		{
			cwd: root,
			stdio: 'inherit',
		},
	);
};
