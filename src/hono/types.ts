/**
 * The identity a consuming Worker learns about its caller: what the `AuthService` RPC
 * entrypoint answers and what `edge-auth/hono` puts on the context. Plain data only, with no
 * imports, so the same declarations serve the service and the published package.
 *
 * @module
 */

/** A role of the API contract. */
export type Role = 'user' | 'admin'

/** The user object of the API contract: never the password hash, never internal columns. */
export interface AuthUser {
  id: string
  email: string
  name: string
  mobile: string | null
  role: Role
  emailVerified: boolean
  /** ISO-8601, UTC. */
  createdAt: string
  updatedAt: string
}

/** The session behind an access token, with how its holder proved who they are. */
export interface AuthSession {
  id: string
  /** Authentication assurance level: `aal1` (one factor) or `aal2` (a second step). */
  aal: string
  /** Authentication methods references (RFC 8176), e.g. `['pwd']`, `['pwd', 'otp']`. */
  amr: string[]
}

/** Why a token was refused. */
export type VerifyError = 'TOKEN_MISSING' | 'TOKEN_INVALID' | 'TOKEN_EXPIRED' | 'TOKEN_REVOKED'

/** The answer of `AuthService.verify(accessToken)`. */
export type VerifyResult = { ok: true; user: AuthUser; session: AuthSession } | { ok: false; error: VerifyError }

/**
 * The `AuthService` entrypoint as a consuming Worker sees it through its service binding
 * (`services = [{ binding = "AUTH", service = "edge-auth", entrypoint = "AuthService" }]`).
 */
export interface AuthBinding {
  /** The same checks as the API's own: signature, claims, and the session and account still live. */
  verify(accessToken: string): Promise<VerifyResult>
  /** A live account by id, or null (unknown or deleted). */
  user(id: string): Promise<AuthUser | null>
}
