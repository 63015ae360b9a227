// Copies what tsc does not: node and credential icons and the codex files (<Node>.node.json) that
// n8n reads beside each compiled node, and the Secrets page's static files (HTML, CSS, icons).
const { src, dest, parallel } = require('gulp');

function buildIcons() {
	return src(
		['icons/*.svg', 'nodes/**/*.{png,svg}', 'nodes/**/*.node.json', 'credentials/**/*.{png,svg}'],
		{
			base: '.',
			allowEmpty: true,
			encoding: false,
		},
	).pipe(dest('dist'));
}

function buildPage() {
	return src(['ui/static/**/*'], { base: 'ui/static', allowEmpty: true, encoding: false }).pipe(
		dest('dist/ui'),
	);
}

exports['build:icons'] = buildIcons;
exports['build:page'] = buildPage;
exports.build = parallel(buildIcons, buildPage);
