// Small helpers shared by the benchmark's modules.
import { readFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

/** The repository root (bench/lib/../..). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')

const startedAt = Date.now()

/** @param {number} ms */
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
/** @param {number} value @param {number} [digits] */
export const round = (value, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits

/** @param {number[]} values */
export function median(values) {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid] ?? NaN : ((sorted[mid - 1] ?? NaN) + (sorted[mid] ?? NaN)) / 2
}

/**
 * The value below which `share` of the values lie (nearest rank).
 * @param {number[]} values @param {number} share
 */
export function percentile(values, share) {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(share * sorted.length) - 1))] ?? NaN
}

/** Seconds since the benchmark started. */
export const elapsedSeconds = () => (Date.now() - startedAt) / 1000

/** @param {string} message */
export const step = (message) => console.log(`[bench ${elapsedSeconds().toFixed(1).padStart(5)} s] ${message}`)

/** @param {string} file */
export const readJson = (file) => /** @type {Record<string, any>} */ (JSON.parse(readFileSync(file, 'utf8')))

/** @param {string} name  a package's version as installed */
export function versionOf(name) {
  try {
    return /** @type {string} */ (readJson(path.join(ROOT, 'node_modules', name, 'package.json')).version)
  } catch {
    return 'unknown'
  }
}

export const loadAverage = () => os.loadavg().map((value) => round(value, 2))

/** @param {number | undefined} value @param {number} [digits] */
export const fmt = (value, digits = 1) => (value === undefined || Number.isNaN(value) ? '–' : round(value, digits).toLocaleString('en-US'))
