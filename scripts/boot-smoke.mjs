#!/usr/bin/env node
// Boot smoke test: builds the production bundle exactly as a deploy would (`wrangler deploy
// --dry-run --outdir`), starts it in Miniflare (workerd) and checks that GET /health answers 200.
// A dependency that throws while its module is evaluated (WebAuthn libraries have, on Workers)
// fails here, not only after a deploy. It also reports the start-up cost: the median time to a
// ready worker over a few starts, beside an empty worker's, whose difference is the bundle's
// compile and module evaluation in workerd.
//
//   npm run check:boot            (BOOT_RUNS=5 by default)
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { Miniflare } from 'miniflare'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const RUNS = Number(process.env.BOOT_RUNS ?? 5)
const out = mkdtempSync(path.join(tmpdir(), 'edge-auth-boot-'))

try {
  const built = spawnSync(path.join(root, 'node_modules/.bin/wrangler'), ['deploy', '--dry-run', '--outdir', out], { cwd: root, encoding: 'utf8' })
  if (built.status !== 0) {
    process.stderr.write(`${built.stdout}\n${built.stderr}`)
    throw new Error('wrangler deploy --dry-run failed')
  }
  const compatibilityDate = /^compatibility_date\s*=\s*"([^"]+)"/m.exec(readFileSync(path.join(root, 'wrangler.toml'), 'utf8'))?.[1]
  assert.ok(compatibilityDate, 'wrangler.toml has no compatibility_date')
  const empty = path.join(out, 'empty.mjs')
  writeFileSync(empty, 'export default { fetch: () => new Response("ok") }\n')

  const secret = (/** @type {string} */ label) => `boot-smoke-${label}-secret-0123456789abcdef0123`
  /**
   * Starts one worker, asks /health, and stops it; returns the time to ready and the answer.
   * @param {string} scriptPath
   */
  async function start(scriptPath) {
    const started = performance.now()
    const mf = new Miniflare({
      modules: true,
      scriptPath,
      modulesRoot: path.dirname(scriptPath),
      compatibilityDate,
      d1Databases: ['DB'],
      kvNamespaces: ['OTP_KV'],
      bindings: {
        ENVIRONMENT: 'development',
        EMAIL_DELIVERY: 'console',
        ACCESS_TOKEN_SECRET: secret('access'),
        REFRESH_TOKEN_SECRET: secret('refresh'),
      },
      // The worker's request log lines are noise here; its errors still reach stderr.
      handleRuntimeStdio(/** @type {import('node:stream').Readable} */ stdout, /** @type {import('node:stream').Readable} */ stderr) {
        stdout.resume()
        stderr.pipe(process.stderr)
      },
    })
    try {
      await mf.ready
      const readyMs = performance.now() - started
      const response = await mf.dispatchFetch('http://localhost/health')
      const text = await response.text()
      return { readyMs, status: response.status, text }
    } finally {
      await mf.dispose()
    }
  }

  const median = (/** @type {number[]} */ values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]
  const bundle = path.join(out, 'index.js')
  const first = await start(bundle)
  assert.equal(first.status, 200, `GET /health answered ${first.status}: ${first.text.slice(0, 300)}`)
  const health = JSON.parse(first.text)
  assert.equal((health.data ?? health).status, 'ok', `GET /health answered ${first.text.slice(0, 300)}`)
  const app = [first.readyMs]
  /** @type {number[]} */
  const base = []
  for (let i = 1; i < RUNS; i++) app.push((await start(bundle)).readyMs)
  for (let i = 0; i < RUNS; i++) base.push((await start(empty)).readyMs)
  const kib = (readFileSync(bundle).length / 1024).toFixed(1)
  console.log(
    `boot: GET /health 200 from the production bundle (${kib} KiB); ready in ${median(app).toFixed(0)} ms median of ${RUNS}, ` +
      `an empty worker ${median(base).toFixed(0)} ms: about ${(median(app) - median(base)).toFixed(0)} ms of compile and module evaluation`,
  )
} catch (error) {
  console.error('check-boot: FAILED:', error instanceof Error ? error.message : error)
  process.exitCode = 1
} finally {
  rmSync(out, { recursive: true, force: true })
}
