import { describe, expect, it } from 'vitest'
import { hashPassword, PBKDF2_ITERATIONS, verifyPassword } from '../src/crypto/password'
import { b64url } from './helpers/codes'

const PASSWORD = 'Correct-horse-9'
const PEPPER = 'pepper-0123456789abcdef0123456789abcdef'
const FORMAT = /^\$pbkdf2-sha512\$i=(\d+),p=([01])\$([A-Za-z0-9_-]+)\$([A-Za-z0-9_-]+)$/
/** The most PBKDF2 iterations a deployed Worker accepts. */
const WORKERS_CEILING = 100_000

const fromB64url = (text: string) => Uint8Array.from(atob(text.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0))

/** A stored hash made by hand, in the service's format, with any iteration count (no pepper). */
async function handMadeHash(password: string, iterations: number): Promise<string> {
  const salt = crypto.getRandomValues(new Uint8Array(16))
  const key = await crypto.subtle.importKey('raw', new TextEncoder().encode(password), 'PBKDF2', false, ['deriveBits'])
  const bits = await crypto.subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-512', salt, iterations }, key, 512)
  return `$pbkdf2-sha512$i=${iterations},p=0$${b64url(salt)}$${b64url(new Uint8Array(bits))}`
}

describe('hashPassword', () => {
  it('writes $pbkdf2-sha512$i=100000,p=0$<salt>$<hash> with a 16-byte salt', async () => {
    const stored = await hashPassword(PASSWORD)
    expect(stored.startsWith('$pbkdf2-sha512$i=100000,p=0$')).toBe(true)
    const match = FORMAT.exec(stored)
    expect(match).not.toBeNull()
    const [, iterations, peppered, salt, hash] = match!
    expect(Number(iterations)).toBe(100_000)
    expect(peppered).toBe('0')
    expect(fromB64url(salt!).length).toBe(16)
    // SHA-512 output: 64 bytes.
    expect(fromB64url(hash!).length).toBe(64)
    expect(stored).not.toContain(PASSWORD)
  })

  it('salts every hash: two hashes of one password differ', async () => {
    const [a, b] = await Promise.all([hashPassword(PASSWORD), hashPassword(PASSWORD)])
    expect(a).not.toBe(b)
    expect(FORMAT.exec(a)![3]).not.toBe(FORMAT.exec(b)![3])
    expect((await verifyPassword(PASSWORD, a)).valid).toBe(true)
    expect((await verifyPassword(PASSWORD, b)).valid).toBe(true)
  })

  it('marks a peppered hash p=1', async () => {
    const stored = await hashPassword(PASSWORD, PEPPER)
    expect(stored).toMatch(/^\$pbkdf2-sha512\$i=100000,p=1\$/)
    expect(stored).not.toContain(PEPPER)
  })
})

describe('verifyPassword', () => {
  it('accepts the right password and refuses a wrong one', async () => {
    const stored = await hashPassword(PASSWORD)
    expect(await verifyPassword(PASSWORD, stored)).toEqual({ valid: true, needsRehash: false })
    expect(await verifyPassword('Correct-horse-8', stored)).toEqual({ valid: false, needsRehash: false })
    expect((await verifyPassword('', stored)).valid).toBe(false)
  })

  it('compares exactly: no trimming, no case folding, no normalisation, no truncation', async () => {
    const stored = await hashPassword(PASSWORD)
    for (const attempt of [`${PASSWORD} `, ` ${PASSWORD}`, `${PASSWORD}\n`, PASSWORD.toLowerCase(), PASSWORD.slice(0, -1)]) {
      expect({ attempt, valid: (await verifyPassword(attempt, stored)).valid }).toEqual({ attempt, valid: false })
    }
    const spaced = await hashPassword(`${PASSWORD} `)
    expect((await verifyPassword(`${PASSWORD} `, spaced)).valid).toBe(true)
    expect((await verifyPassword(PASSWORD, spaced)).valid).toBe(false)

    // NFC vs NFD of one visible string are different passwords.
    const composed = 'Caf\u00e9-horse-9'
    const decomposed = 'Cafe\u0301-horse-9'
    expect((await verifyPassword(decomposed, await hashPassword(composed))).valid).toBe(false)

    // Long passwords are not cut at 72 bytes (a bcrypt habit).
    const long = `Ab1!${'x'.repeat(124)}`
    const longHash = await hashPassword(long)
    expect((await verifyPassword(`${long.slice(0, 72)}`, longHash)).valid).toBe(false)
    expect((await verifyPassword(`${long.slice(0, -1)}y`, longHash)).valid).toBe(false)
    expect((await verifyPassword(long, longHash)).valid).toBe(true)
  })

  it('needs the pepper for a peppered hash', async () => {
    const stored = await hashPassword(PASSWORD, PEPPER)
    expect(await verifyPassword(PASSWORD, stored, PEPPER)).toEqual({ valid: true, needsRehash: false })
    expect((await verifyPassword(PASSWORD, stored)).valid).toBe(false)
    expect((await verifyPassword(PASSWORD, stored, '')).valid).toBe(false)
    expect((await verifyPassword(PASSWORD, stored, `${PEPPER}x`)).valid).toBe(false)
    expect((await verifyPassword('Correct-horse-8', stored, PEPPER)).valid).toBe(false)
  })

  it('makes the pepper matter: the same password and salt hash differently with it', async () => {
    const plain = await hashPassword(PASSWORD)
    // Flip the p flag on an unpeppered hash: with the pepper it no longer verifies.
    const relabelled = plain.replace(',p=0$', ',p=1$')
    expect((await verifyPassword(PASSWORD, relabelled, PEPPER)).valid).toBe(false)
  })

  it('refuses malformed stored hashes without throwing', async () => {
    const stored = await hashPassword(PASSWORD)
    const [, , params, salt, hash] = stored.split('$')
    for (const bad of [
      '',
      'plaintext',
      stored.replace('pbkdf2-sha512', 'pbkdf2-sha256'),
      `$pbkdf2-sha512$${params}$${salt}`,
      `$pbkdf2-sha512$${params}$${salt}$${hash!.slice(0, -2)}`,
      `$pbkdf2-sha512$i=abc,p=0$${salt}$${hash}`,
    ]) {
      expect({ bad, valid: (await verifyPassword(PASSWORD, bad)).valid }).toEqual({ bad, valid: false })
    }
  })
})

describe('needsRehash', () => {
  it('is true for a stored hash with fewer iterations (and that hash still verifies)', async () => {
    const old = await handMadeHash(PASSWORD, 1000)
    expect(old).toMatch(FORMAT)
    expect(await verifyPassword(PASSWORD, old)).toEqual({ valid: true, needsRehash: true })
    // Only after a successful check: a wrong password learns nothing and triggers nothing.
    expect(await verifyPassword('Correct-horse-8', old)).toEqual({ valid: false, needsRehash: false })
  })

  it('is false for a hash made today', async () => {
    expect((await verifyPassword(PASSWORD, await hashPassword(PASSWORD))).needsRehash).toBe(false)
    expect((await verifyPassword(PASSWORD, await hashPassword(PASSWORD, PEPPER), PEPPER)).needsRehash).toBe(false)
  })

  it('is true when a pepper has been introduced since the hash was stored', async () => {
    const unpeppered = await hashPassword(PASSWORD)
    expect(await verifyPassword(PASSWORD, unpeppered, PEPPER)).toEqual({ valid: true, needsRehash: true })
    // The rehash it asks for is peppered and verifies with the pepper only.
    const rehashed = await hashPassword(PASSWORD, PEPPER)
    expect(await verifyPassword(PASSWORD, rehashed, PEPPER)).toEqual({ valid: true, needsRehash: false })
    expect((await verifyPassword(PASSWORD, rehashed)).valid).toBe(false)
  })
})

describe('the PBKDF2 work factor', () => {
  it('stays within what deployed Workers accept (100,000 iterations)', async () => {
    expect(PBKDF2_ITERATIONS).toBeLessThanOrEqual(WORKERS_CEILING)
    const written = Number(FORMAT.exec(await hashPassword(PASSWORD))![1])
    expect(written).toBeLessThanOrEqual(WORKERS_CEILING)
  })

  it('is enforced here as in production: 100,001 iterations make deriveBits throw', async () => {
    const key = await crypto.subtle.importKey('raw', new TextEncoder().encode(PASSWORD), 'PBKDF2', false, ['deriveBits'])
    const salt = new Uint8Array(16)
    await expect(crypto.subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-512', salt, iterations: WORKERS_CEILING + 1 }, key, 512)).rejects.toThrow()
    // The ceiling itself is allowed.
    const bits = await crypto.subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-512', salt, iterations: WORKERS_CEILING }, key, 512)
    expect(bits.byteLength).toBe(64)
  })

  it('refuses, without throwing, a stored hash above the ceiling', async () => {
    const stored = await hashPassword(PASSWORD)
    const above = stored.replace('i=100000', 'i=100001')
    expect(await verifyPassword(PASSWORD, above)).toEqual({ valid: false, needsRehash: false })
  })
})

describe('a corrupted stored hash', () => {
  it('fails the check instead of throwing', async () => {
    await expect(verifyPassword('Correct-horse-9', '$pbkdf2-sha512$i=100000,p=0$A$AAAA')).resolves.toEqual({ valid: false, needsRehash: false })
    await expect(verifyPassword('Correct-horse-9', 'not a hash')).resolves.toEqual({ valid: false, needsRehash: false })
  })
})
