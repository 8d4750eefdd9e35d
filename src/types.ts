import type { Config } from './config'
import type { RequestDb } from './db/client'
import type { ApiError } from './errors'
import type { UserRow } from './db/schema'
import type { Logger } from './log'

/** Who is calling, as confirmed against the database for this request. */
export interface AuthContext {
  userId: string
  sessionId: string
  /** The account's current role, not the one written in the token. */
  role: 'user' | 'admin'
  user: UserRow
  /** How the session was established. */
  aal: 'aal1' | 'aal2'
  amr: string[]
}

/** Where a request came from, recorded with sessions and audit events. */
export interface RequestMeta {
  ip: string | null
  userAgent: string | null
  requestId: string
}

export type AppEnv = {
  Bindings: Env
  Variables: {
    config: Config
    /** Both D1 sessions of the request (primary and lag-tolerant replica). */
    d1: RequestDb
    auth: AuthContext
    log: Logger
    requestId: string
    meta: RequestMeta
    /** Set by a public route that changed the caller's own state (logout): its response carries the bookmark. */
    ownWrite: true
    /** The error the response answered with, for the request's log line. */
    failure: ApiError
  }
}
