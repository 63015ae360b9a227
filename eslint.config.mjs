import tseslint from 'typescript-eslint';
import { n8nCommunityNodesPlugin } from '@n8n/eslint-plugin-community-nodes';

const n8nRules = n8nCommunityNodesPlugin.configs.recommendedWithoutN8nCloudSupport;

export default tseslint.config(
	{ ignores: ['dist/**', 'node_modules/**', 'coverage/**', '**/*.js', '**/*.mjs'] },
	...tseslint.configs.recommended,
	{
		files: ['**/*.ts'],
		rules: {
			'@typescript-eslint/no-unused-vars': [
				'error',
				{ argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
			],
			'no-console': 'error',
		},
	},
	{
		// The Secrets page renders every string as text: no HTML parsing of anything, so a description
		// holding markup can never become markup (docs/SERVER.md, "The Secrets page").
		files: ['ui/**/*.ts'],
		rules: {
			'no-restricted-properties': [
				'error',
				...[
					'innerHTML',
					'outerHTML',
					'insertAdjacentHTML',
					'write',
					'writeln',
					'createContextualFragment',
				].map((property) => ({
					property,
					message: 'Build DOM nodes and set textContent instead.',
				})),
			],
			'no-restricted-globals': ['error', 'localStorage', 'sessionStorage', 'eval'],
		},
	},
	{
		// The CLI, benchmarks, tests and helper scripts talk to a terminal on purpose.
		files: ['src/cli/**/*.ts', 'bench/**/*.ts', 'test/**/*.ts', 'scripts/**/*.ts'],
		rules: { 'no-console': 'off' },
	},
	{
		// n8n's community-node rules, for the package as n8n sees it: nodes, credentials, the code they
		// load and package.json. We use the self-hosted variant: this package is not for n8n Cloud (see README).
		files: ['nodes/**/*.ts', 'credentials/**/*.ts', 'src/**/*.ts', 'package.json'],
		...n8nRules,
		rules: {
			...n8nRules.rules,
			// Deliberate: the bundled secrets backend needs jose (JWT), zod (input) and commander (CLI) at run
			// time. Self-hosted n8n installs community packages with their dependencies; n8n Cloud's
			// verified-node rules forbid them, which is why the README says "self-hosted only".
			'@n8n/community-nodes/no-runtime-dependencies': 'off',
		},
	},
	{
		// The backend below src/n8n is not node code: it throws its own coded SecretsError, which the
		// n8n glue turns into NodeOperationError/NodeApiError with the item index.
		files: ['src/**/*.ts'],
		ignores: ['src/n8n/**'],
		rules: { '@n8n/community-nodes/require-node-api-error': 'off' },
	},
	{
		// A version class of a versioned node takes its icon from the version description it spreads;
		// the rule only sees class properties written in the same file.
		files: ['nodes/*/v*/*.node.ts'],
		rules: { '@n8n/community-nodes/icon-validation': 'off' },
	},
	{
		files: ['package.json'],
		languageOptions: {
			parser: tseslint.parser,
			parserOptions: { extraFileExtensions: ['.json'] },
		},
		rules: {
			// The `bin` entry "n8n-secrets" trips the hard-coded-secret heuristic: it is a command name.
			'@n8n/community-nodes/no-hardcoded-secrets': 'off',
			// No public home page or maintainer mailbox exists yet; set both before the first publish.
			'@n8n/community-nodes/require-homepage': 'off',
			'@n8n/community-nodes/valid-author': 'off',
			// typescript-eslint's own rules expect TypeScript, not a JSON document.
			...Object.fromEntries(
				Object.keys(
					tseslint.configs.recommended.reduce((all, c) => ({ ...all, ...(c.rules ?? {}) }), {}),
				).map((rule) => [rule, 'off']),
			),
		},
	},
);
