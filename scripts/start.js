// `npm start`: a local n8n 2.x with this package installed the way users install community nodes.
// n8n is installed once into a cache folder outside the project and reused; the n8n user folder (with
// the secrets store and its master key) lives there too, so a second start is up in seconds.
'use strict';

const { execFileSync, spawn } = require('node:child_process');
const { randomBytes } = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const {
	CACHE,
	N8N_VERSION,
	NODE,
	ROOT,
	ensureN8n,
	ensureSqlite3,
	installPackage,
	step,
} = require('./n8n-runtime');

const USER_FOLDER = process.env.N8N_USER_FOLDER || path.join(CACHE, 'user');
const N8N_DIR = path.join(USER_FOLDER, '.n8n');
const SECRETS_DIR = path.join(N8N_DIR, 'secrets');
const PORT = process.env.N8N_PORT || '5678';

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
	installPackage(USER_FOLDER);
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
