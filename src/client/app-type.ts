/**
 * The API's route types, for `hc<App>`. In this repository they are read from the app itself,
 * so the client follows every route change; the published package replaces this file with a
 * generated declaration of the resolved route schema (scripts/build-package.mjs), so a
 * consumer needs neither the server's sources nor @cloudflare/workers-types.
 */
export type { App } from '../app'
