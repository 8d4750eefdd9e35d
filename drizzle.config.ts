import { defineConfig } from 'drizzle-kit'

/** drizzle-kit only generates SQL here; wrangler applies it (locally, remotely and in tests). */
export default defineConfig({
  dialect: 'sqlite',
  // The core tables, and each sign-in method's own (src/methods/<name>/schema.ts).
  schema: ['./src/db/schema.ts', './src/methods/*/schema.ts'],
  out: './migrations',
})
