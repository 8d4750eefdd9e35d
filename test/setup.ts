import { applyD1Migrations } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { PBKDF2_MAX_ITERATIONS } from '../src/crypto/password'

// Setup files may run more than once; applyD1Migrations skips what is already applied.
await applyD1Migrations(env.DB, env.TEST_MIGRATIONS)

// Deployed Workers refuse PBKDF2 above 100,000 iterations while local workerd does not:
// emulate the production ceiling so a change that raises the count fails here, not in production.
const subtle = crypto.subtle
const deriveBits = subtle.deriveBits.bind(subtle)
subtle.deriveBits = (async (algorithm: Parameters<SubtleCrypto['deriveBits']>[0], key: CryptoKey, length?: number | null) => {
  if (typeof algorithm === 'object' && algorithm.name === 'PBKDF2' && 'iterations' in algorithm) {
    const iterations = Number(algorithm.iterations)
    if (iterations > PBKDF2_MAX_ITERATIONS) {
      throw new DOMException(`Pbkdf2 failed: iteration counts above ${PBKDF2_MAX_ITERATIONS} are not supported`, 'NotSupportedError')
    }
  }
  return deriveBits(algorithm, key, length ?? null)
}) as SubtleCrypto['deriveBits']
