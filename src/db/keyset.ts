import { and, desc, eq, lt, or, type SQL } from 'drizzle-orm'
import type { SQLiteColumn } from 'drizzle-orm/sqlite-core'

/** A position in a newest-first list: the sort time and id of the last row seen. */
export interface Cursor {
  t: number
  id: string
}

/**
 * Keyset pagination, newest first, on a (time, id) pair: stable under inserts (no
 * duplicates or gaps across pages), and each page is one index range scan.
 */
export function keyset(time: SQLiteColumn, id: SQLiteColumn, cursor: Cursor | undefined) {
  return {
    /** Rows strictly after the cursor, or undefined for the first page. */
    after: cursor ? or(lt(time, cursor.t), and(eq(time, cursor.t), lt(id, cursor.id))) : undefined,
    orderBy: [desc(time), desc(id)] as [SQL, SQL],
    /** Splits a fetch of `limit + 1` rows into the page and the cursor of the next one. */
    page<T>(rows: T[], limit: number, key: (row: T) => Cursor) {
      const page = rows.slice(0, limit)
      const last = page[page.length - 1]
      return { page, next: rows.length > limit && last !== undefined ? key(last) : undefined }
    },
  }
}

