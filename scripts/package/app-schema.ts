/**
 * Input of scripts/build-package.mjs, never imported: its declaration emit prints the app's
 * route schema (the `S` of `Hono<E, S, B>`, all that `hc` needs) fully resolved, so the
 * published client's types name neither the server's modules nor @cloudflare/workers-types.
 */
import type { Schema } from 'hono'
import type { HonoBase } from 'hono/hono-base'
import type { App } from '../../src/app'

// `.route()` returns the base class, so the schema is read from HonoBase (as hono/client does).
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type SchemaOf<T> = T extends HonoBase<any, infer S, any, any> ? S : never
type Primitive = string | number | boolean | bigint | symbol | null | undefined
/** A member no real type has: adding and removing it gives a union without its alias name (jose's `JWKKeyType`, say). */
type Marker = '\u0000edge-auth-unalias'
type Unalias<T> = Exclude<T | Marker, Marker>
/** Expands every alias and interface into plain object types; primitives (and `string & {}`) stay as they are. */
type Resolved<T> = ResolvedMember<Unalias<T>>
type ResolvedMember<T> = T extends Primitive ? T : T extends (...args: never[]) => unknown ? T : { [K in keyof T]: Resolved<T[K]> }
/**
 * The routes a client calls (`/api/*`, `/health`); the documents for other tools
 * (`/openapi.json`, `/docs`, `/.well-known/jwks.json`, whose JWK type is jose's) stay out.
 */
type ClientPath = `/api/${string}` | '/health'
/** The schema is a union of one object per mounted group; groups with no client route are dropped. */
type Routes<S> = S extends Record<infer K, Schema> ? ([K & ClientPath] extends [never] ? never : { [P in K & ClientPath]: Resolved<S[P]> }) : never

declare function resolved<T>(): T
export const schema = resolved<Routes<SchemaOf<App>>>()
