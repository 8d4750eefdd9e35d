import * as z from 'zod'
import { ApiError } from './errors'
import { normalizeEmail } from './schemas/common'

const UNITS = { s: 1, m: 60, h: 3600, d: 86400 } as const

/** Reads `90`, `90s`, `15m`, `12h` or `7d` as a number of seconds. */
export function parseDuration(value: string): number {
  const match = /^(\d+)\s*([smhd]?)$/.exec(value.trim())
  if (!match) return Number.NaN
  return Number(match[1]) * UNITS[(match[2] || 's') as keyof typeof UNITS]
}

/** Seconds written back the way a person would type them (`90s`, `15m`, `7d`). */
export function formatDuration(seconds: number): string {
  for (const [unit, size] of [['d', 86400], ['h', 3600], ['m', 60]] as const) {
    if (seconds >= size && seconds % size === 0) return `${seconds / size}${unit}`
  }
  return `${seconds}s`
}

const emptyToUndefined = (value: unknown) => (value === '' ? undefined : value)

/** Lifetimes: any value from 1 s outside production; `PRODUCTION_FLOORS` below apply in production. */
const duration = (fallback: string, max: number) =>
  z.preprocess(
    emptyToUndefined,
    z
      .string()
      .default(fallback)
      .transform((value, ctx) => {
        const seconds = parseDuration(value)
        if (Number.isNaN(seconds)) {
          ctx.addIssue({ code: 'custom', message: 'is not a duration' })
          return z.NEVER
        }
        return seconds
      })
      .pipe(z.number().min(1, 'is shorter than 1s').max(max, `is longer than ${formatDuration(max)}`)),
  )

/** The lower bounds production keeps, in seconds (outside production any value from 1 s works). */
export const PRODUCTION_FLOORS = {
  ACCESS_TOKEN_TTL: 60,
  REFRESH_TOKEN_TTL: 300,
  SESSION_MAX_AGE: 300,
  OTP_TTL: 60,
} as const

const MAX_TTL = { ACCESS_TOKEN_TTL: 86400, REFRESH_TOKEN_TTL: 365 * 86400, SESSION_MAX_AGE: 365 * 86400, OTP_TTL: 3600 } as const

const list = z.preprocess(
  (value) => (value === undefined ? '' : value),
  z.string().transform((value) =>
    value
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean),
  ),
)

/** True for a browser origin exactly as a browser sends it: `scheme://host[:port]`, nothing after. */
function isOrigin(entry: string): boolean {
  try {
    const url = new URL(entry)
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.origin === entry
  } catch {
    return false
  }
}

const origins = list.superRefine((entries, ctx) => {
  for (const entry of entries) {
    if (!isOrigin(entry)) ctx.addIssue({ code: 'custom', message: `has "${entry}", which is not an origin (scheme://host[:port], no path)` })
  }
})

const plainEmail = z.email()
const emails = list.superRefine((entries, ctx) => {
  for (const entry of entries) {
    if (!plainEmail.safeParse(normalizeEmail(entry)).success) ctx.addIssue({ code: 'custom', message: `has "${entry}", which is not an email address` })
  }
})

const flag = z.preprocess(
  emptyToUndefined,
  z
    .enum(['true', 'false', '1', '0'], { error: 'is neither true nor false' })
    .default('false')
    .transform((value) => value === 'true' || value === '1'),
)

/** An enum setting with a plain-words refusal; empty means the default. */
const choice = <const T extends readonly [string, ...string[]]>(values: T, fallback: T[number]) =>
  z.preprocess(emptyToUndefined, z.enum(values, { error: 'is not one of the accepted values' }).default(fallback))

/** How the per-request session check reads (API.md Configuration): where, and for how long an isolate may remember it. */
export interface SessionCheck {
  /** `primary`: exact. `replica`: the nearest D1 replica (the client's bookmark when it sends one). */
  source: 'primary' | 'replica'
  /** Seconds an isolate may answer from its cache of live sessions; 0: never. */
  cacheSeconds: number
}

/** The longest a cached session check may stand for a revoked session. */
export const MAX_SESSION_CACHE_SECONDS = 60

/** `primary`, `replica`, `cached:<1-60>` (primary under the cache) or `replica+cached:<1-60>`. */
export function parseSessionCheck(value: string): SessionCheck | undefined {
  const match = /^(?:(primary|replica)(?:\+cached:(\d{1,2}))?|cached:(\d{1,2}))$/.exec(value.trim())
  if (!match) return undefined
  const seconds = Number(match[2] ?? match[3] ?? 0)
  if ((match[2] ?? match[3]) !== undefined && (seconds < 1 || seconds > MAX_SESSION_CACHE_SECONDS)) return undefined
  return { source: match[1] === 'replica' ? 'replica' : 'primary', cacheSeconds: seconds }
}

const sessionCheck = z.preprocess(
  emptyToUndefined,
  z
    .string()
    .default('primary')
    .transform((value, ctx) => {
      const parsed = parseSessionCheck(value)
      if (!parsed) {
        ctx.addIssue({ code: 'custom', message: 'is not primary, replica, cached:<1-60> or replica+cached:<1-60>' })
        return z.NEVER
      }
      return parsed
    }),
)

const secret = z
  .string({ error: 'is required' })
  .min(1, { error: 'is required', abort: true })
  .refine((value) => new TextEncoder().encode(value).length >= 32, 'is shorter than 32 bytes')

const optionalText = z
  .string()
  .optional()
  .transform((value) => (value ? value : undefined))

/** An Ed25519 key as a JWK in JSON; the private part (`d`) is required for the signing key. */
const okpJwk = z
  .string()
  .transform((value, ctx) => {
    try {
      return JSON.parse(value) as unknown
    } catch {
      ctx.addIssue({ code: 'custom', message: 'is not JSON (one line: a JSON Web Key)' })
      return z.NEVER
    }
  })
  .pipe(
    z.looseObject(
      { kty: z.literal('OKP'), crv: z.literal('Ed25519'), x: z.string(), d: z.string().optional(), kid: z.string().optional() },
      { error: 'is not an Ed25519 JSON Web Key' },
    ),
  )

const retentionDays = z.preprocess(
  emptyToUndefined,
  z
    .string()
    .default('90')
    .pipe(z.string().regex(/^\d+$/, 'is not a whole number of days'))
    .transform(Number)
    .pipe(z.number().min(1, 'is less than 1 day').max(36500, 'is more than 36500 days')),
)

/** Provider names: lower-case letters, digits and dashes; `github` and `google` are built in, any other is generic OIDC. */
const providerNames = list.superRefine((entries, ctx) => {
  for (const entry of entries) {
    if (!/^[a-z][a-z0-9-]{0,31}$/.test(entry)) ctx.addIssue({ code: 'custom', message: `has "${entry}", which is not a provider name (a-z, 0-9 and -, starting with a letter)` })
  }
  if (new Set(entries).size !== entries.length) ctx.addIssue({ code: 'custom', message: 'names a provider twice' })
})

/** A configured sign-in provider, as the oauth method uses it. */
export interface OAuthProviderConfig {
  name: string
  kind: 'github' | 'google' | 'oidc'
  displayName: string
  clientId: string
  clientSecret: string
  /** The OpenID Connect issuer (discovery at `<issuer>/.well-known/openid-configuration`); none for GitHub. */
  issuer: string | undefined
}

/** The settings of one provider: `OAUTH_<NAME>_CLIENT_ID`, `_CLIENT_SECRET` and `_ISSUER`. */
export const providerSetting = (name: string, part: 'CLIENT_ID' | 'CLIENT_SECRET' | 'ISSUER') => `OAUTH_${name.toUpperCase().replaceAll('-', '_')}_${part}`

const BUILT_IN = { github: { displayName: 'GitHub', issuer: undefined }, google: { displayName: 'Google', issuer: 'https://accounts.google.com' } } as const

/** `https`, or outside production a loopback `http` (a local provider in development and e2e). */
function issuerProblem(value: string, production: boolean): string | undefined {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return 'is not a URL'
  }
  if (url.search || url.hash) return 'has a query or fragment (an issuer is scheme://host[:port][/path])'
  if (url.protocol === 'https:') return undefined
  const loopback = url.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)
  if (loopback && !production) return undefined
  return production ? 'is not https (production accepts only https issuers)' : 'is neither https nor http on 127.0.0.1, localhost or [::1]'
}

/** The dynamic `OAUTH_<NAME>_*` settings of every provider `OAUTH_PROVIDERS` names, each checked. */
function readProviders(env: Record<string, unknown>, names: readonly string[], production: boolean, issue: (path: string, message: string) => void): OAuthProviderConfig[] {
  const text = (key: string) => (typeof env[key] === 'string' && env[key] !== '' ? (env[key] as string).trim() : undefined)
  return names.map((name) => {
    const builtIn = name === 'github' || name === 'google' ? BUILT_IN[name] : undefined
    const [idKey, secretKey, issuerKey] = [providerSetting(name, 'CLIENT_ID'), providerSetting(name, 'CLIENT_SECRET'), providerSetting(name, 'ISSUER')]
    const clientId = text(idKey)
    const clientSecret = text(secretKey)
    const issuer = text(issuerKey) ?? builtIn?.issuer
    if (!clientId) issue(idKey, `is required (OAUTH_PROVIDERS names ${name})`)
    if (!clientSecret) issue(secretKey, `is required (OAUTH_PROVIDERS names ${name})`)
    if (name === 'github' && text(issuerKey)) issue(issuerKey, 'is not used: GitHub is not an OpenID Connect provider')
    if (!builtIn && !issuer) issue(issuerKey, `is required: ${name} is not built in, so it is found by OpenID Connect discovery from its issuer`)
    const problem = issuer && name !== 'github' ? issuerProblem(issuer, production) : undefined
    if (problem) issue(issuerKey, problem)
    const displayName = builtIn?.displayName ?? (text(`OAUTH_${name.toUpperCase().replaceAll('-', '_')}_NAME`) ?? name.charAt(0).toUpperCase() + name.slice(1))
    return { name, kind: name === 'github' ? 'github' : name === 'google' ? 'google' : 'oidc', displayName, clientId: clientId ?? '', clientSecret: clientSecret ?? '', issuer: name === 'github' ? undefined : issuer }
  })
}

/**
 * The environment (wrangler.toml `[vars]`, `.dev.vars`, secrets) checked and turned into the
 * settings the code uses. `scripts/dev.mjs` runs this very schema before `wrangler dev` starts.
 */
export const ConfigSchema = z
  // Loose: the per-provider OAUTH_<NAME>_* settings have names only OAUTH_PROVIDERS tells.
  .looseObject({
    ENVIRONMENT: choice(['development', 'test', 'production'], 'development'),
    ACCESS_TOKEN_SECRET: secret,
    REFRESH_TOKEN_SECRET: secret,
    ACCESS_TOKEN_SECRET_PREVIOUS: optionalText.pipe(secret.optional()),
    REFRESH_TOKEN_SECRET_PREVIOUS: optionalText.pipe(secret.optional()),
    ACCESS_TOKEN_ALG: choice(['HS256', 'EdDSA'], 'HS256'),
    ACCESS_TOKEN_JWK: optionalText.pipe(okpJwk.optional()),
    ACCESS_TOKEN_JWK_PREVIOUS: optionalText.pipe(okpJwk.optional()),
    PASSWORD_PEPPER: optionalText,
    ACCESS_TOKEN_TTL: duration('15m', MAX_TTL.ACCESS_TOKEN_TTL),
    REFRESH_TOKEN_TTL: duration('7d', MAX_TTL.REFRESH_TOKEN_TTL),
    SESSION_MAX_AGE: duration('30d', MAX_TTL.SESSION_MAX_AGE),
    OTP_TTL: duration('5m', MAX_TTL.OTP_TTL),
    JWT_ISSUER: optionalText,
    JWT_AUDIENCE: z.preprocess(emptyToUndefined, z.string().default('api')),
    LOGIN_OTP: choice(['required', 'off'], 'required'),
    REQUIRE_EMAIL_VERIFICATION: flag,
    EMAIL_DELIVERY: choice(['console', 'resend'], 'console'),
    RESEND_API_KEY: optionalText,
    EMAIL_FROM: optionalText,
    TURNSTILE_SECRET_KEY: optionalText,
    CORS_ORIGINS: origins,
    ADMIN_EMAILS: emails,
    AUDIT_RETENTION_DAYS: retentionDays,
    OAUTH_PROVIDERS: providerNames,
    OAUTH_RETURN_ORIGINS: origins,
    MFA_ENCRYPTION_KEY: optionalText.pipe(secret.optional()),
    WEBAUTHN_RP_ID: optionalText.pipe(z.string().regex(/^(?=.{1,253}$)[a-z0-9-]+(\.[a-z0-9-]+)*$/, 'is not a host name (lower case, no scheme, port or path)').optional()),
    WEBAUTHN_RP_NAME: z.preprocess(emptyToUndefined, z.string().max(100).default('edge-auth')),
    WEBAUTHN_ORIGINS: origins,
    SESSION_CHECK: sessionCheck,
  })
  .superRefine((env, ctx) => {
    const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message })
    const production = env.ENVIRONMENT === 'production'
    if (env.ACCESS_TOKEN_SECRET === env.REFRESH_TOKEN_SECRET) issue('REFRESH_TOKEN_SECRET', 'is the same as ACCESS_TOKEN_SECRET')
    if (env.ACCESS_TOKEN_ALG === 'EdDSA' && !env.ACCESS_TOKEN_JWK?.d) issue('ACCESS_TOKEN_JWK', 'is required (with its private part "d") when ACCESS_TOKEN_ALG=EdDSA')
    if (env.EMAIL_DELIVERY === 'resend') {
      if (!env.RESEND_API_KEY) issue('RESEND_API_KEY', 'is required when EMAIL_DELIVERY=resend')
      if (!env.EMAIL_FROM) issue('EMAIL_FROM', 'is required when EMAIL_DELIVERY=resend')
    }
    if (production && env.EMAIL_DELIVERY === 'console') issue('EMAIL_DELIVERY', 'is console, which is refused in production (codes would go to the logs)')
    // In production the issuer is configuration, never the Host a request happened to name.
    if (production && !env.JWT_ISSUER) issue('JWT_ISSUER', 'is required in production')
    // A browser refuses a ceremony whose RP id is not the origin's host or a parent domain of it.
    if (env.WEBAUTHN_RP_ID) {
      const rpId = env.WEBAUTHN_RP_ID
      for (const origin of env.WEBAUTHN_ORIGINS.length ? env.WEBAUTHN_ORIGINS : env.CORS_ORIGINS) {
        const host = new URL(origin).hostname
        if (host === rpId || host.endsWith(`.${rpId}`)) continue
        if (env.WEBAUTHN_ORIGINS.length) issue('WEBAUTHN_ORIGINS', `has "${origin}", whose host is not WEBAUTHN_RP_ID (${rpId}) or under it`)
        else issue('CORS_ORIGINS', `has "${origin}", outside WEBAUTHN_RP_ID (${rpId}), and WEBAUTHN_ORIGINS is empty so passkeys would be offered there: set WEBAUTHN_ORIGINS to the origins that use passkeys`)
      }
    }
    if (production) {
      for (const [name, floor] of Object.entries(PRODUCTION_FLOORS) as [keyof typeof PRODUCTION_FLOORS, number][]) {
        if (env[name] < floor) issue(name, `is shorter than ${formatDuration(floor)}, the production minimum`)
      }
    }
    readProviders(env, env.OAUTH_PROVIDERS, production, issue)
  })
  .transform((e) => ({
    environment: e.ENVIRONMENT,
    accessTokenSecret: e.ACCESS_TOKEN_SECRET,
    refreshTokenSecret: e.REFRESH_TOKEN_SECRET,
    /** Secrets of the previous rotation: still accepted for verification, never used to sign. */
    accessTokenSecretPrevious: e.ACCESS_TOKEN_SECRET_PREVIOUS,
    refreshTokenSecretPrevious: e.REFRESH_TOKEN_SECRET_PREVIOUS,
    accessTokenAlg: e.ACCESS_TOKEN_ALG,
    /** Ed25519 keys (JWK) for `ACCESS_TOKEN_ALG=EdDSA`: the signing key and the previous one. */
    accessTokenJwk: e.ACCESS_TOKEN_JWK,
    accessTokenJwkPrevious: e.ACCESS_TOKEN_JWK_PREVIOUS,
    passwordPepper: e.PASSWORD_PEPPER,
    /** Lifetimes, in seconds. */
    accessTokenTtl: e.ACCESS_TOKEN_TTL,
    refreshTokenTtl: e.REFRESH_TOKEN_TTL,
    sessionMaxAge: e.SESSION_MAX_AGE,
    otpTtl: e.OTP_TTL,
    /** JWT_ISSUER; absent outside production, where the service's own origin stands in. */
    issuer: e.JWT_ISSUER,
    audience: e.JWT_AUDIENCE,
    loginOtp: e.LOGIN_OTP,
    requireEmailVerification: e.REQUIRE_EMAIL_VERIFICATION,
    emailDelivery: e.EMAIL_DELIVERY,
    resendApiKey: e.RESEND_API_KEY,
    emailFrom: e.EMAIL_FROM,
    turnstileSecretKey: e.TURNSTILE_SECRET_KEY,
    corsOrigins: e.CORS_ORIGINS,
    adminEmails: new Set(e.ADMIN_EMAILS.map(normalizeEmail)),
    auditRetentionDays: e.AUDIT_RETENTION_DAYS,
    oauth: {
      /** Checked by the refinement above: every one has its client id and secret, and an issuer where it needs one. */
      providers: readProviders(e, e.OAUTH_PROVIDERS, e.ENVIRONMENT === 'production', () => {}),
      /** Where a provider sign-in may send the browser back to; empty: CORS_ORIGINS and the API's own origin. */
      returnOrigins: e.OAUTH_RETURN_ORIGINS,
    },
    /** Encrypts authenticator-app secrets and keys recovery-code hashes; absent: the mfa routes answer 503. */
    mfaEncryptionKey: e.MFA_ENCRYPTION_KEY,
    /** The passkey relying party; unset parts default to the API's own (see methods/passkey/relying-party.ts). */
    webauthnRpId: e.WEBAUTHN_RP_ID,
    webauthnRpName: e.WEBAUTHN_RP_NAME,
    webauthnOrigins: e.WEBAUTHN_ORIGINS,
    /** Where the per-request session check reads, and how long an isolate may remember a live session. */
    sessionCheck: e.SESSION_CHECK,
  }))

export type OkpJwk = z.infer<typeof okpJwk>

/** The checked settings of one deployment, before the issuer is settled. */
export type Settings = z.output<typeof ConfigSchema>

/** The checked, typed settings of one deployment (the issuer always known). */
export type Config = Omit<Settings, 'issuer'> & { issuer: string }

/** What each setting accepts, in words, and an example: the README's configuration table says the same. */
export const SETTINGS_HELP: Record<string, { accepts: string; example: string; secret?: true }> = {
  ENVIRONMENT: { accepts: 'development, test or production', example: 'development' },
  ACCESS_TOKEN_SECRET: { accepts: 'a random string of at least 32 bytes, different from REFRESH_TOKEN_SECRET', example: '<the output of: openssl rand -base64 48>', secret: true },
  REFRESH_TOKEN_SECRET: { accepts: 'a random string of at least 32 bytes, different from ACCESS_TOKEN_SECRET', example: '<the output of: openssl rand -base64 48>', secret: true },
  ACCESS_TOKEN_SECRET_PREVIOUS: { accepts: 'empty, or the previous ACCESS_TOKEN_SECRET (at least 32 bytes)', example: '', secret: true },
  REFRESH_TOKEN_SECRET_PREVIOUS: { accepts: 'empty, or the previous REFRESH_TOKEN_SECRET (at least 32 bytes)', example: '', secret: true },
  ACCESS_TOKEN_ALG: { accepts: 'HS256 or EdDSA', example: 'HS256' },
  ACCESS_TOKEN_JWK: { accepts: 'a private Ed25519 JWK as one line of JSON (npm run keygen prints one)', example: '{"kty":"OKP","crv":"Ed25519","x":"…","d":"…"}', secret: true },
  ACCESS_TOKEN_JWK_PREVIOUS: { accepts: 'empty, or the previous Ed25519 JWK as one line of JSON', example: '', secret: true },
  PASSWORD_PEPPER: { accepts: 'empty, or any secret string (never change it once set)', example: '', secret: true },
  ACCESS_TOKEN_TTL: { accepts: 'a duration (a whole number and s, m, h or d) from 1s to 1d; at least 1m in production', example: '15m' },
  REFRESH_TOKEN_TTL: { accepts: 'a duration (a whole number and s, m, h or d) from 1s to 365d; at least 5m in production', example: '7d' },
  SESSION_MAX_AGE: { accepts: 'a duration (a whole number and s, m, h or d) from 1s to 365d; at least 5m in production', example: '30d' },
  OTP_TTL: { accepts: 'a duration (a whole number and s, m, h or d) from 1s to 1h; at least 1m in production', example: '5m' },
  JWT_ISSUER: { accepts: "the service's public URL; required in production", example: 'https://auth.example.com' },
  JWT_AUDIENCE: { accepts: 'any string', example: 'api' },
  LOGIN_OTP: { accepts: 'required or off', example: 'required' },
  REQUIRE_EMAIL_VERIFICATION: { accepts: 'true or false (or 1 / 0)', example: 'false' },
  EMAIL_DELIVERY: { accepts: 'console (development only) or resend', example: 'console' },
  RESEND_API_KEY: { accepts: 'your Resend API key, when EMAIL_DELIVERY=resend', example: 're_…', secret: true },
  EMAIL_FROM: { accepts: 'the sender, on a domain verified at Resend, when EMAIL_DELIVERY=resend', example: 'Acme <auth@acme.com>' },
  TURNSTILE_SECRET_KEY: { accepts: 'the secret key of a Cloudflare Turnstile widget; when set, register, login, password/forgot and passkeys/login/options need a turnstileToken', example: '0x4AAAAAAA…', secret: true },
  CORS_ORIGINS: { accepts: 'comma-separated origins, each scheme://host[:port] with no path', example: 'http://localhost:5173,https://app.example.com' },
  ADMIN_EMAILS: { accepts: 'comma-separated email addresses', example: 'ann@example.com,bob@example.com' },
  AUDIT_RETENTION_DAYS: { accepts: 'a whole number of days from 1 to 36500', example: '90' },
  MFA_ENCRYPTION_KEY: { accepts: 'empty (authenticator apps off: the mfa routes answer 503), or a random string of at least 32 bytes (never change it once apps are enrolled)', example: '<the output of: openssl rand -base64 48>', secret: true },
  OAUTH_PROVIDERS: { accepts: 'comma-separated provider names: github, google, or any name of your own for an OpenID Connect provider', example: 'github,google' },
  OAUTH_RETURN_ORIGINS: { accepts: 'comma-separated origins a provider sign-in may return to (default: CORS_ORIGINS and the API itself)', example: 'https://app.example.com' },
  WEBAUTHN_RP_ID: { accepts: "empty (the API's host name), or the host name passkeys belong to: the API's host or a parent domain of it and of every WEBAUTHN_ORIGINS entry", example: 'example.com' },
  WEBAUTHN_RP_NAME: { accepts: 'the name a browser shows when it creates a passkey (up to 100 characters)', example: 'edge-auth' },
  WEBAUTHN_ORIGINS: { accepts: "empty (the API's origin plus CORS_ORIGINS), or comma-separated origins, each scheme://host[:port], where passkey ceremonies may run", example: 'https://app.example.com,https://auth.example.com' },
  SESSION_CHECK: {
    accepts: 'primary (exact), replica (nearest D1 replica), cached:<1-60> (primary behind a per-isolate cache of that many seconds) or replica+cached:<1-60>',
    example: 'primary',
  },
}

/** What a per-provider setting (`OAUTH_<NAME>_CLIENT_ID`, ...) accepts, for the plain-words report. */
function providerHelp(setting: string): { accepts: string; example: string; secret?: true } | undefined {
  if (!/^OAUTH_[A-Z0-9_]+_(CLIENT_ID|CLIENT_SECRET|ISSUER)$/.test(setting)) return undefined
  if (setting.endsWith('_CLIENT_SECRET')) return { accepts: "the OAuth app's client secret", example: '<from the provider>', secret: true }
  if (setting.endsWith('_CLIENT_ID')) return { accepts: "the OAuth app's client id", example: '<from the provider>' }
  return { accepts: 'the https issuer URL of an OpenID Connect provider (http on 127.0.0.1/localhost/[::1] outside production)', example: 'https://login.example.com' }
}

/** One configuration mistake, in plain words: never a secret's value. */
export interface ConfigProblem {
  setting: string
  /** What was found: the value as written, or for a secret only its length. */
  found: string
  problem: string
  accepts: string
  example: string
}

function describeFound(value: unknown, secret: boolean): string {
  if (value === undefined || value === '') return 'nothing (not set)'
  if (typeof value !== 'string') return typeof value
  if (secret) return `a value of ${new TextEncoder().encode(value).length} bytes (not shown)`
  return JSON.stringify(value)
}

function problemsOf(env: Record<string, unknown>, error: z.ZodError): ConfigProblem[] {
  const problems = new Map<string, ConfigProblem>()
  /** Issues inside a structured value (a JWK's fields) become one problem naming the fields. */
  const nested = new Map<string, string[]>()
  for (const issue of error.issues) {
    const setting = String(issue.path[0] ?? '(environment)')
    if (issue.path.length > 1) nested.set(setting, [...(nested.get(setting) ?? []), issue.path.slice(1).join('.')])
    const message = issue.path.length > 1 ? `has a wrong or missing ${nested.get(setting)!.join(', ')}` : issue.message
    const help = SETTINGS_HELP[setting] ?? providerHelp(setting)
    const key = issue.path.length > 1 ? `${setting}\u0000nested` : `${setting}\u0000${message}`
    problems.set(key, {
      setting,
      found: describeFound(env[setting], help?.secret === true),
      problem: message,
      accepts: help?.accepts ?? '',
      example: help ? `${setting}=${help.example}` : '',
    })
  }
  return [...problems.values()]
}

/**
 * The environment as the schema reads it: a `[vars]` value written without quotes in
 * wrangler.toml (`AUDIT_RETENTION_DAYS = 90`) reaches the Worker as a number or boolean.
 */
function asText(env: Record<string, unknown>): Record<string, unknown> {
  const text: Record<string, unknown> = {}
  for (const [name, value] of Object.entries(env)) text[name] = typeof value === 'number' || typeof value === 'boolean' ? String(value) : value
  return text
}

/** Every configuration problem of an environment, in plain words; empty when it is usable. */
export function checkConfig(env: Record<string, unknown>): ConfigProblem[] {
  const input = asText(env)
  const parsed = ConfigSchema.safeParse(input)
  return parsed.success ? [] : problemsOf(input, parsed.error)
}

/** One line per problem, for the log. */
export const formatProblems = (problems: ConfigProblem[]) =>
  problems.map((p) => `${p.setting} ${p.problem} (found ${p.found}; accepts ${p.accepts})`).join('; ')

/** Outside production, per env object: the configs of the last few origins the service was reached at. */
export const MAX_CACHED_ORIGINS = 8

const settingsCache = new WeakMap<object, Settings>()
const originCache = new WeakMap<object, Map<string, Config>>()

/** Parses the environment once per isolate (per env object). Throws CONFIG_ERROR naming every problem in `cause`. */
export function loadSettings(env: Env): Settings {
  const hit = settingsCache.get(env)
  if (hit) return hit
  const input = asText(env as unknown as Record<string, unknown>)
  const parsed = ConfigSchema.safeParse(input)
  if (!parsed.success) throw new ApiError('CONFIG_ERROR', { cause: new Error(formatProblems(problemsOf(input, parsed.error))) })
  settingsCache.set(env, parsed.data)
  return parsed.data
}

/**
 * The Config of a request (`originOf`: the origin it came to, or how to find it). With JWT_ISSUER set (always, in production) there is one per env
 * object; without it (development only) the issuer is the origin the request came to, and the
 * configs of the last `MAX_CACHED_ORIGINS` origins are kept, the oldest evicted first.
 * Throws CONFIG_ERROR naming the problem in `cause` (logged, never sent).
 */
export function loadConfig(env: Env, originOf: string | (() => string)): Config {
  const settings = loadSettings(env)
  const { issuer } = settings
  // The same object every time: key rings are cached per Config.
  if (issuer !== undefined) return settings as Config
  // Only now is the request's origin needed (a URL parse per request otherwise).
  const origin = typeof originOf === 'string' ? originOf : originOf()
  let byOrigin = originCache.get(env)
  const hit = byOrigin?.get(origin)
  if (hit) return hit
  if (!byOrigin) originCache.set(env, (byOrigin = new Map()))
  const config: Config = { ...settings, issuer: origin }
  byOrigin.set(origin, config)
  // A Map iterates in insertion order: the first key is the oldest.
  if (byOrigin.size > MAX_CACHED_ORIGINS) byOrigin.delete(byOrigin.keys().next().value!)
  return config
}

/** Days of audit trail the nightly clean-up keeps (AUDIT_RETENTION_DAYS, default 90; checked by the schema). */
export function auditRetentionDays(env: Env): number {
  return loadSettings(env).auditRetentionDays
}
