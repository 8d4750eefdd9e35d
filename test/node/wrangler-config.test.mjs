// What wrangler.toml must keep saying, read through wrangler's own config reader (4.86).
import assert from 'node:assert/strict'
import path from 'node:path'
import { describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { unstable_readConfig } from 'wrangler'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const config = unstable_readConfig({ config: path.join(root, 'wrangler.toml') }, { hideWarnings: true })

describe('wrangler.toml', () => {
  it('builds the client assets on every path that builds the Worker', () => {
    assert.equal(config.build.command, 'node scripts/build-client.mjs')
  })

  it('sets a CPU limit above what one password hash costs (about 50 ms; the Free plan allows 10)', () => {
    const cpu = config.limits?.cpu_ms ?? 0
    assert.ok(cpu >= 200, `[limits] cpu_ms is ${cpu}`)
  })

  it('gives every rate limiter its own namespace id', () => {
    const ids = config.ratelimits.map((limiter) => limiter.namespace_id)
    assert.equal(new Set(ids).size, ids.length)
    assert.equal(ids.length, 6)
  })
})
