import { startQualysSim } from '../src/sim/qualys.js'
import { startServiceNowSim } from '../src/sim/servicenow.js'

/**
 * Both simulators in a process of their own, so a benchmark measures only the service.
 * Env: SIM_HOSTS, SIM_CONTROLS, QUALYS_LATENCY_MS, SERVICENOW_LATENCY_MS, QUALYS_RATE_LIMIT,
 * QUALYS_WINDOW_SEC. Prints one JSON line with the URLs, credentials and policy id.
 */
const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback)
const qualys = await startQualysSim({
  seed: 42,
  hosts: env('SIM_HOSTS', 2000),
  policies: 1,
  controlsPerPolicy: env('SIM_CONTROLS', 100),
  technologiesPerControl: 1,
  failRate: 0.25,
  latencyMs: env('QUALYS_LATENCY_MS', 50),
  limits: { rateLimit: env('QUALYS_RATE_LIMIT', 300), windowSec: env('QUALYS_WINDOW_SEC', 60), concurrency: 2 }
})
const servicenow = await startServiceNowSim({ estate: qualys.world.estate, latencyMs: env('SERVICENOW_LATENCY_MS', 20) })
const policy = qualys.world.policies[0]
process.stdout.write(`${JSON.stringify({
  qualys: { url: qualys.url, username: qualys.username, password: qualys.password },
  servicenow: { url: servicenow.url, ...servicenow.credentials },
  policyId: policy?.id,
  postures: policy?.postureCount,
  failing: policy === undefined ? 0 : Array.from({ length: policy.postureCount }, (_, i) => qualys.world.posture(policy, i)).filter((p) => p.status === 'Failed').length
})}\n`)
process.on('SIGTERM', () => { Promise.all([qualys.close(), servicenow.close()]).finally(() => process.exit(0)) })
