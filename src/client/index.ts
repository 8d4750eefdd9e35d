/**
 * The typed client of the edge-auth API, for browsers and for native or server-side code.
 *
 * ```ts
 * import { createAuthClient, AuthClientError } from 'edge-auth/client'
 *
 * const auth = createAuthClient({ baseUrl: 'https://auth.example.com', onSignedOut: () => showLogin() })
 * await auth.restore()                       // after a page reload: resume through the refresh cookie
 * const step = await auth.login({ email, password })
 * if (step.otpRequired) await auth.verifyOtp({ challengeId: step.challengeId, otp })
 * const me = await auth.profile()            // Bearer attached, expired tokens refreshed once and retried
 * ```
 *
 * The access token lives in memory only. With the `cookie` transport (browsers) the refresh
 * token is the API's `HttpOnly` cookie, which script never sees; with `body` (native apps)
 * the client holds it in memory and sends it as `{refreshToken}`.
 *
 * Built on `hc<App>` from `hono/client`; the import of `App` is type-only, so no server code
 * ends up in a bundle of this module, and its only run-time dependency is `hono`.
 *
 * @module
 */
import { hc, type ClientResponse, type InferRequestType } from 'hono/client'
import type { App } from './app-type.js'
import { AuthClientError, isSessionEnded } from './errors.js'

export { AuthClientError } from './errors.js'
export type { AuthErrorDetail } from './errors.js'

/** The raw typed client of the whole API: `api.api.user.profile.$get()` and so on. */
export type ApiClient = ReturnType<typeof hc<App>>

/** A `fetch`-compatible function (the platform's, or a test double). */
export type FetchLike = (input: string | URL | Request, init?: RequestInit) => Promise<Response>

/** Where the refresh token travels: the `HttpOnly` cookie (browsers) or the JSON body (native apps). */
export type TokenTransport = 'cookie' | 'body'

/** Whether the client holds a live session. */
export type AuthState = 'signed-in' | 'signed-out'

// The `data` of a call's success envelope, read from the route's own types.
type SuccessData<R> = R extends ClientResponse<infer T, infer S, infer _F> ? (S extends 200 | 201 ? (T extends { data: infer D } ? D : never) : never) : never
type DataOf<F> = F extends (...args: never[]) => Promise<infer R> ? SuccessData<R> : never
type JsonOf<F> = InferRequestType<F> extends { json: infer J } ? J : never

type Auth = ApiClient['api']['auth']
type UserApi = ApiClient['api']['user']

/** The user object of the API contract: `{id, email, name, mobile, role, emailVerified, createdAt, updatedAt}`. */
export type User = DataOf<UserApi['profile']['$get']>['user']
/** One entry of `sessions()`: `{id, createdAt, lastUsedAt, expiresAt, userAgent, ip, current}`. */
export type SessionInfo = DataOf<Auth['sessions']['$get']>['sessions'][number]
/** The token response's `data`: access token, its lifetime, the user, and (body transport) the refresh token. */
export type TokenData = DataOf<Auth['verify-otp']['$post']>

// Request bodies, read from the routes' validators (so they follow the API's schemas).
/** `{email, password, name, mobile?}` */
export type RegisterInput = JsonOf<Auth['register']['$post']>
/** `{email, otp}`: the `verify_email` code. */
export type VerifyEmailInput = JsonOf<Auth['verify-email']['$post']>
/** `{email, password}` (the client adds `tokenTransport`). */
export type LoginInput = Omit<JsonOf<Auth['login']['$post']>, 'tokenTransport'>
/** `{challengeId, otp}`: the `login` code (the client adds `tokenTransport`). */
export type VerifyOtpInput = Omit<JsonOf<Auth['verify-otp']['$post']>, 'tokenTransport'>
/** `{challengeId}` */
export type ResendOtpInput = JsonOf<Auth['resend-otp']['$post']>
/** `{name?, mobile?}`: at least one; nothing else can change. */
export type ProfileUpdateInput = JsonOf<UserApi['profile']['$patch']>
/** `{password}` */
export type DeleteAccountInput = JsonOf<UserApi['profile']['$delete']>
/** `{currentPassword, newPassword}` */
export type ChangePasswordInput = JsonOf<Auth['password']['change']['$post']>
/** `{email}` */
export type ForgotPasswordInput = JsonOf<Auth['password']['forgot']['$post']>
/** `{email, otp, newPassword}`: the `reset_password` code. */
export type ResetPasswordInput = JsonOf<Auth['password']['reset']['$post']>

/** One of the user's passkeys: `{id, name, createdAt, lastUsedAt, backedUp}`. */
export type PasskeyInfo = DataOf<Auth['passkeys']['$get']>['passkeys'][number]
/** `{challengeId, options}`: `options` is a `PublicKeyCredentialCreationOptionsJSON`. */
export type PasskeyRegistrationOptions = DataOf<Auth['passkeys']['register']['options']['$post']>
/** `{challengeId, options}`: `options` is a `PublicKeyCredentialRequestOptionsJSON`. */
export type PasskeyLoginOptions = DataOf<Auth['passkeys']['login']['options']['$post']>
/** `{challengeId, credential, name?}`: `credential` is the new credential's `toJSON()`. */
export type RegisterPasskeyInput = JsonOf<Auth['passkeys']['register']['verify']['$post']>
/** `{challengeId, credential}`: `credential` is the assertion's `toJSON()` (the client adds `tokenTransport`). */
export type PasskeyLoginInput = Omit<JsonOf<Auth['passkeys']['login']['verify']['$post']>, 'tokenTransport'>

/**
 * The WebAuthn Level 3 JSON entry points of a browser (`PublicKeyCredential.parse…FromJSON`,
 * `navigator.credentials`, `credential.toJSON()`), typed here because the Workers typings have no DOM.
 */
interface WebAuthnBrowser {
  PublicKeyCredential: { parseCreationOptionsFromJSON(options: unknown): unknown; parseRequestOptionsFromJSON(options: unknown): unknown }
  navigator: { credentials: { create(init: { publicKey: unknown }): Promise<{ toJSON(): unknown } | null>; get(init: { publicKey: unknown }): Promise<{ toJSON(): unknown } | null> } }
}

/** The browser's WebAuthn, or an AuthClientError saying this platform has none (or no JSON forms). */
function webAuthn(): WebAuthnBrowser {
  const g = globalThis as Partial<WebAuthnBrowser>
  if (typeof g.PublicKeyCredential?.parseCreationOptionsFromJSON !== 'function' || typeof g.navigator?.credentials?.create !== 'function') {
    throw new AuthClientError(0, 'PASSKEYS_UNSUPPORTED', 'This browser does not support passkeys with WebAuthn Level 3 JSON (PublicKeyCredential.parseCreationOptionsFromJSON).')
  }
  return g as WebAuthnBrowser
}

/** What completes a login challenge: a mailed code (`verifyOtp`), or the authenticator app or a recovery code (`verifyMfa`). */
export type ChallengeMethod = 'email_otp' | 'totp' | 'recovery_code'

/** What `login` resolves to: a code to enter (the default), or a session at once when the OTP step is off. */
export type LoginResult =
  | { otpRequired: true; challengeId: string; expiresIn: number; methods: ChallengeMethod[] }
  | { otpRequired: false; user: User }

/** `{challengeId, method: 'totp' | 'recovery_code', code}` (the client adds `tokenTransport`). */
export type VerifyMfaInput = Omit<JsonOf<Auth['mfa']['verify']['$post']>, 'tokenTransport'>
/** `{totp: {enabled, createdAt} | null, recoveryCodesLeft, passkeys}` */
export type MfaStatus = DataOf<Auth['mfa']['$get']>
/** `{password}`, or nothing for an account without one. */
export type EnrollTotpInput = JsonOf<Auth['mfa']['totp']['enroll']['$post']>
/** `{secret, otpauthUri, expiresIn}`: put `otpauthUri` in a QR code. */
export type TotpEnrolment = DataOf<Auth['mfa']['totp']['enroll']['$post']>

/** Why the client went to the signed-out state. */
export interface SignedOutEvent {
  /**
   * `logout`: this client ended the session (logout, logoutAll, deleteAccount, revoking its own session).
   * `session-ended`: the API answered `TOKEN_REVOKED` or `TOKEN_REUSED` (revoked elsewhere, or a replayed refresh token).
   * `refresh-failed`: the refresh token was refused for another reason (expired, missing, invalid).
   */
  reason: 'logout' | 'session-ended' | 'refresh-failed'
  /** The refusal that ended the session, when there was one. */
  error?: AuthClientError
}

/** Called with the new state and user whenever either changes. */
export type AuthListener = (state: AuthState, user: User | null) => void

export interface AuthClientOptions {
  /** The API's origin (and base path, if any), e.g. `https://auth.example.com`, or `location.origin`. */
  baseUrl: string
  /** The fetch to use; defaults to the global `fetch`. */
  fetch?: FetchLike
  /**
   * `cookie` (default, browsers): the refresh token stays in the API's `HttpOnly` cookie; every
   * request is sent with `credentials: 'include'`. `body` (native apps): the client keeps the
   * refresh token in memory and sends it as `{refreshToken}`.
   */
  tokenTransport?: TokenTransport
  /** Called once each time a signed-in client becomes signed out. */
  onSignedOut?: (event: SignedOutEvent) => void
  /**
   * With the `cookie` transport, refreshes are serialised across the tabs of a browser with the
   * Web Locks API (`navigator.locks`) where it exists, so two tabs never spend the same refresh
   * cookie at once: the second tab's refresh starts after the first has rotated the cookie and
   * sends the new one. Default `true`; without `navigator.locks` the refresh runs unlocked.
   */
  crossTabLock?: boolean
}

/** The part of the Web Locks API the client uses (lib.dom's `LockManager`, which Workers typings lack). */
interface LockManagerLike {
  request<T>(name: string, options: { signal?: AbortSignal }, callback: () => Promise<T>): Promise<T>
}

/** `navigator.locks`, where the platform has it (browsers in a secure context). */
function webLocks(): LockManagerLike | undefined {
  const locks = (globalThis as { navigator?: { locks?: Partial<LockManagerLike> } }).navigator?.locks
  return locks && typeof locks.request === 'function' ? (locks as LockManagerLike) : undefined
}

/** How long a tab waits for another tab's refresh before refreshing without the lock. */
const LOCK_WAIT_MS = 15_000

/** `{email}`: where to send a fresh `verify_email` code. */
export interface ResendVerifyEmailInput {
  email: string
}

/** `RequestInit` plus the browser's `credentials`, which the Workers typings leave out. */
type FetchInit = RequestInit & { credentials?: 'include' | 'omit' | 'same-origin' }

/**
 * The session id (`sid` claim) of an access token, read without verifying it (the API verifies).
 * A few lines rather than jose's `decodeJwt`: the client's only run-time dependency is `hono`,
 * and a browser bundle should not carry a JOSE library to read one claim.
 */
function sessionIdOf(token: string | null): string | null {
  const payload = token?.split('.')[1]
  if (!payload) return null
  try {
    const json = atob(payload.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(payload.length / 4) * 4, '='))
    const sid: unknown = (JSON.parse(json) as { sid?: unknown }).sid
    return typeof sid === 'string' ? sid : null
  } catch {
    return null
  }
}

/** A synthetic JSON error response, so a raw `api` call sees the refusal that ended its retry. */
function errorResponse(error: AuthClientError): Response {
  const body = { success: false, message: error.message, error: error.code, ...(error.details ? { details: error.details } : {}) }
  const headers = new Headers({ 'Content-Type': 'application/json; charset=utf-8' })
  if (error.requestId) headers.set('X-Request-Id', error.requestId)
  if (error.retryAfter) headers.set('Retry-After', String(error.retryAfter))
  return new Response(JSON.stringify(body), { status: error.status, headers })
}

/** The `error` code of a 401, read from a clone so the caller can still read the body. */
async function errorCode(response: Response): Promise<string | undefined> {
  try {
    const body: unknown = await response.clone().json()
    return body && typeof body === 'object' && typeof (body as { error?: unknown }).error === 'string' ? (body as { error: string }).error : undefined
  } catch {
    return undefined
  }
}

/**
 * Creates an auth client.
 *
 * Every call attaches `Authorization: Bearer <access token>` when the client holds one. A call
 * answered `401 TOKEN_EXPIRED` triggers one refresh, shared by every call that is waiting on it
 * (ten concurrent calls over an expired token cause exactly one refresh request), and is then
 * retried once with the new token. `TOKEN_REVOKED`, `TOKEN_REUSED` or a refused refresh clear
 * the tokens, set the state to `signed-out` and call `onSignedOut` once. A refresh that fails
 * without an answer (offline, 429, 5xx) leaves the session in place and rejects the call, so
 * the app can try again.
 *
 * Every method rejects with an {@link AuthClientError} carrying `status`, `code` and `details`.
 */
export function createAuthClient(options: AuthClientOptions) {
  const transport: TokenTransport = options.tokenTransport ?? 'cookie'
  const baseFetch: FetchLike = options.fetch ?? ((input, init) => fetch(input, init))

  let accessToken: string | null = null
  let refreshToken: string | null = null
  let user: User | null = null
  let state: AuthState = 'signed-out'
  /** Bumped whenever a session starts or ends, so a late answer cannot revive an old session. */
  let epoch = 0
  /** What ended the last session: returned to calls that were in flight when it ended. */
  let endedBy: AuthClientError | undefined
  let refreshing: Promise<TokenData> | null = null
  const listeners = new Set<AuthListener>()

  const notify = () => {
    for (const listener of listeners) listener(state, user)
  }

  /** One request: the bearer token when given, cookies included for the cookie transport. */
  async function send(input: string | URL | Request, init: RequestInit | undefined, token: string | null): Promise<Response> {
    const headers = new Headers(init?.headers)
    if (token) headers.set('Authorization', `Bearer ${token}`)
    const request: FetchInit = { ...init, headers }
    if (transport === 'cookie') request.credentials = 'include'
    try {
      return await baseFetch(input, request)
    } catch (error) {
      throw error instanceof AuthClientError ? error : AuthClientError.network(error)
    }
  }

  /** Unauthenticated calls (sign-in, refresh, logout): no bearer, no retry. */
  const plain = hc<App>(options.baseUrl, { fetch: ((input: string | URL | Request, init?: RequestInit) => send(input, init, null)) as typeof fetch })

  function startSession(data: TokenData, started: number) {
    if (epoch !== started) return false
    accessToken = data.accessToken
    if (transport === 'body' && 'refreshToken' in data && typeof data.refreshToken === 'string') refreshToken = data.refreshToken
    user = data.user
    state = 'signed-in'
    endedBy = undefined
    notify()
    return true
  }

  function endSession(reason: SignedOutEvent['reason'], error?: AuthClientError) {
    const wasSignedIn = state === 'signed-in'
    accessToken = null
    refreshToken = null
    user = null
    state = 'signed-out'
    epoch++
    endedBy = error
    if (!wasSignedIn) return
    try {
      options.onSignedOut?.({ reason, ...(error ? { error } : {}) })
    } catch (thrown) {
      // The app's callback failing must not break the call that noticed the sign-out.
      queueMicrotask(() => {
        throw thrown
      })
    }
    notify()
  }

  /** A session begins (login): anything in flight for an earlier session is disregarded. */
  function newSession(data: TokenData) {
    epoch++
    startSession(data, epoch)
  }

  async function doRefresh(started: number): Promise<TokenData> {
    if (transport === 'body' && !refreshToken) {
      throw new AuthClientError(401, 'TOKEN_MISSING', 'No refresh token is held; sign in again.')
    }
    const response = await plain.api.auth.refresh.$post({ json: transport === 'body' && refreshToken ? { refreshToken } : {} })
    if (!response.ok) {
      const error = await AuthClientError.fromResponse(response)
      // An answer that refuses the token ends the session; a 429 or 5xx does not.
      if ((error.status === 401 || error.status === 403) && epoch === started) {
        endSession(isSessionEnded(error.code) ? 'session-ended' : 'refresh-failed', error)
      }
      throw error
    }
    const data = (await response.json()).data
    if (!startSession(data, started)) throw endedBy ?? new AuthClientError(401, 'TOKEN_REVOKED', 'The session ended while refreshing.')
    return data
  }

  const locks = transport === 'cookie' && options.crossTabLock !== false ? webLocks() : undefined
  const lockName = `edge-auth:refresh:${options.baseUrl}`

  /**
   * One refresh, holding the browser-wide lock when there is one: the cookie is shared by every
   * tab, so a tab that waited sends the cookie the previous holder's rotation set.
   */
  async function lockedRefresh(started: number): Promise<TokenData> {
    if (!locks) return doRefresh(started)
    let ran = false
    try {
      return await locks.request(lockName, { signal: AbortSignal.timeout(LOCK_WAIT_MS) }, () => {
        ran = true
        return doRefresh(started)
      })
    } catch (error) {
      // Another tab held the lock too long (or locks are refused here): refresh without it.
      if (!ran) return doRefresh(started)
      throw error
    }
  }

  /** The one refresh in flight, started if there is none. */
  function refreshSession(): Promise<TokenData> {
    refreshing ??= lockedRefresh(epoch).finally(() => {
      refreshing = null
    })
    return refreshing
  }

  /** A usable access token after `stale` was refused as expired: refreshed at most once for all callers. */
  async function tokenAfter(stale: string, started: number): Promise<string> {
    if (epoch !== started || state === 'signed-out') {
      throw endedBy ?? new AuthClientError(401, 'TOKEN_REVOKED', 'The session has ended.')
    }
    if (accessToken !== null && accessToken !== stale) return accessToken // another call refreshed already
    return (await refreshSession()).accessToken
  }

  /** Ends the session when an authenticated answer says it is over (and it is still the same session). */
  async function inspect(response: Response, token: string, started: number): Promise<string | undefined> {
    if (response.status !== 401) return undefined
    const code = await errorCode(response)
    if (code && isSessionEnded(code) && epoch === started && accessToken === token) {
      endSession('session-ended', await AuthClientError.fromResponse(response))
    }
    return code
  }

  /** The fetch behind every authenticated call: bearer, one shared refresh on expiry, one retry. */
  async function authFetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
    if (new Headers(init?.headers).has('Authorization')) return send(input, init, null)
    if (refreshing) await refreshing.catch(() => undefined)
    const token = accessToken
    const started = epoch
    const response = await send(input, init, token)
    if (token === null) return response
    if ((await inspect(response, token, started)) !== 'TOKEN_EXPIRED') return response
    let fresh: string
    try {
      fresh = await tokenAfter(token, started)
    } catch (error) {
      if (error instanceof AuthClientError && error.status > 0) return errorResponse(error)
      throw error
    }
    const retried = await send(input, init, fresh)
    await inspect(retried, fresh, epoch)
    return retried
  }

  const api: ApiClient = hc<App>(options.baseUrl, { fetch: authFetch as typeof fetch })

  /** The `data` of a success envelope; any other answer becomes an AuthClientError. */
  async function data<R extends ClientResponse<unknown, number, 'json'>>(pending: Promise<R>): Promise<SuccessData<R>> {
    const response = await pending
    if (!response.ok) throw await AuthClientError.fromResponse(response)
    return ((await response.json()) as { data: SuccessData<R> }).data
  }

  const tokenTransport = transport === 'body' ? { tokenTransport: 'body' as const } : {}

  /** Ends the session locally after the server call, whether or not the call succeeded. */
  async function thenSignOut<T>(work: Promise<T>): Promise<T> {
    const started = epoch
    try {
      return await work
    } finally {
      if (epoch === started) endSession('logout')
    }
  }

  function setUser(next: User) {
    if (state === 'signed-in' && user?.id === next.id) {
      user = next
      notify()
    }
    return next
  }

  const client = {
    /** The raw typed client (hono/client), with the same bearer, refresh and retry behaviour. */
    api,

    /** `signed-in` while the client holds an access token, else `signed-out`. */
    get state(): AuthState {
      return state
    },
    /** True while signed in. */
    get isSignedIn(): boolean {
      return state === 'signed-in'
    },
    /** The signed-in user as last seen (token response, profile or update), or null. */
    get user(): User | null {
      return user
    },
    /** The id of this client's session (the access token's `sid`), or null. */
    get sessionId(): string | null {
      return sessionIdOf(accessToken)
    },
    /** How the refresh token travels. */
    get tokenTransport(): TokenTransport {
      return transport
    },

    /** The current access token (memory only), for calling other services that trust it. */
    getAccessToken(): string | null {
      return accessToken
    },

    /**
     * The refresh token held in memory with the `body` transport (null with `cookie`), for a
     * native app to keep in the platform's secure storage and hand back to `restore()`.
     */
    getRefreshToken(): string | null {
      return refreshToken
    },

    /** Calls `listener(state, user)` on every change; returns the function that unsubscribes. */
    subscribe(listener: AuthListener): () => void {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },

    /** Creates an account; a `verify_email` code is mailed. Resolves to the new user (not signed in). */
    async register(input: RegisterInput): Promise<User> {
      return (await data(plain.api.auth.register.$post({ json: input }))).user
    },

    /**
     * Mails a fresh `verify_email` code (`POST /api/auth/verify-email/resend`); the answer is the
     * same whether or not an unverified account holds the address. Typed by hand: the route is
     * not yet among the app's routes on every branch, so it cannot be read from them.
     */
    async resendVerifyEmail(input: ResendVerifyEmailInput): Promise<void> {
      const url = `${options.baseUrl.replace(/\/+$/, '')}/api/auth/verify-email/resend`
      const response = await send(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ email: input.email }) }, null)
      if (!response.ok) throw await AuthClientError.fromResponse(response)
    },

    /** Confirms the email with the mailed code. */
    async verifyEmail(input: VerifyEmailInput): Promise<User> {
      return setUser((await data(plain.api.auth['verify-email'].$post({ json: input }))).user)
    },

    /**
     * Checks email and password. Usually resolves to `{otpRequired: true, challengeId}`: a login
     * code was mailed, pass it to `verifyOtp`. With the OTP step off, signs in at once.
     */
    async login(input: LoginInput): Promise<LoginResult> {
      const result = await data(plain.api.auth.login.$post({ json: { ...input, ...tokenTransport } }))
      if ('otpRequired' in result) return { otpRequired: true, challengeId: result.challengeId, expiresIn: result.expiresIn, methods: result.methods }
      newSession(result)
      return { otpRequired: false, user: result.user }
    },

    /** Completes a login with the mailed code and signs in. Resolves to the user. */
    async verifyOtp(input: VerifyOtpInput): Promise<User> {
      const tokens = await data(plain.api.auth['verify-otp'].$post({ json: { ...input, ...tokenTransport } }))
      newSession(tokens)
      return tokens.user
    },

    /** Mails a fresh login code for a challenge (one a minute). */
    async resendOtp(input: ResendOtpInput): Promise<{ challengeId: string; expiresIn: number }> {
      return data(plain.api.auth['resend-otp'].$post({ json: input }))
    },

    /**
     * Rotates the refresh token for a new access token. Concurrent callers (and the automatic
     * refresh on `TOKEN_EXPIRED`) share one request. Resolves to the user.
     */
    async refresh(): Promise<User> {
      return (await refreshSession()).user
    },

    /**
     * Resumes a session after a page reload (or an app start) by trying a refresh: resolves to
     * the user, or to null when there is no session to resume. With the `body` transport, pass
     * the refresh token the app kept.
     */
    async restore(savedRefreshToken?: string): Promise<User | null> {
      if (state === 'signed-in' && user) return user
      if (transport === 'body') {
        if (savedRefreshToken) refreshToken = savedRefreshToken
        if (!refreshToken) return null
      }
      try {
        return (await refreshSession()).user
      } catch (error) {
        if (error instanceof AuthClientError && (error.status === 401 || error.status === 403)) return null
        throw error
      }
    },

    /** Ends this session on the server (idempotent) and signs out locally, even if the call fails. */
    async logout(): Promise<void> {
      const token = refreshToken
      await thenSignOut(data(plain.api.auth.logout.$post({ json: transport === 'body' && token ? { refreshToken: token } : {} })))
    },

    /** Ends every session of the user, this one included, and signs out. Resolves to how many were ended. */
    async logoutAll(): Promise<number> {
      const { revoked } = await data(api.api.auth['logout-all'].$post())
      endSession('logout')
      return revoked
    },

    /** The signed-in user, fresh from the API. */
    async profile(): Promise<User> {
      return setUser((await data(api.api.user.profile.$get())).user)
    },

    /** Same as `profile()`. */
    async getProfile(): Promise<User> {
      return client.profile()
    },

    /** Changes `name` and/or `mobile` (nothing else can change). Resolves to the updated user. */
    async updateProfile(input: ProfileUpdateInput): Promise<User> {
      return setUser((await data(api.api.user.profile.$patch({ json: input }))).user)
    },

    /** Deletes the account (`{password}`; `{}` for an account without one, signed in within 5 minutes), ends every session and signs out. */
    async deleteAccount(input: DeleteAccountInput): Promise<void> {
      await data(api.api.user.profile.$delete({ json: input }))
      endSession('logout')
    },

    /** Changes the password; every other session is ended, this one stays. */
    async changePassword(input: ChangePasswordInput): Promise<void> {
      await data(api.api.auth.password.change.$post({ json: input }))
    },

    /** Asks for a password reset code; the answer is the same whether or not the account exists. */
    async forgotPassword(input: ForgotPasswordInput): Promise<void> {
      await data(plain.api.auth.password.forgot.$post({ json: input }))
    },

    /** Sets a new password with the mailed reset code; every session of the account ends. */
    async resetPassword(input: ResetPasswordInput): Promise<void> {
      await data(plain.api.auth.password.reset.$post({ json: input }))
    },

    /** The user's live sessions, newest first; `current` marks this one. */
    async sessions(): Promise<SessionInfo[]> {
      return (await data(api.api.auth.sessions.$get())).sessions
    },

    /** Ends one of the user's sessions; ending this client's own signs it out. */
    async revokeSession(id: string): Promise<void> {
      const own = id === sessionIdOf(accessToken)
      await data(api.api.auth.sessions[':id'].$delete({ param: { id } }))
      if (own) endSession('logout')
    },

    /** The configured social sign-in providers, for a button each. */
    async oauthProviders(): Promise<{ name: string; displayName: string }[]> {
      return (await data(plain.api.auth.oauth.providers.$get())).providers
    },

    /**
     * The URL to send the browser to (`location.assign`) for a provider sign-in; it comes back to
     * `returnTo` with the refresh cookie set (then call `restore()`), or with `?error=CODE` or
     * `?mfaChallenge=<challengeId>`.
     */
    oauthStartUrl(provider: string, returnTo: string): string {
      return `${options.baseUrl.replace(/\/+$/, '')}/api/auth/oauth/${encodeURIComponent(provider)}/start?returnTo=${encodeURIComponent(returnTo)}`
    },

    /** Starts adding a provider to the signed-in account: resolves to the URL to send the browser to (valid once, 10 minutes). */
    async linkProvider(provider: string, returnTo: string): Promise<string> {
      return (await data(api.api.auth.oauth[':provider'].link.$post({ param: { provider }, json: { returnTo } }))).url
    },

    /** The provider identities linked to the account. */
    async identities(): Promise<{ id: string; provider: string; email: string | null; createdAt: string }[]> {
      return (await data(api.api.auth.identities.$get())).identities
    },

    /** Unlinks an identity (refused with LAST_SIGN_IN_METHOD when it is the last way in). */
    async unlinkIdentity(id: string): Promise<void> {
      await data(api.api.auth.identities[':id'].$delete({ param: { id } }))
    },

    /** Completes a login challenge whose `methods` include `totp` with an app code or a recovery code, and signs in. */
    async verifyMfa(input: VerifyMfaInput): Promise<User> {
      const tokens = await data(plain.api.auth.mfa.verify.$post({ json: { ...input, ...tokenTransport } }))
      newSession(tokens)
      return tokens.user
    },

    /** The account's second factors: the authenticator app, recovery codes left, passkeys. */
    async mfaStatus(): Promise<MfaStatus> {
      return data(api.api.auth.mfa.$get())
    },

    /** Starts turning on an authenticator app (password re-entered): the secret and its otpauth URI. */
    async enrollTotp(input: EnrollTotpInput): Promise<TotpEnrolment> {
      return data(api.api.auth.mfa.totp.enroll.$post({ json: input }))
    },

    /** Confirms the app with a code from it; resolves to the ten recovery codes, shown this once. */
    async activateTotp(input: { code: string }): Promise<string[]> {
      return (await data(api.api.auth.mfa.totp.activate.$post({ json: input }))).recoveryCodes
    },

    /** Turns the app off with a current code from it or a recovery code; the recovery codes go too. */
    async removeTotp(input: { code: string }): Promise<void> {
      await data(api.api.auth.mfa.totp.$delete({ json: input }))
    },

    /** A new set of recovery codes (a current app code); the old set stops working. */
    async regenerateRecoveryCodes(input: { code: string }): Promise<string[]> {
      return (await data(api.api.auth.mfa['recovery-codes'].$post({ json: input }))).recoveryCodes
    },

    /** Registration options for a new passkey of the signed-in user (`POST /api/auth/passkeys/register/options`). */
    async passkeyRegistrationOptions(): Promise<PasskeyRegistrationOptions> {
      return data(api.api.auth.passkeys.register.options.$post({ json: {} }))
    },

    /** Stores a new passkey from the browser's `credential.toJSON()`; the owner is mailed a notice. */
    async registerPasskey(input: RegisterPasskeyInput): Promise<PasskeyInfo> {
      return (await data(api.api.auth.passkeys.register.verify.$post({ json: input }))).passkey
    },

    /** In a browser: the whole ceremony (options, `navigator.credentials.create`, verify). Resolves to the new passkey. */
    async addPasskey(name?: string): Promise<PasskeyInfo> {
      const browser = webAuthn()
      const { challengeId, options } = await client.passkeyRegistrationOptions()
      const created = await browser.navigator.credentials.create({ publicKey: browser.PublicKeyCredential.parseCreationOptionsFromJSON(options) })
      if (!created) throw new AuthClientError(0, 'PASSKEY_CANCELLED', 'No passkey was created.')
      const credential = created.toJSON() as RegisterPasskeyInput['credential']
      return client.registerPasskey({ challengeId, credential, ...(name ? { name } : {}) })
    },

    /** The signed-in user's passkeys, oldest first. */
    async passkeys(): Promise<PasskeyInfo[]> {
      return (await data(api.api.auth.passkeys.$get())).passkeys
    },

    /** Renames one of the user's passkeys. */
    async renamePasskey(id: string, name: string): Promise<PasskeyInfo> {
      return (await data(api.api.auth.passkeys[':id'].$patch({ param: { id }, json: { name } }))).passkey
    },

    /** Removes one of the user's passkeys (refused with `LAST_SIGN_IN_METHOD` if it is the last way in). */
    async deletePasskey(id: string): Promise<void> {
      await data(api.api.auth.passkeys[':id'].$delete({ param: { id } }))
    },

    /** Sign-in options for a discoverable passkey (`POST /api/auth/passkeys/login/options`). */
    async passkeyLoginOptions(): Promise<PasskeyLoginOptions> {
      return data(plain.api.auth.passkeys.login.options.$post({ json: {} }))
    },

    /** Signs in with the browser's assertion `toJSON()`. Resolves to the user. */
    async loginWithPasskey(input: PasskeyLoginInput): Promise<User> {
      const tokens = await data(plain.api.auth.passkeys.login.verify.$post({ json: { ...input, ...tokenTransport } }))
      newSession(tokens)
      return tokens.user
    },

    /** In a browser: the whole sign-in (options, `navigator.credentials.get`, verify), with no email and no password. */
    async signInWithPasskey(): Promise<User> {
      const browser = webAuthn()
      const { challengeId, options } = await client.passkeyLoginOptions()
      const asserted = await browser.navigator.credentials.get({ publicKey: browser.PublicKeyCredential.parseRequestOptionsFromJSON(options) })
      if (!asserted) throw new AuthClientError(0, 'PASSKEY_CANCELLED', 'No passkey was chosen.')
      return client.loginWithPasskey({ challengeId, credential: asserted.toJSON() as PasskeyLoginInput['credential'] })
    },
  }
  return client
}

/** The client `createAuthClient` returns. */
export type AuthClient = ReturnType<typeof createAuthClient>
