import { describe, expect, it } from 'vitest'
import doc from '../docs/api.md?raw'
import { createApp } from '../src/app'

const METHOD = '(?:GET|POST|PUT|PATCH|DELETE)'
/** A table row that starts with `METHOD /path` or `METHOD or METHOD /path`. */
const ROW = new RegExp(`^\\|\\s*(${METHOD}(?:\\s+or\\s+${METHOD})*)\\s+(/\\S*)\\s*\\|`, 'gm')

/** Every `METHOD /path` the page lists in its tables. */
function documented(text: string): string[] {
  return [...text.matchAll(ROW)].flatMap(([, methods, path]) => methods!.split(/\s+or\s+/).map((method) => `${method} ${path}`))
}

/** Every `METHOD /path` the app mounts (middleware, mounted for every method, excepted). */
function mounted(): string[] {
  return [...new Set(createApp().routes.filter((route) => route.method !== 'ALL').map((route) => `${route.method} ${route.path}`))]
}

describe('docs/api.md', () => {
  it('lists every route the app mounts', () => {
    const listed = new Set(documented(doc))
    expect(mounted().filter((route) => !listed.has(route))).toEqual([])
  })

  it('lists no route the app does not mount', () => {
    const routes = new Set(mounted())
    expect(documented(doc).filter((route) => !routes.has(route))).toEqual([])
  })

  it('is read the way the test thinks (rows found, "or" rows expanded)', () => {
    expect(documented('| PUT or PATCH /api/user/profile | x |\n| GET /health | y |')).toEqual(['PUT /api/user/profile', 'PATCH /api/user/profile', 'GET /health'])
    expect(documented(doc).length).toBeGreaterThan(25)
  })
})
