#!/usr/bin/env node
// Bundles the typed auth client (src/client) into public/assets/auth-client.js: one minified
// ES module for the demo page (and any page) to import; bundles the pinned QR encoder (npm uqr)
// into public/assets/qr.js for the demo's authenticator-app QR code; and copies the /docs page's script,
// Scalar's standalone build from the pinned npm package @scalar/api-reference, to
// public/assets/scalar/standalone.js, so /docs loads nothing from another host. wrangler.toml's
// [build] command runs it (dev, deploy, dry-run); `npm run test:e2e` too. The output is build
// output (gitignored), never edited by hand.
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs'
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

// The demo's QR code (public/totp.js draws the otpauth URI as SVG): uqr, pinned in package.json.
const qr = await build({
  entryPoints: [path.join(root, 'node_modules/uqr/dist/index.mjs')],
  outfile: path.join(root, 'public/assets/qr.js'),
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
})
console.log(`build-client: public/assets/qr.js, ${((qr.metafile.outputs['public/assets/qr.js']?.bytes ?? 0) / 1024).toFixed(1)} KiB`)

// The /docs script: the exact file of the pinned package (package.json pins the version).
// The package exports no path to its browser build: read it from node_modules.
const scalarPackage = path.join(root, 'node_modules/@scalar/api-reference/package.json')
const scalarVersion = /** @type {{ version: string }} */ (JSON.parse(readFileSync(scalarPackage, 'utf8'))).version
const scalarTarget = path.join(root, 'public/assets/scalar/standalone.js')
mkdirSync(path.dirname(scalarTarget), { recursive: true })
copyFileSync(path.join(path.dirname(scalarPackage), 'dist/browser/standalone.js'), scalarTarget)
console.log(`build-client: public/assets/scalar/standalone.js, @scalar/api-reference ${scalarVersion}`)
