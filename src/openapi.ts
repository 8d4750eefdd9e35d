import * as z from 'zod'
import { errorEntry, type ErrorCode } from './errors'
import { AuditQuery, RoleChangeBody, UserListQuery } from './schemas/admin'
import {
  ChangePasswordBody,
  ForgotPasswordBody,
  LoginBody,
  RefreshBody,
  RegisterBody,
  ResendOtpBody,
  ResetPasswordBody,
  VerifyEmailBody,
  VerifyOtpBody,
} from './schemas/auth'
import * as R from './schemas/responses'
import { DeleteAccountBody, ProfileUpdateBody } from './schemas/user'

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete'
type Auth = 'public' | 'bearer' | 'admin' | 'refresh'

interface Operation {
  method: Method
  path: string
  tag: 'Auth' | 'Sessions' | 'Passwords' | 'Profile' | 'Admin' | 'Service'
  summary: string
  auth: Auth
  body?: z.ZodType
  query?: z.ZodType
  data: z.ZodType
  status?: 200 | 201
  errors: ErrorCode[]
  /** Responses that are not the success envelope (the JWKS). */
  raw?: boolean
}

const INPUT_ERRORS: ErrorCode[] = ['VALIDATION_ERROR', 'INVALID_JSON', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE']
const BEARER_ERRORS: ErrorCode[] = ['TOKEN_MISSING', 'TOKEN_INVALID', 'TOKEN_EXPIRED', 'TOKEN_REVOKED']
const OTP_ERRORS: ErrorCode[] = ['OTP_INVALID', 'OTP_EXPIRED', 'OTP_ATTEMPTS_EXCEEDED', 'RATE_LIMITED']

/** Every operation of the API, with the very schemas its validators use. */
export const OPERATIONS: Operation[] = [
  { method: 'post', path: '/api/auth/register', tag: 'Auth', summary: 'Create an account; a verify_email code is mailed', auth: 'public', body: RegisterBody, data: R.UserData, status: 201, errors: [...INPUT_ERRORS, 'EMAIL_TAKEN', 'RATE_LIMITED'] },
  { method: 'post', path: '/api/auth/verify-email', tag: 'Auth', summary: 'Confirm the email with its code', auth: 'public', body: VerifyEmailBody, data: R.UserData, errors: [...INPUT_ERRORS, ...OTP_ERRORS] },
  { method: 'post', path: '/api/auth/login', tag: 'Auth', summary: 'Password step: a login challenge (or tokens when LOGIN_OTP=off)', auth: 'public', body: LoginBody, data: z.union([R.Challenge, R.TokenData]), errors: [...INPUT_ERRORS, 'INVALID_CREDENTIALS', 'EMAIL_NOT_VERIFIED', 'RATE_LIMITED'] },
  { method: 'post', path: '/api/auth/verify-otp', tag: 'Auth', summary: 'Code step: tokens, and the email marked verified', auth: 'public', body: VerifyOtpBody, data: R.TokenData, errors: [...INPUT_ERRORS, ...OTP_ERRORS] },
  { method: 'post', path: '/api/auth/resend-otp', tag: 'Auth', summary: 'A fresh login code replaces the old one', auth: 'public', body: ResendOtpBody, data: R.ChallengeRenewed, errors: [...INPUT_ERRORS, 'OTP_EXPIRED', 'RATE_LIMITED'] },
  { method: 'post', path: '/api/auth/refresh', tag: 'Auth', summary: 'Rotate the refresh token (cookie or body) for a new pair', auth: 'refresh', body: RefreshBody, data: R.TokenData, errors: [...INPUT_ERRORS, 'TOKEN_MISSING', 'TOKEN_INVALID', 'TOKEN_EXPIRED', 'TOKEN_REVOKED', 'TOKEN_REUSED', 'CSRF_REJECTED', 'RATE_LIMITED'] },
  { method: 'post', path: '/api/auth/logout', tag: 'Auth', summary: 'End this session and clear the cookie (idempotent)', auth: 'refresh', body: RefreshBody, data: R.Empty, errors: [...INPUT_ERRORS, 'CSRF_REJECTED'] },
  { method: 'get', path: '/api/auth/profile', tag: 'Profile', summary: 'The signed-in user', auth: 'bearer', data: R.UserData, errors: BEARER_ERRORS },
  { method: 'post', path: '/api/auth/logout-all', tag: 'Sessions', summary: 'End every session of the user', auth: 'bearer', data: R.Revoked, errors: BEARER_ERRORS },
  { method: 'get', path: '/api/auth/sessions', tag: 'Sessions', summary: 'The live sessions, newest first', auth: 'bearer', data: R.SessionList, errors: BEARER_ERRORS },
  { method: 'delete', path: '/api/auth/sessions/{id}', tag: 'Sessions', summary: 'End one of your sessions', auth: 'bearer', data: R.Empty, errors: [...BEARER_ERRORS, 'NOT_FOUND'] },
  { method: 'post', path: '/api/auth/password/change', tag: 'Passwords', summary: 'Change the password; every other session ends', auth: 'bearer', body: ChangePasswordBody, data: R.Empty, errors: [...INPUT_ERRORS, ...BEARER_ERRORS, 'INVALID_CREDENTIALS'] },
  { method: 'post', path: '/api/auth/password/forgot', tag: 'Passwords', summary: 'Mail a reset code (same answer for every address)', auth: 'public', body: ForgotPasswordBody, data: R.Empty, errors: [...INPUT_ERRORS, 'RATE_LIMITED'] },
  { method: 'post', path: '/api/auth/password/reset', tag: 'Passwords', summary: 'Set a new password with the code; every session ends', auth: 'public', body: ResetPasswordBody, data: R.Empty, errors: [...INPUT_ERRORS, ...OTP_ERRORS] },
  { method: 'get', path: '/api/user/profile', tag: 'Profile', summary: 'The signed-in user', auth: 'bearer', data: R.UserData, errors: BEARER_ERRORS },
  { method: 'put', path: '/api/user/profile', tag: 'Profile', summary: 'Edit name and mobile', auth: 'bearer', body: ProfileUpdateBody, data: R.UserData, errors: [...INPUT_ERRORS, ...BEARER_ERRORS] },
  { method: 'patch', path: '/api/user/profile', tag: 'Profile', summary: 'Edit name and mobile', auth: 'bearer', body: ProfileUpdateBody, data: R.UserData, errors: [...INPUT_ERRORS, ...BEARER_ERRORS] },
  { method: 'delete', path: '/api/user/profile', tag: 'Profile', summary: 'Delete the account (password required)', auth: 'bearer', body: DeleteAccountBody, data: R.Empty, errors: [...INPUT_ERRORS, ...BEARER_ERRORS, 'INVALID_CREDENTIALS'] },
  { method: 'get', path: '/api/admin/users', tag: 'Admin', summary: 'List and search users, newest first', auth: 'admin', query: UserListQuery, data: R.UserPage, errors: ['VALIDATION_ERROR', ...BEARER_ERRORS, 'FORBIDDEN'] },
  { method: 'get', path: '/api/admin/users/{id}', tag: 'Admin', summary: 'One user, deleted or not', auth: 'admin', data: R.AdminUserData, errors: [...BEARER_ERRORS, 'FORBIDDEN', 'NOT_FOUND'] },
  { method: 'patch', path: '/api/admin/users/{id}', tag: 'Admin', summary: 'Change the role (effective at once)', auth: 'admin', body: RoleChangeBody, data: R.AdminUserData, errors: [...INPUT_ERRORS, ...BEARER_ERRORS, 'FORBIDDEN', 'NOT_FOUND'] },
  { method: 'delete', path: '/api/admin/users/{id}', tag: 'Admin', summary: 'Soft-delete a user and end its sessions', auth: 'admin', data: R.Empty, errors: ['VALIDATION_ERROR', ...BEARER_ERRORS, 'FORBIDDEN', 'NOT_FOUND'] },
  { method: 'get', path: '/api/admin/audit', tag: 'Admin', summary: 'The audit trail, newest first', auth: 'admin', query: AuditQuery, data: R.AuditPage, errors: ['VALIDATION_ERROR', ...BEARER_ERRORS, 'FORBIDDEN'] },
  { method: 'get', path: '/health', tag: 'Service', summary: 'Liveness; ?deep=1 also touches D1 and KV', auth: 'public', data: R.Health, errors: ['SERVICE_UNAVAILABLE'] },
  { method: 'get', path: '/openapi.json', tag: 'Service', summary: 'This document', auth: 'public', data: z.object({}).loose(), errors: [], raw: true },
  { method: 'get', path: '/docs', tag: 'Service', summary: 'Interactive API reference (HTML)', auth: 'public', data: z.string(), errors: [], raw: true },
  { method: 'get', path: '/.well-known/jwks.json', tag: 'Service', summary: 'Public keys of EdDSA-signed access tokens', auth: 'public', data: z.object({ keys: z.array(z.looseObject({ kty: z.string(), kid: z.string() })) }), errors: ['NOT_FOUND'], raw: true },
]

/** Named schemas (`.meta({ id })`) met while converting, for `components.schemas`. */
const named: Record<string, unknown> = {}

/** JSON Schema of a zod schema; named parts become `#/components/schemas/<id>` references. */
function schema(type: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const json = z.toJSONSchema(type, { io, target: 'draft-2020-12', unrepresentable: 'any' }) as Record<string, unknown>
  const { $defs, $schema: _dialect, ...rest } = json
  const toComponents = (value: unknown) => JSON.parse(JSON.stringify(value).replaceAll('"#/$defs/', '"#/components/schemas/')) as Record<string, unknown>
  Object.assign(named, toComponents($defs ?? {}))
  // A named schema converted on its own comes back as a plain object: keep it under its id too.
  const id = z.globalRegistry.get(type)?.id
  if (id) {
    if (!('$ref' in rest)) named[id] = toComponents(rest)
    return { $ref: `#/components/schemas/${id}` }
  }
  return toComponents(rest)
}

const SECURITY: Record<Auth, unknown[] | undefined> = {
  public: undefined,
  bearer: [{ bearer: [] }],
  admin: [{ bearer: [] }],
  refresh: [{ refreshCookie: [] }, {}],
}

function operation(op: Operation) {
  const errorResponses: Record<string, unknown> = {}
  for (const code of [...new Set([...op.errors, 'INTERNAL_ERROR', 'SERVICE_UNAVAILABLE'] as ErrorCode[])]) {
    const status = String(errorEntry(code)[0])
    const entry = (errorResponses[status] ??= { description: '', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } }) as { description: string }
    entry.description = entry.description ? `${entry.description}, ${code}` : code
  }
  const params = [...op.path.matchAll(/\{(\w+)\}/g)].map((match) => ({ name: match[1], in: 'path', required: true, schema: { type: 'string' } }))
  if (op.query) {
    const query = schema(op.query, 'input') as { properties?: Record<string, unknown>; required?: string[] }
    for (const [name, property] of Object.entries(query.properties ?? {})) {
      params.push({ name, in: 'query', required: query.required?.includes(name) ?? false, schema: property as { type: string } })
    }
  }
  const success = op.raw
    ? { description: 'OK', content: { [op.path === '/docs' ? 'text/html' : 'application/json']: { schema: schema(op.data, 'output') } } }
    : { description: 'OK', content: { 'application/json': { schema: schema(R.envelope(op.data), 'output') } } }
  return {
    tags: [op.tag],
    summary: op.summary,
    operationId: `${op.method}${op.path.replace(/[^a-zA-Z]+(\w)?/g, (_, c: string | undefined) => (c ?? '').toUpperCase())}`,
    ...(SECURITY[op.auth] ? { security: SECURITY[op.auth] } : {}),
    ...(params.length ? { parameters: params } : {}),
    ...(op.body ? { requestBody: { required: op.auth !== 'refresh', content: { 'application/json': { schema: schema(op.body, 'input') } } } } : {}),
    responses: { [String(op.status ?? 200)]: success, ...errorResponses },
  }
}

let cached: Record<string, unknown> | undefined

/** The OpenAPI 3.1 document, built from the route table on first use and kept per isolate. */
export function openApiDocument(): Record<string, unknown> {
  if (cached) return cached
  const paths: Record<string, Record<string, unknown>> = {}
  for (const op of OPERATIONS) (paths[op.path] ??= {})[op.method] = operation(op)
  schema(R.ErrorEnvelope, 'output')
  cached = {
    openapi: '3.1.0',
    info: {
      title: 'edge-auth',
      version: '1.0.0',
      description: 'Accounts and sessions on Cloudflare Workers. Every error is `{success:false, message, error, details?}`.',
    },
    tags: ['Auth', 'Sessions', 'Passwords', 'Profile', 'Admin', 'Service'].map((name) => ({ name })),
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'The access token (typ at+jwt).' },
        refreshCookie: { type: 'apiKey', in: 'cookie', name: '__Host-refresh_token', description: 'The refresh token of a browser session; native apps send {refreshToken} in the body instead.' },
      },
      schemas: named,
    },
    paths,
  }
  return cached
}
