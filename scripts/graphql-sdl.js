// Writes docs/schema.graphql: the GraphQL schema of `n8n-secrets serve`, generated from the operation
// table (src/graphql/schema.ts) in the build output. Run with `npm run graphql:sdl` (it builds first);
// test/server/graphql-schema.test.ts fails when the checked-in file differs from the generated one.
const { writeFileSync } = require('node:fs');
const { join } = require('node:path');

const { schemaSdl } = require('../dist/src/graphql/schema');

const target = join(__dirname, '..', 'docs', 'schema.graphql');
writeFileSync(target, schemaSdl());
console.log(`wrote ${target}`);
