import { recentSessionFrom } from '../db/sessions'
import type { Deps } from './deps'
import type { NoticeKind } from './mailer'

/** How far back a sign-in's user agent counts as known. */
export const KNOWN_DEVICE_MS = 30 * 86_400_000

/**
 * Tells an account's owner, after the response, about a change to the ways it can sign in. The
 * notice carries no code and no link that signs in; a failed send is logged, never answered.
 */
export function notify(deps: Deps, to: string, notice: NoticeKind, detail?: string): void {
  deps.defer(deps.mailer.send({ to, purpose: 'security_notice', notice, ...(detail ? { detail } : {}) }))
}

/** After a sign-in: a notice when no other session of the account used this user agent in 30 days. */
export function noticeNewDevice(deps: Deps, user: { id: string; email: string }, sessionId: string, now: number): void {
  const userAgent = deps.meta.userAgent
  deps.defer(
    (async () => {
      const [known] = await recentSessionFrom(deps.db, user.id, userAgent, sessionId, now - KNOWN_DEVICE_MS)
      if (!known) await deps.mailer.send({ to: user.email, purpose: 'security_notice', notice: 'new_device', ...(userAgent ? { detail: `Device: ${userAgent.slice(0, 200)}` } : {}) })
    })(),
  )
}
