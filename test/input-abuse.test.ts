import { afterEach, describe, expect, it, vi } from 'vitest'
import { body, call, expectError, PASSWORD, uniqueEmail } from './helpers'

const MB = 1024 * 1024

/** A body delivered in 64 KiB chunks with no Content-Length: what a chunked upload looks like. */
function chunked(totalBytes: number): ReadableStream<Uint8Array> {
  let sent = 0
  return new ReadableStream({
    pull(controller) {
      if (sent >= totalBytes) return controller.close()
      const size = Math.min(64 * 1024, totalBytes - sent)
      sent += size
      controller.enqueue(new TextEncoder().encode('{"a":"'.padEnd(size, 'x')))
    },
  })
}

/** Counts PBKDF2 runs inside the worker (same isolate) while `work` runs. */
async function pbkdf2Runs(work: () => Promise<unknown>): Promise<number> {
  const spy = vi.spyOn(crypto.subtle, 'deriveBits')
  try {
    await work()
    return spy.mock.calls.filter(([algorithm]) => typeof algorithm === 'object' && algorithm.name === 'PBKDF2').length
  } finally {
    spy.mockRestore()
  }
}

afterEach(() => vi.restoreAllMocks())

describe('oversized bodies', () => {
  it('refuses 1 MB with a Content-Length before reading it: 413', async () => {
    const response = await call('/api/auth/register', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Content-Length': String(MB) },
      body: 'x'.repeat(MB),
    })
    await expectError(response, 413, 'PAYLOAD_TOO_LARGE')
  })

  it('refuses 1 MB sent chunked, without a Content-Length: 413', async () => {
    const response = await call('/api/auth/login', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: chunked(MB),
      duplex: 'half',
    } as RequestInit)
    await expectError(response, 413, 'PAYLOAD_TOO_LARGE')
  })

  it('counts the bytes of a chunked body even when a small Content-Length is also claimed: 413', async () => {
    const response = await call('/api/auth/login', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Content-Length': '20', 'Transfer-Encoding': 'chunked' },
      body: chunked(MB),
      duplex: 'half',
    } as RequestInit)
    await expectError(response, 413, 'PAYLOAD_TOO_LARGE')
  })
})

describe('oversized passwords', () => {
  it('answers a 200 KB password with 413 and runs no PBKDF2', async () => {
    const runs = await pbkdf2Runs(async () => {
      const response = await call('/api/auth/login', { json: { email: uniqueEmail(), password: 'Aa1!'.repeat(50_000) } })
      await expectError(response, 413, 'PAYLOAD_TOO_LARGE')
    })
    expect(runs).toBe(0)
  })

  it('answers a 10 KB password (inside the body limit) with 400 naming the field, and runs no PBKDF2', async () => {
    const runs = await pbkdf2Runs(async () => {
      for (const path of ['/api/auth/login', '/api/auth/register']) {
        const response = await call(path, { json: { email: uniqueEmail(), password: 'Aa1!'.repeat(2_500), name: 'N' } })
        const json = await expectError(response, 400, 'VALIDATION_ERROR')
        expect(json.details.map((d: { path: string }) => d.path)).toContain('password')
      }
    })
    expect(runs).toBe(0)
  })

  it('does run exactly one PBKDF2 for a login with a well-formed password (the check above is not vacuous)', async () => {
    const runs = await pbkdf2Runs(async () => {
      await call('/api/auth/login', { json: { email: uniqueEmail(), password: PASSWORD } })
    })
    expect(runs).toBe(1)
  })
})

describe('control characters and look-alikes', () => {
  it('refuses NUL and control characters in an email and a name', async () => {
    for (const email of ['a\u0000b@example.com', 'ab@exa\u0007mple.com', 'ab@example.com\u0000', 'a\u001bb@example.com']) {
      await expectError(await call('/api/auth/register', { json: { email, password: PASSWORD, name: 'N' } }), 400, 'VALIDATION_ERROR')
    }
    for (const name of ['A\u0000B', 'A\u0007', '\u001b[31mred', 'A\u007fB', 'A\u0085B']) {
      await expectError(await call('/api/auth/register', { json: { email: uniqueEmail(), password: PASSWORD, name } }), 400, 'VALIDATION_ERROR')
    }
  })

  it('stores SQL-looking input literally', async () => {
    const name = `Robert'); DROP TABLE users;-- %_\\`
    const response = await call('/api/auth/register', { json: { email: uniqueEmail(), password: PASSWORD, name } })
    expect(response.status).toBe(201)
    expect((await body(response)).data.user.name).toBe(name)
  })
})
