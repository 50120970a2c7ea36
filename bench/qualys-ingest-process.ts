import { createQualysClient } from '../src/qualys/client.js'

/**
 * Ingests one policy page by page, keeping nothing but counters, and prints one JSON
 * line with its peak RSS. Env: SIM (the simulator's JSON line), PAGE_SIZE.
 */
const sim = JSON.parse(process.env.SIM ?? '{}') as { url: string, username: string, password: string, policyId: string }
const client = createQualysClient({
  baseUrl: sim.url, username: sim.username, password: sim.password, requestedWith: 'qss-bench', timeoutMs: 600000, pageSize: Number(process.env.PAGE_SIZE ?? 5000)
})
const start = Date.now()
let records = 0
let pages = 0
let peakRss = 0
for await (const page of client.postures(sim.policyId)) {
  records += page.findings.length
  pages++
  peakRss = Math.max(peakRss, process.memoryUsage.rss())
}
const maxRssMB = Math.max(peakRss, process.resourceUsage().maxRSS * 1024) / 1e6
process.stdout.write(`${JSON.stringify({ records, pages, maxRssMB, seconds: (Date.now() - start) / 1000, calls409: client.stats().rejected409 })}\n`)
