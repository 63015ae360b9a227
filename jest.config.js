const { spawnSync } = require('node:child_process');

const DATABASE_URL =
	process.env.N8N_SECRETS_TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';

/** Whether the PostgreSQL test database answers; checked once, before any suite starts. */
function postgresReachable() {
	const probe = spawnSync(
		process.execPath,
		[
			'-e',
			`const { Client } = require('pg');
			 const c = new Client({ connectionString: process.argv[1], connectionTimeoutMillis: 3000 });
			 c.connect().then(() => c.query('select 1')).then(() => c.end()).then(() => process.exit(0), () => process.exit(1));`,
			DATABASE_URL,
		],
		{ cwd: __dirname, timeout: 10000 },
	);
	return probe.status === 0;
}

const common = {
	testEnvironment: 'node',
	roots: ['<rootDir>/test'],
	transform: {
		// jose 6 and content-disposition 3 (under mercurius's @fastify/static) ship ESM only; ts-jest
		// turns them into CommonJS for jest's module system.
		'^.+\\.[tj]s$': ['ts-jest', { tsconfig: { allowJs: true, isolatedModules: true } }],
	},
	transformIgnorePatterns: ['/node_modules/(?!(jose|content-disposition)/)'],
};

/** Debian's Chromium (or CHROMIUM_PATH): the browser suite drives it headless. */
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

const projects = [
	// The browser suite has its own projects (below); here it would run without its store's setup.
	{
		...common,
		displayName: 'sqlite',
		testMatch: ['**/*.test.ts'],
		testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/browser/'],
	},
	// Every node again, with its credential in remote mode: through the server's API on loopback.
	{
		...common,
		displayName: 'remote',
		testMatch: ['<rootDir>/test/n8n/**/*.test.ts'],
		setupFiles: ['<rootDir>/test/helpers/remote-env.js'],
	},
];

// The Secrets page in a real headless Chromium against a real serve; in CI it must run.
const chromium = require('node:fs').existsSync(CHROMIUM);
const browserProject = {
	...common,
	displayName: 'browser',
	testMatch: ['<rootDir>/test/browser/**/*.test.ts'],
};
if (chromium) projects.push(browserProject);
else if (process.env.CI === 'true')
	throw new Error(
		`Chromium is not installed at ${CHROMIUM}; in CI the browser suite must run. ` +
			'Install it with `apt-get install -y chromium` (.ci/run does) or set CHROMIUM_PATH.',
	);
else
	process.stderr.write(
		`\n*** Chromium is not installed at ${CHROMIUM}: the browser suite is SKIPPED. ***\n` +
			'*** Install it (`apt-get install chromium`) or set CHROMIUM_PATH. ***\n\n',
	);

// The store contract suites (and the browser suite) run again on PostgreSQL. In CI that run is
// mandatory; on a machine without a PostgreSQL server it is left out, loudly.
if (postgresReachable()) {
	if (chromium)
		projects.push({
			...browserProject,
			displayName: 'browser-postgres',
			setupFiles: ['<rootDir>/test/helpers/postgres-env.js'],
		});
	projects.push({
		...common,
		displayName: 'postgres',
		testMatch: ['<rootDir>/test/integration/**/*.test.ts', '<rootDir>/test/server/**/*.test.ts'],
		// The CLI suite is about files and processes on one host; the CLI on PostgreSQL goes through the
		// same open path the contract suites cover. The journal's durability suite is about the SQLite
		// store's journal files (PostgreSQL chains audit events directly).
		testPathIgnorePatterns: [
			'/node_modules/',
			'<rootDir>/test/integration/cli.test.ts',
			'<rootDir>/test/integration/audit-durability.test.ts',
		],
		setupFiles: ['<rootDir>/test/helpers/postgres-env.js'],
	});
} else if (process.env.CI === 'true') {
	throw new Error(
		`PostgreSQL is not reachable at ${DATABASE_URL}; in CI the PostgreSQL store suite must run. ` +
			'Start it with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`.',
	);
} else {
	process.stderr.write(
		`\n*** PostgreSQL is not reachable at ${DATABASE_URL}: the PostgreSQL store suites are SKIPPED. ***\n` +
			'*** Start it (see README, Development) or set N8N_SECRETS_TEST_DATABASE_URL. ***\n\n',
	);
}

/** @type {import('jest').Config} */
module.exports = {
	projects,
	testTimeout: 60000,
	globalSetup: '<rootDir>/test/global-setup.js',
	reporters: ['default', '<rootDir>/test/summary-reporter.js'],
};
