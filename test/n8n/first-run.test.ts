/**
 * What a new user meets first: the `n8n-secrets` command on whatever Node.js they have, the credential
 * dialogs as n8n 2.41 draws them (a field's hint and the type's documentationUrl, never its
 * description), the nodes' Docs links, and `npm start`'s choice to rebuild only when an input changed.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';

import { type ICredentialType, type INodeProperties, NodeHelpers } from 'n8n-workflow';

import { SecretReferenceAuth } from '../../credentials/SecretReferenceAuth.credentials';
import { SecretsStoreApi } from '../../credentials/SecretsStoreApi.credentials';
import { SecretHttpRequest } from '../../nodes/SecretHttpRequest/SecretHttpRequest.node';
import { Secrets } from '../../nodes/Secrets/Secrets.node';
import { SecretsTrigger } from '../../nodes/SecretsTrigger/SecretsTrigger.node';
import { closeEmbeddedStores } from '../../src/n8n/connection';
import { testSecretReferenceAuth } from '../../src/n8n/node-support';
import { BACKEND_MODE, startBackend } from '../helpers/backend-mode';
import { createTestStore } from '../helpers/store';

const ROOT = resolve(__dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'n8n-secrets.js');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const runtime = require('../../scripts/n8n-runtime.js') as { sourceDigest(root: string): string };

/** The machine's own Node.js when it is older than 24 (Debian's is 20), else undefined. */
function olderNode(): string | undefined {
	const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/local/bin', '/usr/bin', '/bin'];
	for (const dir of dirs) {
		const node = join(dir, 'node');
		if (!dir || !existsSync(node)) continue;
		const v = spawnSync(node, ['-p', 'process.versions.node'], { encoding: 'utf8' });
		if (v.status === 0 && Number(v.stdout.split('.')[0]) < 24) return node;
	}
	return undefined;
}

describe('the n8n-secrets command', () => {
	it('on a Node.js older than 24 says which it needs and exits 1, even for --help', () => {
		// Node 24 told it is 20.11.0, always; and the machine's own older Node when it has one.
		const runs = [
			spawnSync(
				process.execPath,
				[
					'-e',
					"Object.defineProperty(process.versions, 'node', { value: '20.11.0' }); require(process.argv[1]);",
					BIN,
					'--help',
				],
				{ encoding: 'utf8' },
			),
		];
		const old = olderNode();
		if (old) runs.push(spawnSync(old, [BIN, '--help'], { encoding: 'utf8' }));
		for (const r of runs) {
			expect(r.status).toBe(1);
			expect(r.stdout).toBe('');
			expect(r.stderr).toMatch(
				/^n8n-secrets needs Node\.js 24 or later \(this is Node 20\.\d+\.\d+ at /,
			);
			expect(r.stderr).not.toContain('ERR_UNKNOWN_BUILTIN_MODULE');
		}
	});

	it('runs on Node 24, started by its own #! line from a PATH that finds Node 24', () => {
		const r = spawnSync(BIN, ['--help'], {
			encoding: 'utf8',
			env: { PATH: `${dirname(process.execPath)}${delimiter}/usr/bin${delimiter}/bin` },
		});
		expect(r.stderr).toBe('');
		expect(r.status).toBe(0);
		expect(r.stdout).toContain('Usage: n8n-secrets');
	});

	it('is the command package.json installs, and the tarball carries it with the docs', () => {
		const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
		expect(pkg.bin).toEqual({ 'n8n-secrets': 'bin/n8n-secrets.js' });
		const npm = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
			cwd: ROOT,
			encoding: 'utf8',
			env: { ...process.env, PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH}` },
		});
		expect(npm.status).toBe(0);
		const files = (JSON.parse(npm.stdout) as { files: { path: string }[] }[])[0].files.map(
			(f) => f.path,
		);
		expect(files).toEqual(
			expect.arrayContaining([
				'bin/n8n-secrets.js',
				'dist/src/cli/main.js',
				'docs/NODES.md',
				'README.md',
			]),
		);
	});
});

/** Every text n8n shows of a credential: labels, option names and descriptions, hints, placeholders. */
function shownTexts(c: ICredentialType): string[] {
	return [
		c.displayName,
		...c.properties.flatMap((p) => [
			p.displayName,
			p.hint ?? '',
			p.placeholder ?? '',
			...((p.options ?? []) as { name: string; description?: string }[]).flatMap((o) => [
				o.name,
				o.description ?? '',
			]),
		]),
	];
}

describe('the credentials as n8n 2.41 shows them', () => {
	const credentials = [new SecretsStoreApi(), new SecretReferenceAuth()];

	it('put their guidance in hints (the dialog never shows a field description)', () => {
		for (const c of credentials) {
			for (const p of c.properties)
				expect([c.name, p.name, p.description]).toEqual([c.name, p.name, undefined]);
			const token = c.properties.find((p) => p.name === 'token') as INodeProperties;
			expect(token.hint).toContain('Secrets page (Tokens)');
			expect(token.hint).toContain('n8n-secrets token create');
		}
	});

	it('write n8n as "n8n" and show no Markdown backticks', () => {
		for (const text of credentials.flatMap(shownTexts)) {
			expect(text).not.toMatch(/N8n|`/);
		}
		const connection = credentials[0].properties.find((p) => p.name === 'connection');
		expect((connection?.options as { name: string }[]).map((o) => o.name)).toEqual([
			'Embedded (Store on This n8n Host)',
			'Remote (n8n-secrets serve)',
		]);
	});

	it('Secret Reference Auth holds no made-up reference: with its defaults, the test says what is missing', async () => {
		const t = await createTestStore();
		const backend = await startBackend(t);
		try {
			await t.service.createSecret(t.admin, {
				name: 'stripe-key',
				environment: 'production',
				value: 'sk_first_run_value',
			});
			const { token } = await t.service.createToken(t.admin, {
				subject: 'n8n',
				role: BACKEND_MODE === 'remote' ? 'runtime' : 'user',
			});
			process.env.N8N_SECRETS_DB = t.path;
			process.env.N8N_SECRETS_MASTER_KEY = t.keyBase64;
			// What n8n hands the test: the displayed fields' defaults under what the user typed.
			const withDefaults = (typed: Record<string, string>) =>
				NodeHelpers.getNodeParameters(
					new SecretReferenceAuth().properties,
					typed,
					true,
					false,
					null,
					null,
				) as Record<string, string>;
			const check = (typed: Record<string, string>) =>
				testSecretReferenceAuth.call({} as never, {
					id: '1',
					name: 'c',
					type: 'secretReferenceAuth',
					data: withDefaults({ ...backend.fields, token, ...typed }),
				});
			expect(withDefaults({}).reference).toBe('');
			expect(await check({})).toEqual({
				status: 'Error',
				message: 'The credential holds no [[secret:…]] reference.',
			});
			expect(await check({ reference: '[[secret:stripe-key]]' })).toEqual({
				status: 'OK',
				message: 'Resolves in production: stripe-key v1.',
			});
			expect(await check({ placement: 'basic', userReference: 'app' })).toMatchObject({
				status: 'Error',
			});
		} finally {
			await backend.close();
			await closeEmbeddedStores();
			await t.cleanup();
		}
	});
});

describe("the nodes' Docs links", () => {
	it('open a page that exists (the package is not on npm, so its npm page would be a 404)', () => {
		const nodes = [new SecretHttpRequest(), new SecretsTrigger(), new Secrets().getNodeType()];
		const urls = nodes.map((n) => n.description.documentationUrl);
		const codex = ['SecretHttpRequest', 'SecretsTrigger', 'Secrets'].map(
			(n) =>
				JSON.parse(readFileSync(join(ROOT, 'nodes', n, `${n}.node.json`), 'utf8')).resources
					.primaryDocumentation[0].url,
		);
		for (const url of [...urls, ...codex]) {
			// n8n takes the node's documentationUrl when it starts with http, before the codex or npm.
			expect(url).toMatch(/^https:\/\//);
			expect(url).not.toContain('npmjs.com');
		}
		expect(new Set([...urls, ...codex]).size).toBe(1);
	});
});

describe("npm start's rebuild decision", () => {
	it('changes with the files the package is built from, and only with those', () => {
		const dir = mkdtempSync(join(tmpdir(), 'first-run-'));
		try {
			const write = (file: string, text: string) => {
				mkdirSync(dirname(join(dir, file)), { recursive: true });
				writeFileSync(join(dir, file), text);
			};
			write('package.json', '{}');
			write('src/a.ts', 'export const a = 1;');
			write('ui/static/index.html', '<!doctype html>');
			const first = runtime.sourceDigest(dir);
			for (const [file, text] of [
				['dist/src/a.js', 'built'],
				['node_modules/x/index.js', 'dependency'],
				['test/a.test.ts', 'test'],
				['.git/HEAD', 'ref'],
				['n8n-nodes-secrets-0.1.0.tgz', 'tarball'],
				['screenshots/secrets-light.png', 'screenshot'],
				['docs/images/secrets-page.png', 'image'],
			])
				write(file, text);
			expect(runtime.sourceDigest(dir)).toBe(first);
			for (const [file, text] of [
				['src/a.ts', 'export const a = 2;'],
				['docs/NODES.md', '# Nodes'],
				['package.json', '{"version":"0.1.1"}'],
			]) {
				const before = runtime.sourceDigest(dir);
				write(file, text);
				expect(runtime.sourceDigest(dir)).not.toBe(before);
			}
		} finally {
			rmSync(dir, { recursive: true, force: true });
		}
	});
});
