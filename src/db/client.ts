import { drizzle, type DrizzleD1Database } from 'drizzle-orm/d1'

/** No relational schema is registered: every query goes through the builders, so construction stays cheap. */
export type Db = DrizzleD1Database

/** A drizzle client over a D1 binding or one of its sessions (same prepare/batch interface). */
export function getDb(d1: D1Database | D1DatabaseSession): Db {
  return drizzle(d1 as D1Database)
}

/** The request header a client echoes to read its own writes from a replica, and the response header that carries it. */
export const BOOKMARK_HEADER = 'X-D1-Bookmark'

/**
 * D1 access for one request through the Sessions API. `primary` carries every write and
 * every security decision (rotation, code tries, revocation, lockout, the session check).
 * `replica` is for reads that tolerate replica lag (session and admin lists); it starts
 * from the client's bookmark when one is sent, so a client reads its own writes.
 */
export class RequestDb {
  readonly #binding: D1Database
  readonly #bookmark: string | undefined
  #primary?: { session: D1DatabaseSession; db: Db }
  #replica?: { session: D1DatabaseSession; db: Db }

  constructor(binding: D1Database, bookmark: string | undefined) {
    this.#binding = binding
    this.#bookmark = bookmark
  }

  get primary(): Db {
    return this.#openPrimary().db
  }

  /** The primary session itself, for the hot-path statements written as plain SQL. */
  get primarySession(): D1DatabaseSession {
    return this.#openPrimary().session
  }

  #openPrimary() {
    if (!this.#primary) {
      const session = this.#binding.withSession('first-primary')
      this.#primary = { session, db: getDb(session) }
    }
    return this.#primary
  }

  get replica(): Db {
    if (!this.#replica) {
      const session = this.#binding.withSession(this.#bookmark ?? 'first-unconstrained')
      this.#replica = { session, db: getDb(session) }
    }
    return this.#replica.db
  }

  /** The newest bookmark this request saw, for the client to send back; undefined if D1 was not used. */
  bookmark(): string | undefined {
    return this.#replica?.session.getBookmark() ?? this.#primary?.session.getBookmark() ?? undefined
  }
}
