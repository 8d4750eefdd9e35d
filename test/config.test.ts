import { env } from 'cloudflare:workers'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { auditRetentionDays, checkConfig, ConfigSchema, loadConfig, MAX_CACHED_ORIGINS, SETTINGS_HELP } from '../src/config'
import { body, call, expectError, signIn } from './helpers'

afterEach(() => {
  vi.useRealTimers()
})

const GOOD = {
  ENVIRONMENT: 'development',
  ACCESS_TOKEN_SECRET: 'a'.repeat(40),
  REFRESH_TOKEN_SECRET: 'r'.repeat(40),
}
const PRODUCTION = {
  ...GOOD,
  ENVIRONMENT: 'production',
  EMAIL_DELIVERY: 'resend',
  RESEND_API_KEY: 're_test',
  EMAIL_FROM: 'Acme <auth@acme.test>',
  JWT_ISSUER: 'https://auth.acme.test',
}

/** The one problem a single bad setting causes. */
function onlyProblem(overrides: Record<string, string | undefined>, base: Record<string, string> = GOOD) {
  const problems = checkConfig({ ...base, ...overrides })
  expect(problems.map((p) => p.setting)).toEqual(Object.keys(overrides).slice(0, 1))
  return problems[0]!
}

describe('the configuration schema', () => {
  it('accepts a minimal development environment with every default', () => {
    expect(checkConfig(GOOD)).toEqual([])
    expect(checkConfig(PRODUCTION)).toEqual([])
  })

  it('names a missing secret in plain words, never quoting a secret', () => {
    const missing = onlyProblem({ ACCESS_TOKEN_SECRET: undefined })
    expect(missing).toMatchObject({ setting: 'ACCESS_TOKEN_SECRET', found: 'nothing (not set)', problem: 'is required' })
    expect(missing.accepts).toContain('at least 32 bytes')
    expect(onlyProblem({ ACCESS_TOKEN_SECRET: '' })).toEqual(missing)

    const short = onlyProblem({ REFRESH_TOKEN_SECRET: 'x'.repeat(31) })
    expect(short).toMatchObject({ problem: 'is shorter than 32 bytes', found: 'a value of 31 bytes (not shown)' })
    expect(JSON.stringify(short)).not.toContain('xxxxxxxx')
  })

  it('says what a duration is when it gets something else', () => {
    const problem = onlyProblem({ ACCESS_TOKEN_TTL: '15min' })
    expect(problem).toEqual({
      setting: 'ACCESS_TOKEN_TTL',
      found: '"15min"',
      problem: 'is not a duration',
      accepts: SETTINGS_HELP.ACCESS_TOKEN_TTL!.accepts,
      example: 'ACCESS_TOKEN_TTL=15m',
    })
    expect(problem.accepts).toMatch(/s, m, h or d/)
    expect(onlyProblem({ OTP_TTL: '2h' }).problem).toBe('is longer than 1h')
    expect(onlyProblem({ ACCESS_TOKEN_TTL: '0' }).problem).toBe('is shorter than 1s')
  })

  it('accepts any lifetime from 1s outside production and keeps the floors in production', () => {
    for (const name of ['ACCESS_TOKEN_TTL', 'REFRESH_TOKEN_TTL', 'SESSION_MAX_AGE', 'OTP_TTL']) {
      expect(checkConfig({ ...GOOD, [name]: '1s' })).toEqual([])
      expect(onlyProblem({ [name]: '1s' }, PRODUCTION).problem).toMatch(/is shorter than \d+m, the production minimum/)
    }
    expect(checkConfig({ ...PRODUCTION, ACCESS_TOKEN_TTL: '1m', OTP_TTL: '60s', REFRESH_TOKEN_TTL: '5m', SESSION_MAX_AGE: '300' })).toEqual([])
  })

  it('requires JWT_ISSUER in production only', () => {
    expect(onlyProblem({ JWT_ISSUER: '' }, PRODUCTION)).toMatchObject({ problem: 'is required in production', found: 'nothing (not set)' })
    expect(checkConfig({ ...GOOD, JWT_ISSUER: '' })).toEqual([])
  })

  it('refuses AUDIT_RETENTION_DAYS that is not a whole number of days', () => {
    expect(onlyProblem({ AUDIT_RETENTION_DAYS: 'abc' })).toMatchObject({ found: '"abc"', problem: 'is not a whole number of days' })
    expect(onlyProblem({ AUDIT_RETENTION_DAYS: '0' }).problem).toBe('is less than 1 day')
    expect(checkConfig({ ...GOOD, AUDIT_RETENTION_DAYS: '30' })).toEqual([])
  })

  it('refuses a CORS_ORIGINS entry that is not scheme://host[:port]', () => {
    for (const entry of ['localhost:5173', 'http://localhost:5173/', 'https://app.test/path', 'ftp://files.test', '*']) {
      const problem = onlyProblem({ CORS_ORIGINS: `https://ok.test, ${entry}` })
      expect(problem.problem).toBe(`has "${entry}", which is not an origin (scheme://host[:port], no path)`)
      expect(problem.example).toBe(`CORS_ORIGINS=${SETTINGS_HELP.CORS_ORIGINS!.example}`)
    }
    expect(checkConfig({ ...GOOD, CORS_ORIGINS: 'http://localhost:5173, https://app.example.com, http://[::1]:8080' })).toEqual([])
  })

  it('refuses an ADMIN_EMAILS entry that is not an email address', () => {
    expect(onlyProblem({ ADMIN_EMAILS: 'ann@example.com,not-an-email' }).problem).toBe('has "not-an-email", which is not an email address')
    expect(checkConfig({ ...GOOD, ADMIN_EMAILS: ' Ann@Example.com , bob@example.com' })).toEqual([])
  })

  it('never answers with zod wording, for any bad value', () => {
    const bad = {
      ENVIRONMENT: 'prod',
      ACCESS_TOKEN_ALG: 'RS256',
      ACCESS_TOKEN_JWK: '{"kty":"RSA"}',
      ACCESS_TOKEN_JWK_PREVIOUS: 'nope',
      ACCESS_TOKEN_TTL: 'NaN',
      REFRESH_TOKEN_TTL: '-5m',
      SESSION_MAX_AGE: '1y',
      OTP_TTL: '5 minutes',
      LOGIN_OTP: 'sometimes',
      REQUIRE_EMAIL_VERIFICATION: 'yes',
      EMAIL_DELIVERY: 'smtp',
      AUDIT_RETENTION_DAYS: '1.5',
    }
    const problems = checkConfig({ ...GOOD, ...bad })
    expect(problems.map((p) => p.setting).sort()).toEqual(Object.keys(bad).sort())
    for (const problem of problems) {
      expect(problem.problem).not.toMatch(/Too small|Too big|expected|Invalid|received/)
      expect(problem.accepts.length).toBeGreaterThan(0)
      expect(problem.example).toMatch(new RegExp(`^${problem.setting}=`))
    }
  })

  it('reads unquoted wrangler.toml values (numbers, booleans) as their text', () => {
    expect(checkConfig({ ...GOOD, AUDIT_RETENTION_DAYS: 30, REQUIRE_EMAIL_VERIFICATION: true, ACCESS_TOKEN_TTL: 600 })).toEqual([])
    expect(auditRetentionDays({ ...env, AUDIT_RETENTION_DAYS: 30 as unknown as string })).toBe(30)
  })

  it('has words for every setting it reads', () => {
    expect(Object.keys(ConfigSchema.in.shape).sort()).toEqual(Object.keys(SETTINGS_HELP).sort())
  })

  it('reads AUDIT_RETENTION_DAYS through the schema', () => {
    expect(auditRetentionDays({ ...env, AUDIT_RETENTION_DAYS: '30' })).toBe(30)
    expect(auditRetentionDays({ ...env, AUDIT_RETENTION_DAYS: '' })).toBe(90)
    expect(() => auditRetentionDays({ ...env, AUDIT_RETENTION_DAYS: 'abc' })).toThrow('The service is not configured correctly.')
  })
})

describe('loadConfig', () => {
  it('keeps one config per env object when JWT_ISSUER is set', () => {
    const e = { ...env }
    expect(loadConfig(e, 'https://a.test')).toBe(loadConfig(e, 'https://b.test'))
    expect(loadConfig(e, 'https://b.test').issuer).toBe('https://auth.test')
  })

  it(`outside production keeps the configs of at most ${MAX_CACHED_ORIGINS} origins, evicting the oldest`, () => {
    const e = { ...env, JWT_ISSUER: '' }
    const origins = Array.from({ length: MAX_CACHED_ORIGINS + 1 }, (_, i) => `http://127.0.0.1:${8000 + i}`)
    const first = origins.map((origin) => loadConfig(e, origin))
    expect(first.map((config) => config.issuer)).toEqual(origins)
    // The newest eight are still cached; the oldest was evicted and is built afresh.
    expect(loadConfig(e, origins[MAX_CACHED_ORIGINS]!)).toBe(first[MAX_CACHED_ORIGINS])
    expect(loadConfig(e, origins[1]!)).toBe(first[1])
    expect(loadConfig(e, origins[0]!)).not.toBe(first[0])
  })
})

describe('configuration over HTTP', () => {
  const production = { ...PRODUCTION, JWT_ISSUER: '' }

  it('answers 503 CONFIG_ERROR in production without JWT_ISSUER, whatever Host the request names', async () => {
    for (const path of ['https://evil.example:1234/health', 'https://evil.example:1234/api/user/profile']) {
      const res = await call(path, { env: production, headers: { Host: 'evil.example:1234' } })
      await expectError(res, 503, 'CONFIG_ERROR')
      expect(await res.text()).not.toContain('evil.example')
    }
    // The same deployment with its issuer configured works.
    const fixed = await call('https://evil.example:1234/health', { env: { ...production, JWT_ISSUER: 'https://auth.acme.test' } })
    expect(fixed.status).toBe(200)
  })

  it('in development an ACCESS_TOKEN_TTL of 10s works, and the token expires', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const dev = { ENVIRONMENT: 'development', ACCESS_TOKEN_TTL: '10s' }
    const session = await signIn({ env: dev })
    const profile = () => call('/api/user/profile', { token: session.accessToken, env: dev })
    expect((await profile()).status).toBe(200)
    const login = await call('/api/auth/refresh', { method: 'POST', cookie: session.refreshToken, env: dev })
    expect((await body(login)).data.expiresIn).toBe(10)
    // Past exp and the 30 s of tolerated clock skew.
    vi.setSystemTime(Date.now() + 41_000)
    await expectError(await profile(), 401, 'TOKEN_EXPIRED')
  })
})
