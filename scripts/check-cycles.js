// Fails (exit 1) when the shipped code (src, nodes, credentials) has an import cycle. Type-only
// imports count: a cycle through types still ties the modules' designs together, and "imports point
// one way" (docs/ARCHITECTURE.md) is about every import.
//
// madge finds the cycles. It can also miss an import without saying so: an import it cannot resolve
// only lands in its "skipped" list, and a file it cannot parse, or a plain require() in TypeScript,
// just has no edges. So the check also fails when madge skipped anything, when a .ts file under the
// directories is missing from its graph, or when a relative import TypeScript itself finds in a file
// is not an edge of madge's graph: a cycle can only hide behind an edge madge did not see.
//
// Usage: node scripts/check-cycles.js [dir...]   (default: src nodes credentials)
const fs = require('node:fs');
const path = require('node:path');
const madge = require('madge');
const ts = require('typescript');

const root = path.resolve(__dirname, '..');
const dirs = process.argv.length > 2 ? process.argv.slice(2) : ['src', 'nodes', 'credentials'];
const tsConfigPath = path.join(root, 'tsconfig.json');

/** Project-relative path with forward slashes, the form madge's graph uses. */
const rel = (file) => path.relative(root, file).split(path.sep).join('/');

function tsFilesUnder(dir) {
	return fs
		.readdirSync(path.join(root, dir), { recursive: true, withFileTypes: true })
		.filter((e) => e.isFile() && e.name.endsWith('.ts'))
		.map((e) => rel(path.join(e.parentPath, e.name)));
}

function compilerOptions() {
	const parsed = ts.getParsedCommandLineOfConfigFile(
		tsConfigPath,
		{},
		{
			...ts.sys,
			onUnRecoverableConfigFileDiagnostic: (d) => {
				throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
			},
		},
	);
	return parsed.options;
}

/** The project .ts files a file imports, as TypeScript resolves them (npm packages left out). */
function projectImports(file, options) {
	const source = fs.readFileSync(path.join(root, file), 'utf8');
	const { importedFiles } = ts.preProcessFile(source, true, true);
	const found = [];
	for (const { fileName: specifier } of importedFiles) {
		const { resolvedModule } = ts.resolveModuleName(
			specifier,
			path.join(root, file),
			options,
			ts.sys,
		);
		if (resolvedModule && !resolvedModule.isExternalLibraryImport) {
			// A JSON or JavaScript file imports nothing back from here, so it cannot close a cycle.
			if (resolvedModule.resolvedFileName.endsWith('.ts'))
				found.push({ specifier, target: rel(resolvedModule.resolvedFileName) });
		} else if (!resolvedModule && specifier.startsWith('.')) {
			found.push({ specifier, target: null });
		}
	}
	return found;
}

async function main() {
	const result = await madge(
		dirs.map((d) => path.join(root, d)),
		{
			baseDir: root,
			fileExtensions: ['ts'],
			tsConfig: tsConfigPath,
			// Also see require() calls in TypeScript files (madge's TypeScript reader skips them by default).
			detectiveOptions: { ts: { mixedImports: true } },
		},
	);
	const graph = result.obj();
	const problems = [];

	const onDisk = dirs.flatMap(tsFilesUnder);
	const missing = onDisk.filter((f) => !(f in graph));
	if (missing.length > 0) {
		problems.push(`madge left out ${missing.length} file(s):\n  ${missing.join('\n  ')}`);
	}

	const { skipped } = result.warnings();
	if (skipped.length > 0) {
		problems.push(
			`madge could not resolve ${skipped.length} import(s) (unresolved imports hide edges):\n  ` +
				skipped.join('\n  '),
		);
	}

	const options = compilerOptions();
	const unseen = [];
	for (const file of onDisk.filter((f) => f in graph)) {
		for (const { specifier, target } of projectImports(file, options)) {
			if (target === null) unseen.push(`${file}: '${specifier}' does not resolve`);
			else if (!graph[file].includes(target))
				unseen.push(`${file}: '${specifier}' (${target}) is not in madge's graph`);
		}
	}
	if (unseen.length > 0) {
		problems.push(`imports madge did not see (${unseen.length}):\n  ${unseen.join('\n  ')}`);
	}

	const cycles = result.circular();
	if (cycles.length > 0) {
		const lines = cycles.map((c, i) => `  ${i + 1}) ${[...c, c[0]].join(' > ')}`);
		problems.push(
			`${cycles.length} import cycle(s) (type-only imports count; each line ends where it started):\n` +
				lines.join('\n') +
				'\nBreak each by moving the shared piece to a module both sides import, so imports point one way ' +
				'(docs/ARCHITECTURE.md, "Layout").',
		);
	}

	const checked = `${onDisk.length} files in ${dirs.join(', ')}`;
	if (problems.length > 0) {
		console.error(`check:cycles failed (${checked}):\n\n${problems.join('\n\n')}`);
		process.exit(1);
	}
	console.log(`check:cycles: no import cycles (${checked}, every import seen).`);
}

main().catch((err) => {
	console.error(`check:cycles could not run: ${err && err.stack ? err.stack : err}`);
	process.exit(1);
});
