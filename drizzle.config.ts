import { defineConfig } from 'drizzle-kit';

// Migrations are generated (never pushed) and applied by the migrator at boot.
export default defineConfig({
  dialect: 'sqlite',
  schema: './src/db/schema/index.ts',
  out: './migrations',
  dbCredentials: { url: process.env.DATABASE_PATH ?? './data/gateway.db' },
});
