import { sql } from 'drizzle-orm'
import type { Db } from './client'

/** The cheapest statement that proves D1 answers. */
export const ping = (db: Db) => db.get(sql`SELECT 1`)
