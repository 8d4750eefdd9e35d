// The benchmark's child processes come from the one module the e2e test uses too.
export { children, cpuMs, freePort, rssMiB, run, start, stopAll } from '../../scripts/lib/processes.mjs'
