import * as z from 'zod'

/** `GET /health?deep=1`: any non-empty value also probes D1 and KV. Other query parameters are ignored (cache busters). */
export const HealthQuery = z.object({
  deep: z.string().optional().describe('Set (e.g. `1`) to also touch D1 and KV and report each.'),
})
