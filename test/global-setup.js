// Some suites run the package as users do: the built CLI in a child process, several OS processes on
// one store, n8n's own package loader, the Secrets page in a browser. Build it once, as `npm run build`
// does (compile the package and the page, then copy icons, codex files and the page's static files),
// before any suite starts, so they never see a stale or half-written dist/.
const { execFileSync } = require('node:child_process');
const path = require('node:path');

module.exports = async function globalSetup() {
	const root = path.resolve(__dirname, '..');
	const run = (script, args) =>
		execFileSync(process.execPath, [path.join(root, 'node_modules', script), ...args], {
			cwd: root,
			stdio: 'inherit',
		});
	run('typescript/bin/tsc', ['-p', 'tsconfig.build.json']);
	run('typescript/bin/tsc', ['-p', 'ui/tsconfig.json']);
	run('gulp/bin/gulp.js', ['--silent', 'build']);
};
