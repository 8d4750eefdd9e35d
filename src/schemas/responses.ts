import * as z from 'zod'
import { ERRORS } from '../errors'

/** Response shapes: the types the services return and the OpenAPI document both come from here. */

const isoTime = z.iso.datetime()

export const User = z
  .object({
    id: z.string(),
    email: z.string(),
    name: z.string(),
    mobile: z.string().nullable(),
    role: z.enum(['user', 'admin']),
    emailVerified: z.boolean(),
    createdAt: isoTime,
    updatedAt: isoTime,
  })
  .meta({ id: 'User' })
export type PublicUser = z.infer<typeof User>

export const AdminUser = User.extend({
  deletedAt: isoTime.nullable(),
  banned: z.object({ reason: z.string(), until: isoTime.nullable() }).nullable(),
  mfa: z.object({ totp: z.boolean(), passkeys: z.number().int(), identities: z.array(z.string()) }),
}).meta({ id: 'AdminUser' })

const tokenFields = {
  accessToken: z.string(),
  tokenType: z.literal('Bearer'),
  expiresIn: z.number().int().describe('Seconds until the access token expires.'),
  user: User,
}

/** Token response with the default cookie transport: the refresh token is in `Set-Cookie` only. */
export const CookieTokenData = z.object(tokenFields).meta({ id: 'TokenResponse' })

/** Token response with `tokenTransport: "body"`: the refresh token is in the body, and no cookie is set. */
export const BodyTokenData = z
  .object({ ...tokenFields, refreshToken: z.string().describe('The refresh token; send it back as {refreshToken} to refresh and logout.') })
  .meta({ id: 'BodyTokenResponse' })

export const TokenData = z.union([CookieTokenData, BodyTokenData])

/** What a login challenge accepts (API.md "Login with a second step"). */
export const ChallengeMethods = z.array(z.enum(['email_otp', 'totp', 'recovery_code']))

export const Challenge = z.object({ otpRequired: z.literal(true), challengeId: z.string(), expiresIn: z.number().int(), methods: ChallengeMethods })

/** How a session was established. */
export const Assurance = { aal: z.enum(['aal1', 'aal2']), amr: z.array(z.string()) }

export const ChallengeRenewed = z.object({ challengeId: z.string(), expiresIn: z.number().int() })

export const Session = z
  .object({
    id: z.string(),
    createdAt: isoTime,
    lastUsedAt: isoTime,
    expiresAt: isoTime,
    userAgent: z.string().nullable(),
    ip: z.string().nullable(),
    current: z.boolean(),
    ...Assurance,
  })
  .meta({ id: 'Session' })

export const AuditEvent = z
  .object({
    id: z.string(),
    at: isoTime,
    type: z.string(),
    userId: z.string().nullable(),
    actorId: z.string().nullable(),
    sessionId: z.string().nullable(),
    ip: z.string().nullable(),
    userAgent: z.string().nullable(),
    requestId: z.string().nullable(),
    alert: z.boolean(),
    detail: z.record(z.string(), z.unknown()).nullable(),
  })
  .meta({ id: 'AuditEvent' })

export const Health = z.object({
  status: z.enum(['ok']),
  checks: z.object({ d1: z.object({ ok: z.boolean(), latencyMs: z.number() }), kv: z.object({ ok: z.boolean(), latencyMs: z.number() }) }).optional(),
})

export const ErrorEnvelope = z
  .object({
    success: z.literal(false),
    message: z.string(),
    error: z.enum(Object.keys(ERRORS) as [keyof typeof ERRORS, ...(keyof typeof ERRORS)[]]),
    details: z
      .array(
        z
          .looseObject({
            path: z.string(),
            message: z.string(),
            attemptsLeft: z.number().int().min(0).optional().describe('OTP_INVALID on verify-otp: wrong tries left on this code.'),
          })
          .meta({ id: 'ErrorDetail' }),
      )
      .optional(),
  })
  .meta({ id: 'Error' })

/** The success envelope around `data`. */
export const envelope = <T extends z.ZodType>(data: T) =>
  z.object({ success: z.literal(true), message: z.string().optional(), data })

export const Empty = z.object({})
export const Revoked = z.object({ revoked: z.number().int() })
export const UserData = z.object({ user: User })
export const AdminUserData = z.object({ user: AdminUser })
export const UserPage = z.object({ users: z.array(AdminUser), nextCursor: z.string().nullable() })
export const AuditPage = z.object({ events: z.array(AuditEvent), nextCursor: z.string().nullable() })
export const SessionList = z.object({ sessions: z.array(Session) })

/** A JSON Web Key Set (RFC 7517) of the access-token signing keys. */
export const Jwks = z.object({ keys: z.array(z.looseObject({ kty: z.string(), kid: z.string() })) }).meta({ id: 'JWKS' })

/** The OpenAPI document itself, described only as a JSON object. */
export const OpenApiDocument = z.record(z.string(), z.unknown()).describe('An OpenAPI 3.1 document.')
