import type { Config } from '../../config'
import { base64url, randomBytes } from '../../crypto/random'
import type { UserRow } from '../../db/schema'
import { ApiError } from '../../errors'
import { audit } from '../../services/audit'
import type { Deps } from '../../services/deps'
import { notify } from '../../services/notices'
import type { IssuedTokens } from '../../services/sessions'
import { signIn } from '../../services/sign-in'
import { assertNotLastWayIn, waysIn } from '../../services/ways-in'
import {
  credentialForSignIn,
  deletePasskey,
  ensureHandle,
  insertChallenge,
  insertPasskey,
  passkeyCount,
  passkeyOf,
  passkeysOf,
  recordUse,
  renamePasskey as rename,
  takeChallenge,
} from './queries'
import type { Ceremony, PasskeyRow } from './schema'
import { ALGORITHMS, verifyAssertion, verifyRegistration, type AssertionInput, type Expected, type RegistrationInput } from './webauthn'

/** A challenge lives this long; the browser's `timeout` says the same. */
export const CHALLENGE_TTL_MS = 5 * 60_000
/** Passkeys one account may hold. */
export const MAX_PASSKEYS = 25

/** The relying party: WEBAUTHN_* settings, or the API's own host and origin (plus CORS_ORIGINS). */
export function relyingParty(config: Config) {
  const api = new URL(config.issuer)
  return {
    id: config.webauthnRpId ?? api.hostname,
    name: config.webauthnRpName,
    origins: config.webauthnOrigins.length > 0 ? config.webauthnOrigins : [api.origin, ...config.corsOrigins],
  }
}

/** The public form of a passkey. */
export const toPublicPasskey = (row: PasskeyRow) => ({
  id: row.id,
  name: row.name,
  createdAt: new Date(row.createdAt).toISOString(),
  lastUsedAt: row.lastUsedAt === null ? null : new Date(row.lastUsedAt).toISOString(),
  backedUp: row.backedUp,
})

const sha256 = async (bytes: Uint8Array) => base64url(await crypto.subtle.digest('SHA-256', bytes))

/** A fresh challenge: 32 random bytes, of which only a hash is stored, with the statement that stores it. */
async function newChallenge(deps: Deps, ceremony: Ceremony, userId: string | null, now: number) {
  const bytes = randomBytes(32)
  const id = crypto.randomUUID()
  const insert = insertChallenge(deps.db, { id, challengeHash: await sha256(bytes), ceremony, userId, createdAt: now, expiresAt: now + CHALLENGE_TTL_MS })
  return { id, challenge: base64url(bytes), insert }
}

/** Spends a challenge once, atomically; unknown, used, expired or someone else's is CHALLENGE_EXPIRED. */
async function spendChallenge(deps: Deps, id: string, ceremony: Ceremony, userId: string | null, now: number): Promise<Expected> {
  const [row] = await takeChallenge(deps.db, id, ceremony, userId, now)
  if (!row) throw new ApiError('CHALLENGE_EXPIRED')
  const rp = relyingParty(deps.config)
  return { rpId: rp.id, origins: rp.origins, challengeHash: row.challengeHash }
}

/** Registration options for a signed-in account: its handle, its passkeys excluded, a fresh challenge. */
export async function registrationOptions(deps: Deps, user: UserRow, now = Date.now()) {
  const rp = relyingParty(deps.config)
  const challenge = await newChallenge(deps, 'registration', user.id, now)
  const [insertHandle, readHandle] = ensureHandle(deps.db, user.id, base64url(randomBytes(32)))
  const [, , [handle], existing] = await deps.db.batch([challenge.insert, insertHandle, readHandle, passkeysOf(deps.db, user.id)])
  return {
    challengeId: challenge.id,
    options: {
      rp: { id: rp.id, name: rp.name },
      user: { id: handle!.handle, name: user.email, displayName: user.name },
      challenge: challenge.challenge,
      pubKeyCredParams: ALGORITHMS.map((alg) => ({ type: 'public-key' as const, alg })),
      timeout: CHALLENGE_TTL_MS,
      excludeCredentials: existing.map((p) => ({ type: 'public-key' as const, id: p.credentialId, ...(p.transports.length ? { transports: p.transports } : {}) })),
      authenticatorSelection: { residentKey: 'required' as const, requireResidentKey: true as const, userVerification: 'required' as const },
      attestation: 'none' as const,
    },
  }
}

/** Verifies a registration response and stores the passkey; the owner is told. */
export async function registerPasskey(
  deps: Deps,
  auth: { user: UserRow; sessionId: string },
  input: { challengeId: string; credential: RegistrationInput & { response: { transports?: string[] | undefined } }; name?: string | undefined },
  now = Date.now(),
) {
  const { user } = auth
  const expected = await spendChallenge(deps, input.challengeId, 'registration', user.id, now)
  const verified = await verifyRegistration(input.credential, expected)
  const [{ n } = { n: 0 }] = await passkeyCount(deps.db, user.id)
  if (n >= MAX_PASSKEYS) throw new ApiError('VALIDATION_ERROR', { details: [{ path: 'credential', message: `the account already has ${MAX_PASSKEYS} passkeys` }] })
  const [row] = await insertPasskey(deps.db, {
    id: crypto.randomUUID(),
    userId: user.id,
    credentialId: verified.credentialId,
    publicKey: JSON.stringify(verified.publicKey),
    algorithm: verified.algorithm,
    counter: verified.counter,
    transports: input.credential.response.transports ?? [],
    backedUp: verified.backedUp,
    aaguid: verified.aaguid,
    name: input.name ?? `Passkey ${n + 1}`,
    createdAt: now,
    lastUsedAt: null,
  })
  // The credential id is registered already (to this account or another): never a second owner.
  if (!row) throw new ApiError('PASSKEY_INVALID', { cause: new Error('the credential is already registered') })
  audit(deps, { type: 'passkey_added', userId: user.id, sessionId: auth.sessionId, detail: { passkeyId: row.id, aaguid: row.aaguid } }, now)
  notify(deps, user.email, 'passkey_added', `Passkey: ${row.name}`)
  return toPublicPasskey(row)
}

/** Sign-in options: discoverable credentials (no allowCredentials), user verification required. */
export async function loginOptions(deps: Deps, now = Date.now()) {
  const rp = relyingParty(deps.config)
  const challenge = await newChallenge(deps, 'authentication', null, now)
  await challenge.insert
  return {
    challengeId: challenge.id,
    options: { challenge: challenge.challenge, timeout: CHALLENGE_TTL_MS, rpId: rp.id, userVerification: 'required' as const },
  }
}

/**
 * Signs in with a passkey: the first factor `passkey`, with user verification, so `aal2` and no
 * second step. The challenge is spent first, so a failed response cannot be retried with it.
 */
export async function loginWithPasskey(deps: Deps, input: { challengeId: string; credential: AssertionInput }, now = Date.now()): Promise<IssuedTokens> {
  const expected = await spendChallenge(deps, input.challengeId, 'authentication', null, now)
  const [found] = await credentialForSignIn(deps.db, input.credential.id)
  try {
    if (!found) throw new ApiError('PASSKEY_INVALID', { cause: new Error('unknown credential') })
    const { userHandle } = input.credential.response
    if (userHandle && userHandle !== found.handle) throw new ApiError('PASSKEY_INVALID', { cause: new Error('the user handle is not the account’s') })
    const stored = { publicKey: JSON.parse(found.passkey.publicKey) as JsonWebKey, algorithm: found.passkey.algorithm }
    const used = await verifyAssertion(input.credential, stored, expected)
    const before = found.passkey.counter
    // A counter that does not move forward means a cloned authenticator (or a replayed one).
    if ((used.counter !== 0 || before !== 0) && used.counter <= before) {
      audit(deps, { type: 'passkey_counter_regressed', userId: found.user.id, detail: { passkeyId: found.passkey.id, stored: before, presented: used.counter } }, now)
      throw new ApiError('PASSKEY_INVALID', { cause: new Error('the signature counter did not increase') })
    }
    const result = await signIn(
      deps,
      { user: found.user, amr: ['passkey'], aal: 'aal2', also: [recordUse(deps.db, found.passkey.id, before, { counter: used.counter, backedUp: used.backedUp, lastUsedAt: now })] },
      now,
    )
    if (result.kind !== 'tokens') throw new Error('a passkey sign-in asked for a second step')
    return result.tokens
  } catch (error) {
    if (error instanceof ApiError && error.code === 'PASSKEY_INVALID') {
      const reason = error.cause instanceof Error ? error.cause.message : 'invalid'
      audit(deps, { type: 'passkey_login_failure', userId: found?.user.id ?? null, detail: { reason, ...(found ? { passkeyId: found.passkey.id } : {}) } }, now)
    }
    throw error
  }
}

/** The account's passkeys, oldest first. */
export async function listPasskeys(deps: Deps, userId: string) {
  return (await passkeysOf(deps.readDb, userId)).map(toPublicPasskey)
}

/** Renames one of the caller's passkeys; another account's is NOT_FOUND. */
export async function renamePasskey(deps: Deps, auth: { user: UserRow; sessionId: string }, id: string, name: string, now = Date.now()) {
  const [row] = await rename(deps.db, auth.user.id, id, name)
  if (!row) throw new ApiError('NOT_FOUND')
  audit(deps, { type: 'passkey_renamed', userId: auth.user.id, sessionId: auth.sessionId, detail: { passkeyId: id } }, now)
  return toPublicPasskey(row)
}

/**
 * Removes one of the caller's passkeys (another account's is NOT_FOUND), unless it is the last way
 * in. When the account has no way in besides its passkeys, the delete itself also requires another
 * passkey to remain, so concurrent deletes cannot remove the last two at once.
 */
export async function removePasskey(deps: Deps, auth: { user: UserRow; sessionId: string }, id: string, now = Date.now()) {
  const { user } = auth
  const [row] = await passkeyOf(deps.db, user.id, id)
  if (!row) throw new ApiError('NOT_FOUND')
  await assertNotLastWayIn(deps, user)
  const mine = await countPasskeys(deps, user)
  const keepOne = (await waysIn(deps, user)) - mine === 0
  const [deleted] = await deletePasskey(deps.db, user.id, id, keepOne)
  if (!deleted) throw new ApiError(keepOne ? 'LAST_SIGN_IN_METHOD' : 'NOT_FOUND')
  audit(deps, { type: 'passkey_removed', userId: user.id, sessionId: auth.sessionId, detail: { passkeyId: id } }, now)
  notify(deps, user.email, 'passkey_removed', `Passkey: ${row.name}`)
}

/** The account's passkeys, counted: its ways in through this method. */
export async function countPasskeys(deps: Deps, user: UserRow): Promise<number> {
  const [{ n } = { n: 0 }] = await passkeyCount(deps.db, user.id)
  return n
}
