#!/usr/bin/env node
// Lints the generated OpenAPI document with Redocly's recommended rules. The document is the
// one /openapi.json serves: the app is bundled with esbuild for Node and built in-process (no
// server, no bindings: the document needs only the route declarations), written to a temp
// file, and handed to a pinned @redocly/cli. Works offline once the CLI is in the npm cache.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { build } from 'esbuild'

/** Exact: a new release of the linter must not change what CI accepts without a commit. */
export const REDOCLY_CLI = '@redocly/cli@2.77.0'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const dir = mkdtempSync(path.join(tmpdir(), 'edge-auth-openapi-'))
try {
  const entry = path.join(dir, 'document.mjs')
  await build({
    stdin: {
      contents: "import { createApp } from './src/app'\nimport { openApiDocument } from './src/openapi'\nexport default openApiDocument(createApp().routes)\n",
      resolveDir: root,
      loader: 'ts',
    },
    outfile: entry,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    logLevel: 'warning',
  })
  const { default: document } = await import(pathToFileURL(entry).href)
  const file = process.argv[2] ? path.resolve(process.argv[2]) : path.join(dir, 'openapi.json')
  writeFileSync(file, `${JSON.stringify(document, null, 2)}\n`)
  const lint = spawnSync('npx', ['--yes', REDOCLY_CLI, 'lint', '--extends', 'recommended', '--format', 'json', file], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
  })
  /** @type {{ totals: { errors: number, warnings: number }, problems: { ruleId: string, severity: string, message: string, location: { pointer: string }[] }[] }} */
  let report
  try {
    report = JSON.parse(lint.stdout)
  } catch {
    process.stderr.write(`${lint.stdout}\n${lint.stderr}\nlint-openapi: redocly did not produce a report\n`)
    process.exit(1)
  }
  // A browser navigation that only redirects (social sign-in's start and callback) has no 2XX by design.
  const redirectOnly = (/** @type {string | undefined} */ pointer) => {
    const [, route, method] = /^#\/paths\/([^/]+)\/(\w+)\/responses$/.exec(pointer ?? '') ?? []
    const responses = route && document.paths[route.replaceAll('~1', '/').replaceAll('~0', '~')]?.[method]?.responses
    return responses !== undefined && Object.keys(responses).some((status) => /^3\d\d$/.test(status)) && !Object.keys(responses).some((status) => /^2\d\d$/.test(status))
  }
  const excused = report.problems.filter((problem) => problem.ruleId === 'operation-2xx-response' && redirectOnly(problem.location[0]?.pointer))
  const problems = report.problems.filter((problem) => !excused.includes(problem))
  for (const problem of problems) {
    console.log(`${problem.severity} ${problem.ruleId} at ${problem.location[0]?.pointer ?? '#'}: ${problem.message}`)
  }
  // Warnings fail too: the recommended rules hold with none, and a new one should be seen.
  const errors = problems.filter((problem) => problem.severity === 'error').length
  const warnings = problems.filter((problem) => problem.severity !== 'error').length
  if (excused.length > 0) console.log(`lint-openapi: ${excused.length} redirect-only operations need no 2XX response`)
  console.log(`lint-openapi: ${REDOCLY_CLI} lint --extends recommended: ${errors} errors, ${warnings} warnings`)
  process.exitCode = errors + warnings > 0 ? 1 : 0
} finally {
  rmSync(dir, { recursive: true, force: true })
}
