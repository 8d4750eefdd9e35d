/** One field-level problem of a `VALIDATION_ERROR` (or extra facts such as `attemptsLeft`). */
export interface AuthErrorDetail {
  path: string
  message: string
  [extra: string]: unknown
}

/** What `fromResponse` reads of a response (a `Response` or a hono/client `ClientResponse`). */
export interface ResponseLike {
  readonly status: number
  readonly headers: Headers
  clone(): { json(): Promise<unknown> }
}

/**
 * Every failure of the auth client: an API error answer (`status` and `code` from the
 * API contract's table, e.g. `401 TOKEN_EXPIRED`, `409 EMAIL_TAKEN`), or a request that
 * never got an answer (`status` 0, `code` `NETWORK_ERROR`).
 *
 * @example
 * ```ts
 * try {
 *   await auth.register({ email, password, name })
 * } catch (error) {
 *   if (error instanceof AuthClientError && error.code === 'EMAIL_TAKEN') showLoginInstead()
 *   else throw error
 * }
 * ```
 */
export class AuthClientError extends Error {
  /** HTTP status; 0 when no response arrived. */
  readonly status: number
  /** The API's error code (`VALIDATION_ERROR`, `TOKEN_REUSED`, ...), `NETWORK_ERROR` or `HTTP_ERROR`. */
  readonly code: string
  /** Per-field problems, when the API sent them. */
  readonly details: AuthErrorDetail[] | undefined
  /** Seconds to wait before trying again (`Retry-After` of a 429 or 503). */
  readonly retryAfter: number | undefined
  /** The `X-Request-Id` of the failed response, for support and logs. */
  readonly requestId: string | undefined

  constructor(
    status: number,
    code: string,
    message: string,
    options: { details?: AuthErrorDetail[]; retryAfter?: number; requestId?: string; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'AuthClientError'
    this.status = status
    this.code = code
    this.details = options.details
    this.retryAfter = options.retryAfter
    this.requestId = options.requestId
  }

  /** Builds the error from a failed response's envelope (`{success: false, error, message, details}`). */
  static async fromResponse(response: ResponseLike): Promise<AuthClientError> {
    let envelope: { error?: unknown; message?: unknown; details?: unknown } = {}
    try {
      const parsed: unknown = await response.clone().json()
      if (parsed && typeof parsed === 'object') envelope = parsed
    } catch {
      // not JSON (a proxy's error page, say): keep the generic code below
    }
    const code = typeof envelope.error === 'string' ? envelope.error : 'HTTP_ERROR'
    const message = typeof envelope.message === 'string' ? envelope.message : `Request failed with status ${response.status}.`
    const retryAfter = Number(response.headers.get('Retry-After') ?? '')
    return new AuthClientError(response.status, code, message, {
      ...(Array.isArray(envelope.details) ? { details: envelope.details as AuthErrorDetail[] } : {}),
      ...(Number.isFinite(retryAfter) && retryAfter > 0 ? { retryAfter } : {}),
      ...(response.headers.has('X-Request-Id') ? { requestId: response.headers.get('X-Request-Id')! } : {}),
    })
  }

  /** A request that failed before any response (offline, DNS, CORS refusal, abort). */
  static network(cause: unknown): AuthClientError {
    const message = cause instanceof Error ? cause.message : 'The request did not reach the server.'
    return new AuthClientError(0, 'NETWORK_ERROR', message, { cause })
  }
}

/** True for errors that mean the session is over: the refresh token is dead or was replayed. */
export const isSessionEnded = (code: string) => code === 'TOKEN_REVOKED' || code === 'TOKEN_REUSED'
