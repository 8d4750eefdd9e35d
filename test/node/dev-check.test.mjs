// The `npm run dev` start-up check, run as a developer runs it: `node scripts/dev.mjs --check`
// over an env file. Node's test runner (not the Workers pool): `npm run test:node`, in CI.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const tmp = mkdtempSync(path.join(tmpdir(), 'edge-auth-dev-check-'))
after(() => rmSync(tmp, { recursive: true, force: true }))

const ACCESS = 'access-secret-for-the-check-0123456789abcdef'
const REFRESH = 'refresh-secret-for-the-check-0123456789abcdef'
const GOOD = { ENVIRONMENT: 'development', EMAIL_DELIVERY: 'console', ACCESS_TOKEN_SECRET: ACCESS, REFRESH_TOKEN_SECRET: REFRESH }

let files = 0
/**
 * Runs the check over an env file with these settings.
 * @param {Record<string, string>} settings
 */
function check(settings) {
  const file = path.join(tmp, `check-${files++}.vars`)
  writeFileSync(file, Object.entries(settings).map(([name, value]) => `${name}=${value}`).join('\n'))
  const result = spawnSync(process.execPath, ['scripts/dev.mjs', '--check', '--env-file', file], { cwd: root, encoding: 'utf8' })
  return { status: result.status, output: `${result.stdout}${result.stderr}` }
}

/**
 * The block the check printed for one setting.
 * @param {string} output
 * @param {string} setting
 */
function block(output, setting) {
  const start = output.indexOf(`\n  ${setting} `)
  assert.ok(start >= 0, `${setting} is not reported:\n${output}`)
  return output.slice(start + 1, output.indexOf('\n\n', start + 1))
}

describe('npm run dev, before wrangler dev starts', () => {
  it('accepts a good configuration', () => {
    const { status, output } = check(GOOD)
    assert.equal(status, 0, output)
    assert.match(output, /configuration .* is fine/)
  })

  it('refuses each mistake in plain words, exits non-zero and never starts wrangler', () => {
    const { status, output } = check({
      ...GOOD,
      ACCESS_TOKEN_SECRET: '',
      ACCESS_TOKEN_TTL: '15min',
      AUDIT_RETENTION_DAYS: 'abc',
      CORS_ORIGINS: 'localhost:5173',
      ADMIN_EMAILS: 'not-an-email',
    })
    assert.equal(status, 1, output)
    assert.match(output, /has 5 configuration problems; wrangler dev was not started/)
    assert.doesNotMatch(output, /Ready on|Too small|expected number|received NaN/)

    assert.equal(
      block(output, 'ACCESS_TOKEN_TTL'),
      [
        '  ACCESS_TOKEN_TTL is not a duration',
        '      found:    "15min"',
        '      accepts:  a duration (a whole number and s, m, h or d) from 1s to 1d; at least 1m in production',
        '      example:  ACCESS_TOKEN_TTL=15m',
      ].join('\n'),
    )
    assert.match(block(output, 'ACCESS_TOKEN_SECRET'), /is required\n {6}found: {4}nothing \(not set\)\n {6}accepts: {2}.*at least 32 bytes/)
    assert.match(block(output, 'AUDIT_RETENTION_DAYS'), /is not a whole number of days\n {6}found: {4}"abc"\n[^]*example: {2}AUDIT_RETENTION_DAYS=90/)
    assert.match(block(output, 'CORS_ORIGINS'), /"localhost:5173", which is not an origin \(scheme:\/\/host\[:port\], no path\)[^]*example: {2}CORS_ORIGINS=http:\/\/localhost:5173/)
    assert.match(block(output, 'ADMIN_EMAILS'), /"not-an-email", which is not an email address[^]*example: {2}ADMIN_EMAILS=/)
  })

  it('checks wrangler.toml [vars] under the env file, and never prints a secret', () => {
    // wrangler.toml says production with Resend; an env file that does not override it gets the production rules.
    const { status, output } = check({ ACCESS_TOKEN_SECRET: ACCESS, REFRESH_TOKEN_SECRET: 'short-secret', ACCESS_TOKEN_TTL: '10s' })
    assert.equal(status, 1, output)
    assert.match(block(output, 'REFRESH_TOKEN_SECRET'), /is shorter than 32 bytes\n {6}found: {4}a value of 12 bytes \(not shown\)/)
    assert.match(block(output, 'ACCESS_TOKEN_TTL'), /is shorter than 1m, the production minimum/)
    assert.match(block(output, 'JWT_ISSUER'), /is required in production/)
    assert.match(block(output, 'RESEND_API_KEY'), /is required when EMAIL_DELIVERY=resend/)
    assert.ok(!output.includes('short-secret') && !output.includes(ACCESS), 'a secret was printed')
  })
})
