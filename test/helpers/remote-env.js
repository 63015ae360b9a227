// The `remote` jest project: the n8n suites reach the store through `n8n-secrets serve`'s API.
process.env.N8N_SECRETS_TEST_MODE = 'remote';
