import type { SignInMethod } from '../types'
import { identityCount, providersOf } from './queries'
import { oauthRoutes } from './routes'

declare module '../../errors' {
  interface MethodErrorCodes {
    ACCOUNT_EXISTS: true
  }
}

declare module '../../services/audit' {
  interface MethodAuditTypes {
    identity_linked: true
    identity_unlinked: true
  }
}

/**
 * Social sign-in: GitHub, Google and any OpenID Connect provider (OAUTH_PROVIDERS), the first
 * factor `oauth`. Each linked identity is one way in; admins see the providers in `mfa.identities`.
 */
export const oauth = {
  name: 'oauth',
  routes: oauthRoutes,
  errors: {
    ACCOUNT_EXISTS: [409, 'An account with this email already exists. Sign in to it and link the provider from its settings.'],
  },
  auditTypes: ['identity_linked', 'identity_unlinked'],
  async waysIn(deps, user) {
    const [row] = await identityCount(deps.db, user.id)
    return row?.n ?? 0
  },
  async summarize(deps, userIds) {
    const out = new Map<string, { identities: string[] }>()
    for (const { userId, provider } of await providersOf(deps.readDb, userIds)) {
      const entry = out.get(userId) ?? { identities: [] }
      if (!entry.identities.includes(provider)) entry.identities.push(provider)
      out.set(userId, entry)
    }
    return out
  },
} as const satisfies SignInMethod
