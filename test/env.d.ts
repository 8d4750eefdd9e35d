import type { D1Migration } from 'cloudflare:test'

declare global {
  namespace Cloudflare {
    interface Env {
      TEST_MIGRATIONS: D1Migration[]
      /** The example resource server (examples/notes-worker), an auxiliary worker of the pool. */
      NOTES_WORKER: Fetcher
    }
  }
}
