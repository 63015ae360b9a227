/** The package's version, read from its package.json (from src/ in tests, from dist/src when built). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

function packageVersion(): string {
	for (const up of ['../..', '../../..']) {
		try {
			const pkg = JSON.parse(readFileSync(join(__dirname, up, 'package.json'), 'utf8')) as {
				name?: string;
				version?: string;
			};
			if (pkg.name === 'n8n-nodes-secrets' && pkg.version) return pkg.version;
		} catch {
			// not at this level
		}
	}
	return '0.0.0';
}

export const PACKAGE_VERSION = packageVersion();
