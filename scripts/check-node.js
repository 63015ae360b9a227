// npm puts node_modules/.bin first on PATH, so the pinned Node 24 (devDependency "node") runs the
// project's scripts. Fail early and clearly if that did not happen.
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
	console.error(
		`n8n-nodes-secrets needs Node.js 24 or newer (n8n 2.x runs on it); this is ${process.version}. ` +
			'Run the project through npm scripts (npm test, npm start) after `npm ci`, which installs Node 24.',
	);
	process.exit(1);
}
