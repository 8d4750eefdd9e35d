import type { ContentfulStatusCode } from 'hono/utils/http-status'

/** Every error the API can answer with: status and the message a client sees. */
export const ERRORS = {
  VALIDATION_ERROR: [400, 'The request is invalid.'],
  INVALID_JSON: [400, 'The request body is not valid JSON.'],
  LAST_SIGN_IN_METHOD: [400, 'This is the last way left to sign in to the account.'],
  INVALID_CREDENTIALS: [401, 'Invalid email or password.'],
  TOKEN_MISSING: [401, 'Authentication is required.'],
  TOKEN_INVALID: [401, 'The token is invalid.'],
  TOKEN_EXPIRED: [401, 'The token has expired.'],
  TOKEN_REVOKED: [401, 'The session has ended.'],
  TOKEN_REUSED: [401, 'This refresh token was already used; the session has been ended.'],
  OTP_INVALID: [401, 'The code is incorrect.'],
  OTP_EXPIRED: [401, 'The code has expired or was already used.'],
  // Shared by passkeys (a WebAuthn challenge) and social sign-in (an OAuth state).
  CHALLENGE_EXPIRED: [401, 'The challenge has expired or was already used; start again.'],
  FORBIDDEN: [403, 'You are not allowed to do this.'],
  CSRF_REJECTED: [403, 'The request origin is not allowed.'],
  EMAIL_NOT_VERIFIED: [403, 'The email address has not been verified.'],
  ACCOUNT_BANNED: [403, 'This account is banned.'],
  MFA_REQUIRED: [403, 'This needs a session signed in with a second factor.'],
  NOT_FOUND: [404, 'Not found.'],
  METHOD_NOT_ALLOWED: [405, 'Method not allowed.'],
  EMAIL_TAKEN: [409, 'An account with this email already exists.'],
  PAYLOAD_TOO_LARGE: [413, 'The request body is too large.'],
  UNSUPPORTED_MEDIA_TYPE: [415, 'The request body must be application/json.'],
  RATE_LIMITED: [429, 'Too many requests. Try again later.'],
  OTP_ATTEMPTS_EXCEEDED: [429, 'Too many wrong codes; this code no longer works.'],
  INTERNAL_ERROR: [500, 'Something went wrong.'],
  SERVICE_UNAVAILABLE: [503, 'The service is temporarily unavailable.'],
  CONFIG_ERROR: [503, 'The service is not configured correctly.'],
} as const satisfies Record<string, readonly [ContentfulStatusCode, string]>

/**
 * Error codes a sign-in method adds. The method declares them for the type checker with
 * `declare module '../../errors' { interface MethodErrorCodes { MY_CODE: true } }` and lists them
 * in its `errors`, which the method registry registers at start-up.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface MethodErrorCodes {}

export type ErrorCode = keyof typeof ERRORS | keyof MethodErrorCodes

export type ErrorEntry = readonly [ContentfulStatusCode, string]

const TABLE: Record<string, ErrorEntry> = { ...ERRORS }

/** Adds a method's error codes to the table; a code may be defined once. */
export function registerErrors(errors: Readonly<Record<string, ErrorEntry>>): void {
  for (const [code, entry] of Object.entries(errors)) {
    if (code in TABLE && TABLE[code] !== entry) throw new Error(`error code ${code} is defined twice`)
    TABLE[code] = entry
  }
}

/** Status and message of a code, the methods' included. */
export function errorEntry(code: ErrorCode): ErrorEntry {
  const entry = TABLE[code]
  if (!entry) throw new Error(`unknown error code ${code}`)
  return entry
}

/** Every code the API can answer with. */
export const errorCodes = (): ErrorCode[] => Object.keys(TABLE) as ErrorCode[]

/** One field-level problem, as it appears in `details`. */
export interface ErrorDetail {
  path: string
  message: string
  [extra: string]: unknown
}

/** An error with a code from the table; rendered by the app's one `onError`. */
export class ApiError extends Error {
  readonly code: ErrorCode
  readonly status: ContentfulStatusCode
  readonly details: ErrorDetail[] | undefined
  /** Seconds a client should wait, sent as `Retry-After` (429, 503). */
  readonly retryAfter: number | undefined

  constructor(
    code: ErrorCode,
    options: { message?: string; details?: ErrorDetail[]; retryAfter?: number; cause?: unknown } = {},
  ) {
    const [status, message] = errorEntry(code)
    super(options.message ?? message, { cause: options.cause })
    this.name = 'ApiError'
    this.code = code
    this.status = status
    this.details = options.details
    this.retryAfter = options.retryAfter
  }
}

/** True when the error or any error in its `cause` chain has a message matching `pattern`. */
export function causeMatches(error: unknown, pattern: RegExp): boolean {
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    if (pattern.test(e.message)) return true
  }
  return false
}
