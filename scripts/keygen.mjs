#!/usr/bin/env node
// Prints a fresh Ed25519 private JWK for ACCESS_TOKEN_JWK (ACCESS_TOKEN_ALG=EdDSA).
// Use: npm run keygen | npx wrangler secret put ACCESS_TOKEN_JWK
import { webcrypto } from 'node:crypto'

const { privateKey } = /** @type {import("node:crypto").webcrypto.CryptoKeyPair} */ (await webcrypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"]))
const jwk = await webcrypto.subtle.exportKey('jwk', privateKey)
const kid = new Date().toISOString().slice(0, 10) + '-' + webcrypto.randomUUID().slice(0, 8)
process.stdout.write(JSON.stringify({ kty: jwk.kty, crv: jwk.crv, x: jwk.x, d: jwk.d, kid }) + '\n')
