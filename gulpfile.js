// Copies what tsc does not: node and credential icons and the codex files (<Node>.node.json) that
// n8n reads beside each compiled node.
const { src, dest } = require('gulp');

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

exports['build:icons'] = buildIcons;
