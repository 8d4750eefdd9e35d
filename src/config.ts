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

const duration = (fallback: string, min: number, max: number) =>
  z
    .string()
    .default(fallback)
    .transform(parseDuration)
    .pipe(z.number().int().min(min).max(max))

const list = z
  .string()
  .default('')
  .transform((value) =>
    value
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean),
  )

const flag = z
  .enum(['true', 'false', '1', '0', ''])
  .default('false')
  .transform((value) => value === 'true' || value === '1')

const secret = z
  .string({ error: 'is required' })
  .refine((value) => new TextEncoder().encode(value).length >= 32, 'must be at least 32 bytes')

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
      ctx.addIssue({ code: 'custom', message: 'must be a JSON Web Key' })
      return z.NEVER
    }
  })
  .pipe(z.looseObject({ kty: z.literal('OKP'), crv: z.literal('Ed25519'), x: z.string(), d: z.string().optional(), kid: z.string().optional() }))

const emptyToUndefined = (value: unknown) => (value === '' ? undefined : value)

const ConfigSchema = z
  .object({
    ENVIRONMENT: z.preprocess(emptyToUndefined, z.enum(['development', 'test', 'production']).default('development')),
    ACCESS_TOKEN_SECRET: secret,
    REFRESH_TOKEN_SECRET: secret,
    ACCESS_TOKEN_SECRET_PREVIOUS: optionalText.pipe(secret.optional()),
    REFRESH_TOKEN_SECRET_PREVIOUS: optionalText.pipe(secret.optional()),
    ACCESS_TOKEN_ALG: z.preprocess(emptyToUndefined, z.enum(['HS256', 'EdDSA']).default('HS256')),
    ACCESS_TOKEN_JWK: optionalText.pipe(okpJwk.optional()),
    ACCESS_TOKEN_JWK_PREVIOUS: optionalText.pipe(okpJwk.optional()),
    PASSWORD_PEPPER: optionalText,
    ACCESS_TOKEN_TTL: z.preprocess(emptyToUndefined, duration('15m', 60, 86400)),
    REFRESH_TOKEN_TTL: z.preprocess(emptyToUndefined, duration('7d', 300, 365 * 86400)),
    SESSION_MAX_AGE: z.preprocess(emptyToUndefined, duration('30d', 300, 365 * 86400)),
    OTP_TTL: z.preprocess(emptyToUndefined, duration('5m', 60, 3600)),
    JWT_ISSUER: optionalText,
    JWT_AUDIENCE: z.preprocess(emptyToUndefined, z.string().default('api')),
    LOGIN_OTP: z.preprocess(emptyToUndefined, z.enum(['required', 'off']).default('required')),
    REQUIRE_EMAIL_VERIFICATION: z.preprocess(emptyToUndefined, flag),
    EMAIL_DELIVERY: z.preprocess(emptyToUndefined, z.enum(['console', 'resend']).default('console')),
    RESEND_API_KEY: optionalText,
    EMAIL_FROM: optionalText,
    CORS_ORIGINS: list,
    ADMIN_EMAILS: list,
  })
  .superRefine((env, ctx) => {
    if (env.ACCESS_TOKEN_SECRET === env.REFRESH_TOKEN_SECRET) {
      ctx.addIssue({ code: 'custom', path: ['REFRESH_TOKEN_SECRET'], message: 'must differ from ACCESS_TOKEN_SECRET' })
    }
    if (env.ACCESS_TOKEN_ALG === 'EdDSA' && !env.ACCESS_TOKEN_JWK?.d) {
      ctx.addIssue({ code: 'custom', path: ['ACCESS_TOKEN_JWK'], message: 'a private Ed25519 JWK is required with ACCESS_TOKEN_ALG=EdDSA' })
    }
    if (env.EMAIL_DELIVERY === 'resend') {
      if (!env.RESEND_API_KEY) ctx.addIssue({ code: 'custom', path: ['RESEND_API_KEY'], message: 'is required with EMAIL_DELIVERY=resend' })
      if (!env.EMAIL_FROM) ctx.addIssue({ code: 'custom', path: ['EMAIL_FROM'], message: 'is required with EMAIL_DELIVERY=resend' })
    }
    if (env.ENVIRONMENT === 'production' && env.EMAIL_DELIVERY === 'console') {
      ctx.addIssue({ code: 'custom', path: ['EMAIL_DELIVERY'], message: 'console delivery is refused in production' })
    }
  })

export type OkpJwk = z.infer<typeof okpJwk>

/** The checked, typed settings of one deployment. */
export interface Config {
  environment: 'development' | 'test' | 'production'
  accessTokenSecret: string
  refreshTokenSecret: string
  /** Secrets of the previous rotation: still accepted for verification, never used to sign. */
  accessTokenSecretPrevious: string | undefined
  refreshTokenSecretPrevious: string | undefined
  accessTokenAlg: 'HS256' | 'EdDSA'
  /** Ed25519 keys (JWK) for `ACCESS_TOKEN_ALG=EdDSA`: the signing key and the previous one. */
  accessTokenJwk: OkpJwk | undefined
  accessTokenJwkPrevious: OkpJwk | undefined
  passwordPepper: string | undefined
  /** Lifetimes, in seconds. */
  accessTokenTtl: number
  refreshTokenTtl: number
  sessionMaxAge: number
  otpTtl: number
  issuer: string
  audience: string
  loginOtp: 'required' | 'off'
  requireEmailVerification: boolean
  emailDelivery: 'console' | 'resend'
  resendApiKey: string | undefined
  emailFrom: string | undefined
  corsOrigins: string[]
  adminEmails: Set<string>
}

const cache = new WeakMap<object, Map<string, Config>>()

/**
 * Parses the environment into a Config once per isolate (per env object and origin,
 * since the issuer defaults to the service's own URL).
 * Throws CONFIG_ERROR naming the problem in `cause` (logged, never sent).
 */
export function loadConfig(env: Env, origin: string): Config {
  let byOrigin = cache.get(env)
  const hit = byOrigin?.get(origin)
  if (hit) return hit

  const parsed = ConfigSchema.safeParse(env)
  if (!parsed.success) {
    const reason = parsed.error.issues.map((issue) => `${issue.path.join('.')} ${issue.message}`).join('; ')
    throw new ApiError('CONFIG_ERROR', { cause: new Error(reason) })
  }
  const e = parsed.data
  const config: Config = {
    environment: e.ENVIRONMENT,
    accessTokenSecret: e.ACCESS_TOKEN_SECRET,
    refreshTokenSecret: e.REFRESH_TOKEN_SECRET,
    accessTokenSecretPrevious: e.ACCESS_TOKEN_SECRET_PREVIOUS,
    refreshTokenSecretPrevious: e.REFRESH_TOKEN_SECRET_PREVIOUS,
    accessTokenAlg: e.ACCESS_TOKEN_ALG,
    accessTokenJwk: e.ACCESS_TOKEN_JWK,
    accessTokenJwkPrevious: e.ACCESS_TOKEN_JWK_PREVIOUS,
    passwordPepper: e.PASSWORD_PEPPER,
    accessTokenTtl: e.ACCESS_TOKEN_TTL,
    refreshTokenTtl: e.REFRESH_TOKEN_TTL,
    sessionMaxAge: e.SESSION_MAX_AGE,
    otpTtl: e.OTP_TTL,
    issuer: e.JWT_ISSUER ?? origin,
    audience: e.JWT_AUDIENCE,
    loginOtp: e.LOGIN_OTP,
    requireEmailVerification: e.REQUIRE_EMAIL_VERIFICATION,
    emailDelivery: e.EMAIL_DELIVERY,
    resendApiKey: e.RESEND_API_KEY,
    emailFrom: e.EMAIL_FROM,
    corsOrigins: e.CORS_ORIGINS,
    adminEmails: new Set(e.ADMIN_EMAILS.map(normalizeEmail)),
  }
  if (!byOrigin) cache.set(env, (byOrigin = new Map()))
  byOrigin.set(origin, config)
  return config
}

/** Days of audit trail the nightly clean-up keeps (AUDIT_RETENTION_DAYS, default 90). */
export function auditRetentionDays(env: Pick<Env, 'AUDIT_RETENTION_DAYS'>): number {
  const days = Number(env.AUDIT_RETENTION_DAYS ?? '')
  return Number.isInteger(days) && days > 0 ? days : 90
}
