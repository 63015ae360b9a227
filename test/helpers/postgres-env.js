// The `postgres` jest project: every store the suites create is a PostgreSQL schema.
process.env.N8N_SECRETS_TEST_STORE = 'postgres';
