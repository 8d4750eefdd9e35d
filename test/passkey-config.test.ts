import { describe, expect, it } from 'vitest'
import { checkConfig, loadConfig } from '../src/config'
import { relyingParty } from '../src/methods/passkey/rules'

const GOOD = { ACCESS_TOKEN_SECRET: 'a'.repeat(40), REFRESH_TOKEN_SECRET: 'b'.repeat(40) }
const settings = (problems: ReturnType<typeof checkConfig>) => problems.map((p) => p.setting)
const config = (env: Record<string, string>, origin = 'https://auth.example.com') => loadConfig({ ...GOOD, ...env } as unknown as Env, origin)

describe('WEBAUTHN_* settings', () => {
  it("defaults to the API's host and origin, plus CORS_ORIGINS", () => {
    expect(relyingParty(config({ CORS_ORIGINS: 'https://app.example.com' }))).toEqual({
      id: 'auth.example.com',
      name: 'edge-auth',
      origins: ['https://auth.example.com', 'https://app.example.com'],
    })
  })

  it('takes the API from JWT_ISSUER when it is set, never from the request', () => {
    expect(relyingParty(config({ JWT_ISSUER: 'https://id.example.com' }, 'https://evil.test')).id).toBe('id.example.com')
  })

  it('uses the settings as given', () => {
    const env = { WEBAUTHN_RP_ID: 'example.com', WEBAUTHN_RP_NAME: 'Acme', WEBAUTHN_ORIGINS: 'https://app.example.com,https://example.com' }
    expect(checkConfig({ ...GOOD, ...env })).toEqual([])
    expect(relyingParty(config(env))).toEqual({ id: 'example.com', name: 'Acme', origins: ['https://app.example.com', 'https://example.com'] })
  })

  it('refuses an origin outside the RP id, a non-origin, and an RP id that is not a host name', () => {
    expect(settings(checkConfig({ ...GOOD, WEBAUTHN_RP_ID: 'example.com', WEBAUTHN_ORIGINS: 'https://example.org' }))).toEqual(['WEBAUTHN_ORIGINS'])
    expect(settings(checkConfig({ ...GOOD, WEBAUTHN_RP_ID: 'example.com', WEBAUTHN_ORIGINS: 'https://notexample.com' }))).toEqual(['WEBAUTHN_ORIGINS'])
    expect(settings(checkConfig({ ...GOOD, WEBAUTHN_RP_ID: 'example.com', CORS_ORIGINS: 'https://other.test' }))).toEqual(['CORS_ORIGINS'])
    expect(settings(checkConfig({ ...GOOD, WEBAUTHN_ORIGINS: 'https://app.example.com/path' }))).toEqual(['WEBAUTHN_ORIGINS'])
    expect(settings(checkConfig({ ...GOOD, WEBAUTHN_RP_ID: 'https://example.com' }))).toEqual(['WEBAUTHN_RP_ID'])
  })
})
