const { projects, ...base } = require('./jest.config.js');
const { displayName, ...sqlite } = projects[0];
void displayName;

/** @type {import('jest').Config} */
// The end-to-end suite (`npm run test:e2e`): a real n8n, driven through its CLI. Kept apart from
// `npm test` because its first run installs n8n (minutes) and every n8n command takes seconds.
module.exports = {
	...base,
	...sqlite,
	roots: ['<rootDir>/test/e2e'],
	testMatch: ['**/*.e2e.ts'],
	testTimeout: 10 * 60_000,
	maxWorkers: 1,
};
