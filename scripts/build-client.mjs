#!/usr/bin/env node
// Bundles the typed auth client (src/client) into public/assets/auth-client.js: one minified
// ES module for the demo page (and any page) to import. `npm run dev` and `npm run test:e2e`
// run it first. The output is build output (gitignored), never edited by hand.
import { mkdirSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const outfile = path.join(root, 'public/assets/auth-client.js')
mkdirSync(path.dirname(outfile), { recursive: true })

const started = Date.now()
const result = await build({
  entryPoints: [path.join(root, 'src/client/index.ts')],
  outfile,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  sourcemap: false,
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
})

// The client imports the app only as a type: anything from the server side in the bundle is a bug.
const inputs = Object.keys(result.metafile.inputs)
const server = inputs.filter((input) => input.startsWith('src/') && !input.startsWith('src/client/'))
if (server.length > 0) {
  console.error(`build-client: server code ended up in the client bundle: ${server.join(', ')}`)
  process.exit(1)
}
const bytes = result.metafile.outputs[path.relative(root, outfile)]?.bytes ?? 0
console.log(`build-client: public/assets/auth-client.js, ${(bytes / 1024).toFixed(1)} KiB from ${inputs.length} modules in ${Date.now() - started} ms`)
