import { and, eq, type SQL } from 'drizzle-orm'
import type { Db } from './client'
import { keyset, type Cursor } from './keyset'
import { auditEvents } from './schema'

/** Queries of the audit trail. */

export const insertAuditEvent = (db: Db, values: typeof auditEvents.$inferInsert) => db.insert(auditEvents).values(values)

/** A page of events, newest first, keyset-paginated on (at, id) so inserts never shift a page. */
export function listAuditEvents(db: Db, query: { userId?: string | undefined; type?: string | undefined; limit: number; cursor?: Cursor | undefined }) {
  const order = keyset(auditEvents.at, auditEvents.id, query.cursor)
  const filters: (SQL | undefined)[] = [
    query.userId ? eq(auditEvents.userId, query.userId) : undefined,
    query.type ? eq(auditEvents.type, query.type) : undefined,
    order.after,
  ]
  return {
    rows: db
      .select()
      .from(auditEvents)
      .where(and(...filters))
      .orderBy(...order.orderBy)
      .limit(query.limit + 1),
    page: <T extends { at: number; id: string }>(rows: T[]) => order.page(rows, query.limit, (row) => ({ t: row.at, id: row.id })),
  }
}
