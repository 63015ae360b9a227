import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { routesMarkdown } from '../../src/server/openapi';

/** Table rows as cells, so the check does not depend on how a formatter pads the columns. */
function rows(markdown: string): string[][] {
	return markdown
		.split('\n')
		.filter((line) => /^\|\s*`(GET|POST|PUT|PATCH|DELETE) /.test(line))
		.map((line) =>
			line
				.split('|')
				.slice(1, -1)
				.map((cell) => cell.trim()),
		);
}

describe('docs/SERVER.md', () => {
	it('shows every route with the permission the service enforces, and nothing else', () => {
		const doc = readFileSync(join(__dirname, '..', '..', 'docs', 'SERVER.md'), 'utf8');
		const table = doc.slice(doc.indexOf('### Routes'), doc.indexOf('### Token limits'));
		expect(rows(table)).toEqual(rows(routesMarkdown()));
		expect(rows(routesMarkdown()).length).toBeGreaterThan(20);
	});
});
