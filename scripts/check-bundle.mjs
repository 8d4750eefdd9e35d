#!/usr/bin/env node
// Builds the production bundle offline (`wrangler deploy --dry-run`) and fails when its
// gzip size exceeds the budget. The budget is stated in the README and BENCHMARKS.md.
import { spawnSync } from 'node:child_process'

// The demo page's client bundle is part of what ships (Workers Static Assets).
const build = spawnSync('node', ['scripts/build-client.mjs'], { stdio: 'inherit' })
if (build.status !== 0) process.exit(build.status ?? 1)

export const BUDGET_KIB = 120

const result = spawnSync('npx', ['wrangler', 'deploy', '--dry-run', '--outdir', 'dist'], { encoding: 'utf8' })
const output = `${result.stdout}\n${result.stderr}`
if (result.status !== 0) {
  process.stderr.write(output)
  process.exit(result.status ?? 1)
}
const match = /Total Upload: ([\d.]+) KiB \/ gzip: ([\d.]+) KiB/.exec(output)
if (!match) {
  process.stderr.write(`${output}\ncheck-bundle: could not read the bundle size from wrangler's output\n`)
  process.exit(1)
}
const gzip = Number(match[2])
console.log(`bundle: ${match[1]} KiB, ${gzip} KiB gzip (budget ${BUDGET_KIB} KiB gzip)`)
if (gzip > BUDGET_KIB) {
  console.error(`check-bundle: the production bundle is over budget by ${(gzip - BUDGET_KIB).toFixed(2)} KiB gzip`)
  process.exit(1)
}
