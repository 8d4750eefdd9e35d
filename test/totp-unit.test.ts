import { describe, expect, it } from 'vitest'
import { open, seal } from '../src/crypto/encryption'
import { base32, hotp, matchingStep, normalizeRecoveryCode, recoveryCode, RECOVERY_ALPHABET } from '../src/methods/totp/otp'
import { fromBase32, hotpCode, totpCode } from './helpers'

/** RFC 6238 Appendix B, the SHA-1 rows: the ASCII secret "12345678901234567890", X = 30 s, 8 digits. */
const RFC6238_SHA1 = [
  [59, '94287082'],
  [1111111109, '07081804'],
  [1111111111, '14050471'],
  [1234567890, '89005924'],
  [2000000000, '69279037'],
  [20000000000, '65353130'],
] as const
const RFC_SECRET = new TextEncoder().encode('12345678901234567890')

describe('TOTP (RFC 6238)', () => {
  it.each(RFC6238_SHA1)('at %i s both the service and the test helper give %s', async (seconds, expected) => {
    expect(await hotp(RFC_SECRET, Math.floor(seconds / 30), 8)).toBe(expected)
    expect(await totpCode(RFC_SECRET, { at: seconds * 1000, digits: 8 })).toBe(expected)
  })

  it('RFC 4226 Appendix D: HOTP values 0..9 for the same secret (6 digits)', async () => {
    const expected = ['755224', '287082', '359152', '969429', '338314', '254676', '287922', '162583', '399871', '520489']
    for (let counter = 0; counter < 10; counter++) {
      expect(await hotp(RFC_SECRET, counter)).toBe(expected[counter])
      expect(await hotpCode(RFC_SECRET, counter)).toBe(expected[counter])
    }
  })

  it('accepts the previous, current and next step only, and only steps after the last accepted', async () => {
    const now = 1111111111_000
    const step = Math.floor(now / 30_000)
    for (const offset of [-1, 0, 1]) expect(await matchingStep(RFC_SECRET, await hotp(RFC_SECRET, step + offset), now, 0)).toBe(step + offset)
    for (const offset of [-2, 2]) expect(await matchingStep(RFC_SECRET, await hotp(RFC_SECRET, step + offset), now, 0)).toBeUndefined()
    expect(await matchingStep(RFC_SECRET, await hotp(RFC_SECRET, step), now, step)).toBeUndefined()
    expect(await matchingStep(RFC_SECRET, await hotp(RFC_SECRET, step - 1), now, step)).toBeUndefined()
  })

  it('base32 round-trips (RFC 4648 test vector "foobar" → MZXW6YTBOI)', () => {
    expect(base32(new TextEncoder().encode('foobar'))).toBe('MZXW6YTBOI')
    const bytes = crypto.getRandomValues(new Uint8Array(20))
    expect(fromBase32(base32(bytes))).toEqual(bytes)
    expect(base32(bytes)).toHaveLength(32)
  })
})

describe('recovery codes', () => {
  it('are ten characters of an alphabet without 0/O, 1/I/L or U; dashes, spaces and case are ignored on entry', () => {
    expect(RECOVERY_ALPHABET).not.toMatch(/[01OILU]/)
    for (let i = 0; i < 200; i++) expect(recoveryCode()).toMatch(new RegExp(`^[${RECOVERY_ALPHABET}]{5}-[${RECOVERY_ALPHABET}]{5}$`))
    expect(normalizeRecoveryCode(' abcde-fghjk ')).toBe('ABCDEFGHJK')
  })
})

describe('AES-GCM sealing (crypto/encryption.ts)', () => {
  const key = 'k'.repeat(32)
  const secret = new TextEncoder().encode('twenty bytes secret!')

  it('opens with the same key, label and associated data, with a fresh IV each time', async () => {
    const a = await seal(key, 'totp-secret', secret, 'totp:user-a')
    const b = await seal(key, 'totp-secret', secret, 'totp:user-a')
    expect(a).not.toBe(b)
    expect(await open(key, 'totp-secret', a, 'totp:user-a')).toEqual(secret)
  })

  it('refuses another account (associated data), another key, another label, or a flipped bit', async () => {
    const sealed = await seal(key, 'totp-secret', secret, 'totp:user-a')
    await expect(open(key, 'totp-secret', sealed, 'totp:user-b')).rejects.toThrow()
    await expect(open('x'.repeat(32), 'totp-secret', sealed, 'totp:user-a')).rejects.toThrow()
    await expect(open(key, 'other', sealed, 'totp:user-a')).rejects.toThrow()
    const flipped = sealed.slice(0, -2) + (sealed.endsWith('A') ? 'B' : 'A') + sealed.slice(-1)
    await expect(open(key, 'totp-secret', flipped, 'totp:user-a')).rejects.toThrow()
    await expect(open(key, 'totp-secret', 'garbage', 'totp:user-a')).rejects.toThrow()
  })
})
