import type { AuthContext } from '../types'

/**
 * The per-isolate memory of `SESSION_CHECK=cached:<n>`: "session S of user U was live at T,
 * with this account row and assurance". An entry stands for at most `n` seconds after the
 * read that made it (never past the session's own end), so a revocation made anywhere acts in
 * every isolate within `n` seconds. Bounded: at most `MAX_ENTRIES` sessions, the least recently
 * used dropped first, so memory stays under a few MiB however many users an isolate sees.
 */
export const MAX_ENTRIES = 5_000

interface Entry {
  auth: AuthContext
  /** When this entry stops standing for the session (ms). */
  until: number
}

/** A Map iterates in insertion order: re-inserting on a hit keeps the coldest entry first. */
const entries = new Map<string, Entry>()

/** The remembered check of a session for this user, if it still stands at `now`. */
export function cachedSession(sessionId: string, userId: string, now: number): AuthContext | undefined {
  const entry = entries.get(sessionId)
  if (!entry) return undefined
  entries.delete(sessionId)
  if (entry.until <= now || entry.auth.userId !== userId) return undefined
  entries.set(sessionId, entry)
  return entry.auth
}

/** Remembers a check that found the session live, for `seconds` (never past `sessionExpiresAt`). */
export function rememberSession(auth: AuthContext, seconds: number, sessionExpiresAt: number, now: number): void {
  entries.delete(auth.sessionId)
  entries.set(auth.sessionId, { auth, until: Math.min(now + seconds * 1000, sessionExpiresAt) })
  if (entries.size > MAX_ENTRIES) entries.delete(entries.keys().next().value!)
}

/**
 * Drops what this isolate remembers of a user's sessions, after a write that changes them (its
 * own logout, a revocation, a profile edit): this isolate then sees the write at once. Other
 * isolates see it when their entries run out. Linear in the cache size; writes are rare.
 */
export function forgetUser(userId: string): void {
  for (const [sessionId, entry] of entries) if (entry.auth.userId === userId) entries.delete(sessionId)
}

/** Drops one session from this isolate's memory. */
export function forgetSession(sessionId: string): void {
  entries.delete(sessionId)
}

/** How many sessions this isolate remembers (tests and the benchmark read it). */
export const cachedSessionCount = () => entries.size
