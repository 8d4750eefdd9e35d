// What `npm run dev` prints of wrangler dev's output (scripts/lib/dev-log.mjs).
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { classify, humanLine } from '../../scripts/lib/dev-log.mjs'

const request = {
  level: 'warn',
  event: 'request',
  time: '2026-12-02T10:11:12.345Z',
  requestId: '0f8e',
  method: 'GET',
  path: '/api/user/profile',
  status: 401,
  durationMs: 3,
  error: 'TOKEN_INVALID',
  reason: 'iss',
}

describe('the dev log', () => {
  it("drops wrangler's own request line: the Worker logs every request once", () => {
    assert.deepEqual(classify('[wrangler:info] GET /api/user/profile 401 Unauthorized (4ms)'), { kind: 'drop' })
    assert.deepEqual(classify('\u001b[32m[wrangler:info]\u001b[39m POST /api/auth/login 200 OK (60ms)'), { kind: 'drop' })
    assert.deepEqual(classify('[wrangler:info] Ready on http://localhost:8787'), { kind: 'text', text: '[wrangler:info] Ready on http://localhost:8787' })
  })

  it('unwraps a JSON line wrangler prefixed as an error or warning', () => {
    const json = JSON.stringify(request)
    for (const raw of [json, `✘ [ERROR] ${json}`, `\u001b[31m▲ [WARNING]\u001b[0m ${json}`]) {
      const line = classify(raw)
      assert.equal(line.kind, 'event', raw)
      if (line.kind === 'event') assert.equal(line.json, json)
    }
    assert.deepEqual(classify('{"level": not json'), { kind: 'text', text: '{"level": not json' })
  })

  it('prints one short line per request, with the error code and the failed token check', () => {
    assert.equal(humanLine(request), '10:11:12 GET /api/user/profile 401 TOKEN_INVALID (iss) 3ms')
    assert.equal(
      humanLine({ ...request, level: 'info', status: 200, error: undefined, reason: undefined, userId: 'u1' }),
      '10:11:12 GET /api/user/profile 200 3ms user=u1',
    )
    assert.match(humanLine(request, { colour: true }), /\u001b\[33m401 TOKEN_INVALID \(iss\)\u001b\[0m/)
  })

  it('prints other events as their name and fields, a mailed code included', () => {
    const sent = { level: 'info', event: 'email.sent', time: request.time, requestId: 'x', to: 'ann@example.com', purpose: 'login', code: '123456', expiresIn: 300 }
    assert.equal(humanLine(sent), '10:11:12 email.sent to=ann@example.com purpose=login code=123456 expiresIn=300')
    const failed = { level: 'error', event: 'request.failed', time: request.time, error: 'Error: boom', stack: '    at x' }
    assert.equal(humanLine(failed), '10:11:12 request.failed error="Error: boom"\n    at x')
  })
})
