// HTTP helpers for seeding and checks (Node's fetch over loopback; never part of a measurement).

export const PASSWORD = 'Bench-pass-1!'

/**
 * @param {string} origin @param {'GET' | 'POST'} method @param {string} pathname
 * @param {unknown} [body] @param {Record<string, string>} [headers]
 */
export async function call(origin, method, pathname, body, headers = {}) {
  const response = await fetch(new URL(pathname, origin), {
    method,
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  })
  const text = await response.text()
  /** @type {any} */
  let json
  try {
    json = JSON.parse(text)
  } catch {
    json = undefined
  }
  return { status: response.status, json, text, headers: response.headers }
}

/**
 * @template T, R
 * @param {T[]} items @param {number} concurrency @param {(item: T, index: number) => Promise<R>} work
 * @returns {Promise<R[]>}
 */
export async function pool(items, concurrency, work) {
  /** @type {R[]} */
  const results = []
  let next = 0
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const index = next++
        results[index] = await work(/** @type {T} */ (items[index]), index)
      }
    }),
  )
  return results
}

/** @param {string} origin @param {string} email */
export async function registerAccount(origin, email) {
  const response = await call(origin, 'POST', '/api/auth/register', { email, password: PASSWORD, name: 'Bench' })
  if (response.status !== 201) throw new Error(`register ${email}: ${response.status} ${response.text}`)
}

/**
 * Logs in with `LOGIN_OTP=off` (the token response at once).
 * @param {string} origin @param {string} email
 * @returns {Promise<{ accessToken: string, refreshToken: string }>}
 */
export async function loginAccount(origin, email) {
  const response = await call(origin, 'POST', '/api/auth/login', { email, password: PASSWORD, tokenTransport: 'body' })
  if (response.status !== 200 || !response.json?.data?.refreshToken) throw new Error(`login ${email}: ${response.status} ${response.text}`)
  return { accessToken: response.json.data.accessToken, refreshToken: response.json.data.refreshToken }
}
