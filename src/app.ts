import { Hono, type Context } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { HTTPException } from 'hono/http-exception'
import { methodNotAllowed } from 'hono/method-not-allowed'
import { requestId } from 'hono/request-id'
import { secureHeaders } from 'hono/secure-headers'
import { loadConfig } from './config'
import { BOOKMARK_HEADER, RequestDb } from './db/client'
import { ApiError, causeMatches, type ErrorCode } from './errors'
import { createLogger, describeError, requestSummary, stackFrames } from './log'
import { METHODS } from './methods'
import { mountMethods } from './methods/mount'
import { registerMethods } from './methods/registry'
import { clientAddress } from './http/client-address'
import { corsAllowlist } from './middleware/cors'
import { requireJsonBody, requireTrustedOrigin } from './middleware/guards'
import { adminRoutes } from './routes/admin'
import { authRoutes } from './routes/auth'
import { openApiDocument } from './openapi'
import { serviceRoutes } from './routes/service'
import { userRoutes } from './routes/user'
import type { AppEnv, RequestMeta } from './types'

export const MAX_BODY_BYTES = 16 * 1024

/** Renders an ApiError as the error envelope. */
function errorResponse(c: Context<AppEnv>, error: ApiError) {
  c.set('failure', error)
  if (error.retryAfter !== undefined) c.header('Retry-After', String(error.retryAfter))
  return c.json(
    {
      success: false as const,
      message: error.message,
      error: error.code,
      ...(error.details ? { details: error.details } : {}),
    },
    error.status,
  )
}

/** The shape of a D1 bookmark: anything else in `X-D1-Bookmark` is ignored. */
const BOOKMARK = /^[0-9a-f]{8}(?:-[0-9a-f]{1,64}){1,8}$/i

/** Where a request came from, each part worked out only if something records it (a session, an audit row). */
function requestMeta(headers: Headers, requestId: string): RequestMeta {
  let ip: string | null | undefined
  let userAgent: string | null | undefined
  return {
    requestId,
    get ip() {
      return ip === undefined ? (ip = clientAddress(headers.get('CF-Connecting-IP') ?? undefined)) : ip
    },
    get userAgent() {
      return userAgent === undefined ? (userAgent = headers.get('User-Agent')?.slice(0, 512) ?? null) : userAgent
    },
  }
}

/** D1 and KV failures surface as errors whose messages name the binding's layer. */
const STORE_FAILURE = /D1_|SQLITE_|KV (GET|PUT|DELETE)|Failed query/i

/** Maps anything thrown to an ApiError; what is not ours is logged and answered generically. */
function toApiError(c: Context<AppEnv>, error: unknown): ApiError {
  const log = c.get('log') ?? createLogger()
  if (error instanceof ApiError) {
    // The reason behind a 5xx (a missing secret, say) goes to the log only.
    if (error.status >= 500) log.error('request.failed', { error: error.code, reason: describeError(error.cause) })
    return error
  }
  // Hono's validator throws this for a body that is not JSON; anything else of Hono's is unexpected.
  if (error instanceof HTTPException && error.status === 400 && error.message.startsWith('Malformed JSON')) {
    return new ApiError('INVALID_JSON')
  }
  const code: ErrorCode = causeMatches(error, STORE_FAILURE) ? 'SERVICE_UNAVAILABLE' : 'INTERNAL_ERROR'
  log.error('request.failed', {
    error: describeError(error),
    stack: stackFrames(error),
  })
  return new ApiError(code)
}

/** Builds the application: middleware in order, routes mounted, one error handler. */
export function createApp() {
  // Explicit, not an import for its side effects: the package is marked side-effect free.
  registerMethods(METHODS)
  const app = new Hono<AppEnv>()

  // A client-chosen id is echoed only when it is a short, plain token (hono checks `[\w=-]`).
  app.use(requestId({ limitLength: 64 }))
  app.use(async function requestLog(c, next) {
    const started = Date.now()
    const requestId = c.get('requestId')
    // Development writes every line with console.log, which wrangler dev leaves unwrapped.
    const log = createLogger({ requestId }, { singleStream: () => c.get('config')?.environment === 'development' })
    c.set('log', log)
    c.set('meta', requestMeta(c.req.raw.headers, requestId))
    await next()
    // JSON is UTF-8; say so, so no client sniffs another charset.
    const headers = c.res.headers
    if (headers.get('Content-Type') === 'application/json') headers.set('Content-Type', 'application/json; charset=utf-8')
    // One line per request: its error code and, for a refused token, the check that failed. In
    // production only what Workers Logs lacks, and only when there is something: an anonymous
    // success (a health probe) would add nothing to its invocation log but a request id, for
    // 3-20 % of such a request's CPU (BENCHMARKS.md, baseline /ok-log).
    // Elsewhere (wrangler dev, tests) the whole request, every time.
    const production = c.get('config')?.environment === 'production'
    const userId = c.get('auth')?.userId
    const failure = c.get('failure')
    if (production && userId === undefined && failure === undefined && c.res.status < 400) return
    const { level, fields } = requestSummary(
      { method: c.req.method, path: c.req.path, status: c.res.status, durationMs: Date.now() - started, userId },
      failure,
      production,
    )
    log[level]('request', { ...fields })
  })
  app.use(
    secureHeaders({
      strictTransportSecurity: 'max-age=31536000; includeSubDomains',
      contentSecurityPolicy: { defaultSrc: ["'none'"], frameAncestors: ["'none'"], baseUri: ["'none'"], formAction: ["'none'"] },
      referrerPolicy: 'no-referrer',
      xFrameOptions: 'DENY',
      // A route may set its own policy (the /docs page needs one that lets its script run).
      overwrite: false,
      crossOriginResourcePolicy: 'same-origin',
    }),
  )
  app.use(async function configure(c, next) {
    if (c.req.path.startsWith('/api/')) c.header('Cache-Control', 'no-store')
    c.set('config', loadConfig(c.env, () => new URL(c.req.url).origin))
    // Only something shaped like a D1 bookmark is passed on; anything else starts unconstrained.
    // Read when a replica session opens, not on every request.
    const d1 = new RequestDb(c.env.DB, () => {
      const bookmark = c.req.header(BOOKMARK_HEADER)
      return bookmark && BOOKMARK.test(bookmark) ? bookmark : undefined
    })
    c.set('d1', d1)
    await next()
    // Only on authenticated responses: a public answer's bookmark would move differently for a
    // known and an unknown address (password/forgot), telling them apart.
    const latest = c.get('auth') || c.get('ownWrite') ? d1.bookmark() : undefined
    if (latest) c.res.headers.set(BOOKMARK_HEADER, latest)
  })
  app.use(corsAllowlist())
  app.use('/api/auth/refresh', requireTrustedOrigin())
  app.use('/api/auth/logout', requireTrustedOrigin())
  app.use(requireJsonBody())
  app.use(
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: () => {
        throw new ApiError('PAYLOAD_TOO_LARGE')
      },
    }),
  )
  app.use(
    methodNotAllowed({
      app,
      onMethodNotAllowed: (c, methods) => {
        c.header('Allow', methods.join(', '))
        return errorResponse(c, new ApiError('METHOD_NOT_ALLOWED'))
      },
    }),
  )

  // One line per route group (src/http/registry.ts), and the sign-in methods' groups in one loop
  // (src/methods/index.ts); the document covers whatever is mounted here.
  let document: Record<string, unknown> | undefined
  const routes = mountMethods(app, METHODS)
    .route('/api/auth', authRoutes)
    .route('/api/user', userRoutes)
    .route('/api/admin', adminRoutes)
    .route('/', serviceRoutes(() => (document ??= openApiDocument(app.routes))))

  app.notFound((c) => errorResponse(c, new ApiError('NOT_FOUND')))
  app.onError((error, c) => errorResponse(c, toApiError(c, error)))
  return routes
}

export type App = ReturnType<typeof createApp>
