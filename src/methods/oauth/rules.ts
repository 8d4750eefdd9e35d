import type { OAuthProviderConfig } from '../../config'
import { sha256, timingSafeEqual } from '../../crypto/random'
import type { UserRow } from '../../db/schema'
import { insertUser, liveUserByEmail, liveUserById } from '../../db/users'
import { ApiError, causeMatches, type ErrorCode } from '../../errors'
import { email as emailSchema, foldForSearch } from '../../schemas/common'
import { audit } from '../../services/audit'
import type { Deps } from '../../services/deps'
import { notify } from '../../services/notices'
import { assertNotBanned, signIn, type SignInResult } from '../../services/sign-in'
import { assertNotLastWayIn, waysIn } from '../../services/ways-in'
import { authorizationUrl, exchange, newFlowSecrets, ProviderError, type FlowSecrets, type ProviderProfile } from './providers'
import {
  consumeState,
  deleteIdentity,
  identitiesOf,
  identityBySubject,
  identityCount,
  insertIdentity,
  insertState,
  releaseDeletedIdentity,
  startLinkFlow,
  touchIdentity,
} from './queries'
import type { IdentityRow } from './schema'

/** A flow (state, PKCE verifier, nonce) lives 10 minutes, as its cookie does. */
export const STATE_TTL_MS = 600_000

/** Where the provider sends the browser back: registered at the provider as `<service>/api/auth/oauth/<name>/callback`. */
export const callbackUrl = (apiOrigin: string, provider: string) => `${apiOrigin}/api/auth/oauth/${provider}/callback`

/** A configured provider by name; an unknown one is 404. */
export function providerNamed(deps: Deps, name: string): OAuthProviderConfig {
  const provider = deps.config.oauth.providers.find((p) => p.name === name)
  if (!provider) throw new ApiError('NOT_FOUND', { message: 'No such sign-in provider.' })
  return provider
}

/** `returnTo` must be a URL on an allowed origin (OAUTH_RETURN_ORIGINS, else CORS_ORIGINS and the API's own). */
export function checkReturnTo(deps: Deps, apiOrigin: string, returnTo: string): string {
  const { returnOrigins } = deps.config.oauth
  const allowed = returnOrigins.length > 0 ? returnOrigins : [...deps.config.corsOrigins, apiOrigin]
  let url: URL | undefined
  try {
    url = new URL(returnTo)
  } catch {
    url = undefined
  }
  if (!url || !allowed.includes(url.origin) || url.username || url.password) {
    throw new ApiError('VALIDATION_ERROR', { details: [{ path: 'returnTo', message: 'is not on an allowed origin' }] })
  }
  return url.href
}

const stateId = (state: string) => sha256(`oauth-state:${state}`)

/**
 * Starts a flow: the provider's authorization URL and the state the browser keeps in its cookie.
 * With `link`, the start URL a signed-in account was given by `linkStart` is spent instead (once),
 * and only by a browser whose refresh cookie is that account's (`browserUserId`): someone else's
 * link URL, opened by a victim, would otherwise add the victim's provider identity to the
 * sender's account. The provider's metadata is read before anything is written, so a provider
 * that is down leaves nothing.
 */
export async function startFlow(
  deps: Deps,
  name: string,
  input: { apiOrigin: string; returnTo?: string | undefined; link?: string | undefined; browserUserId?: string | undefined },
  now = Date.now(),
): Promise<{ location: string; state: string }> {
  const provider = providerNamed(deps, name)
  const redirectUri = callbackUrl(input.apiOrigin, provider.name)
  if (input.link !== undefined) {
    if (input.browserUserId === undefined) throw new ApiError('CHALLENGE_EXPIRED')
    const [flow] = await startLinkFlow(deps.db, await stateId(input.link), provider.name, input.browserUserId, now)
    if (!flow) throw new ApiError('CHALLENGE_EXPIRED')
    const secrets = { state: input.link, codeVerifier: flow.codeVerifier, nonce: flow.nonce }
    return { location: await providerUrl(provider, redirectUri, secrets, now), state: input.link }
  }
  if (input.returnTo === undefined) throw new ApiError('VALIDATION_ERROR', { details: [{ path: 'returnTo', message: 'is required' }] })
  const returnTo = checkReturnTo(deps, input.apiOrigin, input.returnTo)
  const secrets = newFlowSecrets()
  const location = await providerUrl(provider, redirectUri, secrets, now)
  await insertState(deps.db, { id: await stateId(secrets.state), provider: provider.name, codeVerifier: secrets.codeVerifier, nonce: secrets.nonce, returnTo, createdAt: now, startedAt: now, expiresAt: now + STATE_TTL_MS })
  return { location, state: secrets.state }
}

async function providerUrl(provider: OAuthProviderConfig, redirectUri: string, secrets: FlowSecrets, now: number) {
  try {
    return await authorizationUrl(provider, redirectUri, secrets, now)
  } catch (error) {
    throw new ApiError('SERVICE_UNAVAILABLE', { message: 'The sign-in provider is not reachable right now.', cause: error })
  }
}

/**
 * A signed-in account asks to add a provider: a flow bound to the account, and the start URL (on
 * this service, so the browser gets its state cookie) that sends the browser to the provider.
 */
export async function linkStart(deps: Deps, user: UserRow, name: string, input: { apiOrigin: string; returnTo: string }, now = Date.now()): Promise<string> {
  const provider = providerNamed(deps, name)
  const returnTo = checkReturnTo(deps, input.apiOrigin, input.returnTo)
  const secrets = newFlowSecrets()
  await insertState(deps.db, {
    id: await stateId(secrets.state),
    provider: provider.name,
    codeVerifier: secrets.codeVerifier,
    nonce: secrets.nonce,
    returnTo,
    linkUserId: user.id,
    createdAt: now,
    expiresAt: now + STATE_TTL_MS,
  })
  const url = new URL(`${input.apiOrigin}/api/auth/oauth/${provider.name}/start`)
  url.searchParams.set('link', secrets.state)
  return url.href
}

/** What a callback ends in, on `returnTo`. */
export type FlowOutcome =
  | { kind: 'signed-in'; result: SignInResult }
  | { kind: 'linked' }
  | { kind: 'failed'; error: ErrorCode }

/**
 * The callback. The state must be this browser's (the cookie) and a live, unspent flow of this
 * provider (one conditional write spends it); otherwise CHALLENGE_EXPIRED is thrown, as there is
 * no trusted `returnTo` yet. Every later failure comes back as `failed`, for `returnTo?error=`.
 */
export async function finishFlow(
  deps: Deps,
  name: string,
  input: { apiOrigin: string; url: URL; state: string | undefined; cookieState: string | undefined },
  now = Date.now(),
): Promise<{ returnTo: string; outcome: FlowOutcome }> {
  const provider = providerNamed(deps, name)
  const { state, cookieState } = input
  if (!state || !cookieState || !timingSafeEqual(state, cookieState)) throw new ApiError('CHALLENGE_EXPIRED')
  const [flow] = await consumeState(deps.db, await stateId(state), provider.name, now)
  if (!flow) throw new ApiError('CHALLENGE_EXPIRED')
  try {
    const profile = await exchange(provider, input.url, callbackUrl(input.apiOrigin, provider.name), { state, codeVerifier: flow.codeVerifier, nonce: flow.nonce }, now)
    if (flow.linkUserId) {
      await linkIdentity(deps, provider.name, flow.linkUserId, profile, now)
      return { returnTo: flow.returnTo, outcome: { kind: 'linked' } }
    }
    return { returnTo: flow.returnTo, outcome: { kind: 'signed-in', result: await signInWithProvider(deps, provider.name, profile, now) } }
  } catch (error) {
    return { returnTo: flow.returnTo, outcome: { kind: 'failed', error: failureCode(deps, provider.name, error) } }
  }
}

/** The code a failed callback puts on `returnTo`; the log gets the reason, never a provider's tokens. */
function failureCode(deps: Deps, provider: string, error: unknown): ErrorCode {
  if (error instanceof ProviderError) {
    deps.log.warn('oauth.provider_failed', { provider, kind: error.kind, reason: error.message })
    return error.kind === 'unavailable' ? 'SERVICE_UNAVAILABLE' : 'TOKEN_INVALID'
  }
  if (error instanceof ApiError) return error.code
  deps.log.error('oauth.callback_failed', { provider, error: error instanceof Error ? error.message : 'unknown' })
  return 'INTERNAL_ERROR'
}

/** The provider's email, normalised as every email is; one that is not an address counts as none. */
function assertedEmail(profile: ProviderProfile): string | null {
  if (profile.email === null) return null
  const parsed = emailSchema.safeParse(profile.email)
  return parsed.success ? parsed.data : null
}

/** A new account's name: the provider's, else the email's local part, within the name rules. */
const accountName = (profile: ProviderProfile, email: string) => (profile.name ?? email.split('@')[0] ?? 'user').slice(0, 100)

const identityValues = (provider: string, userId: string, profile: ProviderProfile, email: string | null, now: number) => ({
  id: crypto.randomUUID(),
  userId,
  provider,
  subject: profile.subject,
  email,
  emailVerified: profile.emailVerified && email !== null,
  createdAt: now,
  lastUsedAt: now,
})

/**
 * The sign-in rules of API.md, in order: a linked identity signs its account in; a live account
 * with the email is linked only when the provider asserts the email verified and the account's
 * email is verified too (else ACCOUNT_EXISTS, nothing linked); otherwise a new account without a
 * password. Then the shared sign-in: a ban refuses it, a due second step opens a challenge.
 */
export async function signInWithProvider(deps: Deps, provider: string, profile: ProviderProfile, now = Date.now()): Promise<SignInResult> {
  const { db } = deps
  const email = assertedEmail(profile)
  const [linked] = await identityBySubject(db, provider, profile.subject)
  if (linked) {
    assertNotBanned(linked.user, now)
    const touch = touchIdentity(db, linked.identity.id, { email, emailVerified: profile.emailVerified && email !== null }, now)
    return signIn(deps, { user: linked.user, amr: ['oauth'], also: [touch] }, now)
  }
  if (email === null) {
    throw new ApiError('VALIDATION_ERROR', { message: 'The provider did not share an email address.', details: [{ path: 'email', message: 'the provider gave none' }] })
  }
  const [holder] = await liveUserByEmail(db, email)
  if (holder) {
    // An unverified account may be a squatter's: its owner signs in with the password and links from settings.
    if (!profile.emailVerified || holder.emailVerifiedAt === null) throw new ApiError('ACCOUNT_EXISTS')
    assertNotBanned(holder, now)
    const link = [releaseDeletedIdentity(db, provider, profile.subject), insertIdentity(db, identityValues(provider, holder.id, profile, email, now))] as const
    const result = await uniqueOr('ACCOUNT_EXISTS', () => signIn(deps, { user: holder, amr: ['oauth'], also: link }, now))
    audit(deps, { type: 'identity_linked', userId: holder.id, detail: { provider, automatic: true } }, now)
    notify(deps, holder.email, 'identity_linked', `Provider: ${provider}`)
    return result
  }
  const user = await createAccount(deps, provider, profile, email, now)
  return signIn(deps, { user, amr: ['oauth'] }, now)
}

/** Rule 3: a new account with the provider's email (verified when it says so), its name, no password, and the identity, in one batch. */
async function createAccount(deps: Deps, provider: string, profile: ProviderProfile, email: string, now: number): Promise<UserRow> {
  const { db } = deps
  const id = crypto.randomUUID()
  const name = accountName(profile, email)
  const [[user]] = await uniqueOr('ACCOUNT_EXISTS', () =>
    db.batch([
      insertUser(db, {
        id,
        email,
        name,
        nameFolded: foldForSearch(name),
        mobile: null,
        passwordHash: null,
        role: 'user',
        emailVerifiedAt: profile.emailVerified ? now : null,
        createdAt: now,
        updatedAt: now,
      }),
      releaseDeletedIdentity(db, provider, profile.subject),
      insertIdentity(db, identityValues(provider, id, profile, email, now)),
    ]),
  )
  if (!user) throw new ApiError('INTERNAL_ERROR')
  audit(deps, { type: 'register', userId: user.id, detail: { provider } }, now)
  return user
}

/** A unique index deciding a race (the email, the provider identity) answers `code`. */
async function uniqueOr<T>(code: ErrorCode, run: () => Promise<T>): Promise<T> {
  try {
    return await run()
  } catch (error) {
    if (causeMatches(error, /UNIQUE constraint failed/)) throw new ApiError(code)
    throw error
  }
}

/** A link flow: the identity joins the signed-in account; one another account holds is ACCOUNT_EXISTS. */
async function linkIdentity(deps: Deps, provider: string, userId: string, profile: ProviderProfile, now: number): Promise<void> {
  const { db } = deps
  const [user] = await liveUserById(db, userId)
  if (!user) throw new ApiError('TOKEN_REVOKED')
  const email = assertedEmail(profile)
  const [linked] = await identityBySubject(db, provider, profile.subject)
  if (linked) {
    if (linked.user.id !== user.id) throw new ApiError('ACCOUNT_EXISTS', { message: 'This provider account is already linked to another account.' })
    await touchIdentity(db, linked.identity.id, { email, emailVerified: profile.emailVerified && email !== null }, now)
    return
  }
  await uniqueOr('ACCOUNT_EXISTS', () => db.batch([releaseDeletedIdentity(db, provider, profile.subject), insertIdentity(db, identityValues(provider, user.id, profile, email, now))]))
  audit(deps, { type: 'identity_linked', userId: user.id, detail: { provider } }, now)
  notify(deps, user.email, 'identity_linked', `Provider: ${provider}`)
}

/** The identity as the API shows it. */
export const toPublicIdentity = (row: IdentityRow) => ({ id: row.id, provider: row.provider, email: row.email, createdAt: new Date(row.createdAt).toISOString() })

/** The caller's linked identities. */
export async function listIdentities(deps: Deps, userId: string) {
  return (await identitiesOf(deps.readDb, userId)).map(toPublicIdentity)
}

/** Unlinks one of the caller's identities, unless it is the account's last way in. */
export async function unlinkIdentity(deps: Deps, user: UserRow, id: string, now = Date.now()): Promise<void> {
  const { db } = deps
  const mine = (await identitiesOf(db, user.id)).find((row) => row.id === id)
  if (!mine) throw new ApiError('NOT_FOUND')
  await assertNotLastWayIn(deps, user)
  // With no other way in than identities, the delete itself keeps the last one (racing unlinks).
  const [{ n: identities } = { n: 0 }] = await identityCount(db, user.id)
  const others = (await waysIn(deps, user)) - identities
  const [removed] = await deleteIdentity(db, user.id, id, others < 1)
  if (!removed) throw new ApiError('LAST_SIGN_IN_METHOD')
  audit(deps, { type: 'identity_unlinked', userId: user.id, detail: { provider: removed.provider } }, now)
  notify(deps, user.email, 'identity_unlinked', `Provider: ${removed.provider}`)
}
