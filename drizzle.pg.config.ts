import { defineConfig } from 'drizzle-kit';

// The Postgres migrations, from the pg-core twin of the schema (kept in step by test/unit/schema-dialects.test.ts).
// Generating needs no server: drizzle-kit diffs the schema against migrations/postgres/meta.
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/db/schema-pg/index.ts',
  out: './migrations/postgres',
});
