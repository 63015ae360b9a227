/** @type {import('jest').Config} */
module.exports = {
	testEnvironment: 'node',
	roots: ['<rootDir>/test'],
	testMatch: ['**/*.test.ts'],
	transform: {
		// jose 6 ships ESM only; ts-jest turns it into CommonJS for jest's module system.
		'^.+\\.[tj]s$': ['ts-jest', { tsconfig: { allowJs: true, isolatedModules: true } }],
	},
	transformIgnorePatterns: ['/node_modules/(?!jose/)'],
	testTimeout: 60000,
	globalSetup: '<rootDir>/test/global-setup.js',
	reporters: ['default', '<rootDir>/test/summary-reporter.js'],
};
