import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { PackageDirectoryLoader } from 'n8n-core';

const ROOT = resolve(__dirname, '..', '..');

describe('the package as n8n loads it', () => {
	it("loads every node and credential from package.json's n8n field, with icons that exist", async () => {
		const loader = new PackageDirectoryLoader(ROOT);
		await loader.loadAll();
		expect(loader.packageName).toBe('n8n-nodes-secrets');
		expect(Object.keys(loader.nodeTypes).sort()).toEqual([
			'secretHttpRequest',
			'secrets',
			'secretsTrigger',
		]);
		expect(Object.keys(loader.credentialTypes).sort()).toEqual([
			'secretReferenceAuth',
			'secretsStoreApi',
		]);
		const icons = [...loader.types.nodes, ...loader.types.credentials].flatMap((d) => {
			const icon = (d as { iconUrl?: { light: string; dark: string } }).iconUrl;
			return icon ? [icon.light, icon.dark] : [];
		});
		expect(icons).toHaveLength(10);
		for (const url of icons) {
			// n8n serves icons/<package>/<path inside the package>; only dist/ is published.
			const path = url.replace(/^icons\/n8n-nodes-secrets\//, '');
			expect(path).toMatch(/^dist\//);
			expect(existsSync(join(ROOT, path))).toBe(true);
		}
		const store = loader.types.credentials.find((c) => c.name === 'secretsStoreApi') as {
			supportedNodes?: string[];
		};
		expect(store.supportedNodes?.sort()).toEqual([
			'secretHttpRequest',
			'secrets',
			'secretsTrigger',
		]);
	});

	it('gives the nodes their codex files and makes the HTTP node usable as an AI tool', async () => {
		const loader = new PackageDirectoryLoader(ROOT);
		await loader.loadAll();
		const http = loader.types.nodes.find((n) => n.name === 'secretHttpRequest') as {
			codex?: { categories?: string[] };
			usableAsTool?: boolean;
		};
		expect(http.codex?.categories).toContain('Development');
		expect(
			loader.types.nodes.some(
				(n) => n.name === 'secretHttpRequestTool' || (n as { usableAsTool?: boolean }).usableAsTool,
			),
		).toBe(true);
	});
});
