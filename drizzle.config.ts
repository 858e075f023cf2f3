import { defineConfig } from 'drizzle-kit';

// The SQLite migrations (the default backend). Generated (never pushed) and applied by the migrator at boot;
// drizzle.pg.config.ts is the Postgres twin. `npm run db:generate` runs both.
export default defineConfig({
  dialect: 'sqlite',
  schema: './src/db/schema/index.ts',
  out: './migrations/sqlite',
  dbCredentials: { url: process.env.DATABASE_PATH ?? './data/gateway.db' },
});
