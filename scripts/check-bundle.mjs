#!/usr/bin/env node
// Builds the production bundle offline (`wrangler deploy --dry-run --outdir dist`, whose [build]
// command also builds the demo's assets) and fails when its gzip size exceeds the budget. The
// size is measured on the files wrangler wrote (every module in dist/, source maps and wrangler's
// README excepted), gzipped here with zlib, not read from wrangler's human output. The budget is
// stated in the README and BENCHMARKS.md.
import { spawnSync } from 'node:child_process'
import { readdirSync, readFileSync, rmSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'

// 160 KiB: the ceiling set for passkeys, authenticator apps and social sign-in (139.5 KiB with all three);
// it was 120 KiB (101.5 KiB) before them.
export const BUDGET_KIB = 160

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const dist = path.join(root, 'dist')
rmSync(dist, { recursive: true, force: true })
const result = spawnSync(path.join(root, 'node_modules/.bin/wrangler'), ['deploy', '--dry-run', '--outdir', dist], { cwd: root, encoding: 'utf8' })
if (result.status !== 0) {
  process.stderr.write(`${result.stdout}\n${result.stderr}`)
  process.exit(result.status ?? 1)
}

/** The modules that are uploaded: everything wrangler wrote except source maps and its README. */
const modules = readdirSync(dist, { recursive: true, withFileTypes: true })
  .filter((entry) => entry.isFile() && !entry.name.endsWith('.map') && entry.name !== 'README.md')
  .map((entry) => path.join(entry.parentPath, entry.name))
if (modules.length === 0) {
  console.error('check-bundle: wrangler wrote no modules to dist/')
  process.exit(1)
}
let raw = 0
let gzip = 0
for (const file of modules) {
  const bytes = readFileSync(file)
  raw += bytes.length
  gzip += gzipSync(bytes).length
}
const kib = (/** @type {number} */ bytes) => (bytes / 1024).toFixed(2)
console.log(`bundle: ${modules.map((file) => path.relative(root, file)).join(', ')}: ${kib(raw)} KiB, ${kib(gzip)} KiB gzip (budget ${BUDGET_KIB} KiB gzip)`)
if (gzip / 1024 > BUDGET_KIB) {
  console.error(`check-bundle: the production bundle is over budget by ${kib(gzip - BUDGET_KIB * 1024)} KiB gzip`)
  process.exit(1)
}
