// `npm start`: a local n8n 2.x with this package installed the way users install community nodes, and
// the Secrets page (`n8n-secrets serve`) beside it on the same store. n8n is installed once into a cache
// folder outside the project and reused; the n8n user folder (with the secrets store and its master
// key) lives there too, so a second start is up in seconds.
'use strict';

require('./check-node');

const { execFileSync, spawn } = require('node:child_process');
const { randomBytes } = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');

const {
	CACHE,
	LOG_DIR,
	N8N_VERSION,
	NODE,
	ROOT,
	SETUP_LOG,
	SetupError,
	ensureN8n,
	ensureSqlite3,
	installPackage,
	logFile,
	run,
	say,
	tail,
} = require('./n8n-runtime');

const USER_FOLDER = process.env.N8N_USER_FOLDER || path.join(CACHE, 'user');
const N8N_DIR = path.join(USER_FOLDER, '.n8n');
const SECRETS_DIR = path.join(N8N_DIR, 'secrets');
const ADMIN_TOKEN_FILE = path.join(SECRETS_DIR, 'admin.token');
const PORT = process.env.N8N_PORT || '5678';
// The imported example workflows name this credential (examples/call-api-with-referenced-key.json).
const EXAMPLE_CREDENTIAL = { id: 'secrets-store-production', name: 'Secrets Store (production)' };
const RENEW_BEFORE_MS = 7 * 24 * 3600 * 1000;

/** The master key lives in the n8n user folder, created on first start. */
function ensureMasterKey() {
	const file = path.join(SECRETS_DIR, 'master.key');
	if (!fs.existsSync(file)) {
		fs.mkdirSync(SECRETS_DIR, { recursive: true, mode: 0o700 });
		fs.writeFileSync(file, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
		say(
			`!!  Created a new master key at ${file}.\n` +
				'!!  Back it up apart from the store: without it, no secret in the store can be read again.',
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
		// This store, not a server or token a shell may have set for another one.
		N8N_SECRETS_URL: '',
		N8N_SECRETS_TOKEN: '',
	};
}

/**
 * Runs the installed package's `n8n-secrets` and returns what it printed. Tokens travel in the
 * environment and on stdout, never in arguments (visible in `ps`) or the setup log.
 */
function cli(bin, args, e) {
	try {
		return execFileSync(NODE, [bin, ...args], { env: e, encoding: 'utf8', stdio: 'pipe' });
	} catch (err) {
		throw new SetupError(
			`n8n-secrets ${args[0]} failed: ${String(err.stderr || err.message).trim()}`,
		);
	}
}

/**
 * Creates the store on first start; its admin token goes to a file readable by this user only and is
 * never printed: the page and the shell read it from there.
 */
function ensureStore(bin, e) {
	if (fs.existsSync(ADMIN_TOKEN_FILE) && fs.existsSync(e.N8N_SECRETS_DB)) return;
	process.stdout.write('Creating the secrets store… ');
	const token = cli(bin, ['init', '--ttl', 'never', '--subject', 'local-admin'], e).trim();
	fs.writeFileSync(ADMIN_TOKEN_FILE, `${token}\n`, { mode: 0o600 });
	say(`done (admin token in ${ADMIN_TOKEN_FILE}, readable by you only)`);
}

function importExamples(n8n, e) {
	const marker = path.join(N8N_DIR, '.examples-imported');
	if (fs.existsSync(marker)) return;
	run(
		'Importing the example workflows',
		NODE,
		[n8n, 'import:workflow', '--separate', `--input=${path.join(ROOT, 'examples')}`],
		{ env: e },
	);
	fs.writeFileSync(marker, new Date().toISOString());
}

/**
 * The credential the example workflow uses, with a `user` token (production only, 90 days): it can
 * have values used in requests, never read them. Renewed a week before it expires.
 */
function ensureExampleCredential(n8n, bin, e) {
	const marker = path.join(N8N_DIR, '.example-credential.json');
	const last = fs.existsSync(marker) ? JSON.parse(fs.readFileSync(marker, 'utf8')) : undefined;
	if (last && Date.parse(last.expiresAt) - Date.now() > RENEW_BEFORE_MS) return last;
	const admin = { ...e, N8N_SECRETS_TOKEN: fs.readFileSync(ADMIN_TOKEN_FILE, 'utf8').trim() };
	const created = JSON.parse(
		cli(
			bin,
			[
				...['token', 'create', '--role', 'user', '--env', 'production', '--ttl', '90d'],
				...['--subject', 'n8n-local-example', '--json'],
			],
			admin,
		),
	);
	const file = path.join(SECRETS_DIR, 'example-credential.json');
	const data = { connection: 'embedded', token: created.token, environment: 'production' };
	fs.writeFileSync(
		file,
		JSON.stringify([{ ...EXAMPLE_CREDENTIAL, type: 'secretsStoreApi', data }]),
		{
			mode: 0o600,
		},
	);
	try {
		run(
			`${last ? 'Renewing' : 'Adding'} the example credential "${EXAMPLE_CREDENTIAL.name}"`,
			NODE,
			[n8n, 'import:credentials', `--input=${file}`],
			{ env: e },
		);
	} finally {
		fs.rmSync(file, { force: true });
	}
	if (last) cli(bin, ['token', 'revoke', last.jti], admin);
	const info = { ...EXAMPLE_CREDENTIAL, jti: created.jti, expiresAt: created.expiresAt };
	fs.writeFileSync(marker, JSON.stringify(info));
	return info;
}

function portIsFree(port) {
	return new Promise((resolve) => {
		const probe = net.createServer();
		probe.once('error', () => resolve(false));
		probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
	});
}

/** N8N_SECRETS_SERVER_PORT when set; else 8200, or the next free port after it. */
async function pagePort() {
	if (process.env.N8N_SECRETS_SERVER_PORT) return Number(process.env.N8N_SECRETS_SERVER_PORT);
	for (let port = 8200; port < 8300; port++) if (await portIsFree(port)) return port;
	throw new SetupError('No free port between 8200 and 8299 for the Secrets page.');
}

/** Runs n8n and the page server, their output in the log folder; Ctrl-C stops both. */
function supervise() {
	const children = [];
	let stopping = false;
	let exitCode = 0;
	const stopAll = () => {
		stopping = true;
		// One SIGTERM each, beside the SIGINT the terminal already sent them: n8n stops gracefully on the
		// first of each signal and quits at once on a repeated one (npm also forwards Ctrl-C to us).
		for (const c of children) {
			if (c.exitCode !== null || c.signalCode !== null || c.stopSent) continue;
			c.stopSent = true;
			c.kill('SIGTERM');
		}
	};
	for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
		process.on(sig, () => {
			if (!stopping) say('\nStopping n8n and the Secrets page…');
			stopAll();
		});
	}
	process.on('exit', stopAll);
	const start = (name, args, childEnv, logName) => {
		if (stopping) throw new SetupError('Stopped.');
		const fd = logFile(logName, 'w');
		const child = spawn(NODE, args, { env: childEnv, stdio: ['ignore', fd, fd] });
		fs.closeSync(fd);
		child.label = name;
		child.log = path.join(LOG_DIR, logName);
		children.push(child);
		child.on('exit', (code, signal) => {
			if (!stopping) {
				say(`\n${name} stopped (${signal || `exit code ${code}`}). The end of ${child.log}:`);
				say(tail(child.log));
				exitCode = 1;
				stopAll();
			}
			if (children.every((c) => c.exitCode !== null || c.signalCode !== null))
				process.exit(exitCode || process.exitCode || 0);
		});
		return child;
	};
	return { start, stopAll, stopping: () => stopping };
}

/** Waits until `url` answers 200, or fails when the child exits or `seconds` pass. */
async function ready(child, url, seconds) {
	const since = Date.now();
	process.stdout.write(`Starting ${child.label}… `);
	while (Date.now() - since < seconds * 1000) {
		if (child.exitCode !== null || child.signalCode !== null)
			throw new SetupError(`${child.label} did not start.`);
		const ok = await fetch(url, { signal: AbortSignal.timeout(2000) }).then(
			(r) => r.ok,
			() => false,
		);
		if (ok) return say(`ready (${Math.round((Date.now() - since) / 1000)} s)`);
		await new Promise((r) => setTimeout(r, 300));
	}
	throw new SetupError(
		`${child.label} did not answer at ${url} within ${seconds} s. The end of ${child.log}:\n${tail(child.log)}`,
	);
}

function box({ pageUrl, credential, bin, e }) {
	const expires = credential.expiresAt ? credential.expiresAt.slice(0, 10) : 'never';
	const rule = '─'.repeat(96);
	return [
		'',
		rule,
		`  n8n            http://localhost:${PORT}   (the first visit asks for an owner account)`,
		`  Secrets page   ${pageUrl}   (sign in with the admin token in the file below)`,
		`  admin token    ${ADMIN_TOKEN_FILE}`,
		`  secrets store  ${e.N8N_SECRETS_DB}`,
		`  master key     ${e.N8N_SECRETS_MASTER_KEY_FILE}   (back it up)`,
		`  logs           ${LOG_DIR}/ (n8n.log, serve.log, setup.log)`,
		'',
		'  Try first:',
		'   1. On the Secrets page, store a new secret: name stripe-key, environment production,',
		'      a Stripe test key as its value, allowed host api.stripe.com.',
		'   2. In n8n, open the workflow "Call an API with a referenced key" and run it. Its credential',
		`      "${credential.name}" holds a "user" token (production only, until ${expires}):`,
		'      it can have secrets used in requests, never read them.',
		'',
		'  The same store from a shell (the CLI needs Node.js 24, this one):',
		`    export N8N_SECRETS_DB=${e.N8N_SECRETS_DB}`,
		`    export N8N_SECRETS_MASTER_KEY_FILE=${e.N8N_SECRETS_MASTER_KEY_FILE}`,
		`    export N8N_SECRETS_TOKEN="$(cat ${ADMIN_TOKEN_FILE})"`,
		`    alias n8n-secrets='${NODE} ${bin}'`,
		'    n8n-secrets secret list',
		rule,
		'  Ctrl-C stops n8n and the Secrets page.',
		'',
	].join('\n');
}

async function main() {
	say(`A local n8n ${N8N_VERSION} with n8n-nodes-secrets (setup log: ${SETUP_LOG})`);
	const n8n = ensureN8n();
	ensureSqlite3();
	const bin = path.join(installPackage(USER_FOLDER), 'bin', 'n8n-secrets.js');
	const e = env(ensureMasterKey());
	ensureStore(bin, e);
	importExamples(n8n, e);
	const credential = ensureExampleCredential(n8n, bin, e);
	const port = await pagePort();
	const pageEnv = {
		...e,
		N8N_SECRETS_SERVER_HOST: '127.0.0.1',
		N8N_SECRETS_SERVER_PORT: String(port),
	};
	const { start, stopAll, stopping } = supervise();
	try {
		const page = start('the Secrets page', [bin, 'serve'], pageEnv, 'serve.log');
		await ready(page, `http://127.0.0.1:${port}/healthz`, 30);
		const server = start(`n8n ${N8N_VERSION}`, [n8n, 'start'], e, 'n8n.log');
		await ready(server, `http://127.0.0.1:${PORT}/healthz/readiness`, 300);
	} catch (err) {
		// After Ctrl-C the children are on their way out; their exit ends this process.
		if (stopping()) return;
		stopAll();
		throw err;
	}
	say(box({ pageUrl: `http://127.0.0.1:${port}/`, credential, bin, e }));
}

main().catch((err) => {
	say(err instanceof SetupError ? `\n${err.message}` : `\n${err.stack}`);
	process.exitCode = 1;
});
