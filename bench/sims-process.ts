import { generateEstate } from '../src/sim/hosts.js'
import { startQualysSim } from '../src/sim/qualys.js'
import { startServiceNowSim } from '../src/sim/servicenow.js'

/**
 * One simulator in a process of its own (SIM=qualys or SIM=servicenow), so a benchmark
 * measures only the service and neither simulator steals the other's event loop. Both
 * build the same estate from the same seed. Env: SIM_HOSTS, SIM_CONTROLS,
 * QUALYS_LATENCY_MS, SERVICENOW_LATENCY_MS, QUALYS_RATE_LIMIT, QUALYS_WINDOW_SEC.
 * Prints one JSON line with its URL and credentials (and, for Qualys, the policy).
 */
const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback)
const SEED = 42
const hosts = env('SIM_HOSTS', 2000)

if (process.env.SIM === 'servicenow') {
  const servicenow = await startServiceNowSim({ estate: generateEstate({ seed: SEED, hosts }), latencyMs: env('SERVICENOW_LATENCY_MS', 20) })
  process.stdout.write(`${JSON.stringify({ servicenow: { url: servicenow.url, ...servicenow.credentials } })}\n`)
  process.on('SIGTERM', () => { servicenow.close().finally(() => process.exit(0)) })
} else {
  const qualys = await startQualysSim({
    seed: SEED,
    hosts,
    policies: 1,
    controlsPerPolicy: env('SIM_CONTROLS', 100),
    technologiesPerControl: 1,
    failRate: 0.25,
    latencyMs: env('QUALYS_LATENCY_MS', 50),
    limits: { rateLimit: env('QUALYS_RATE_LIMIT', 300), windowSec: env('QUALYS_WINDOW_SEC', 60), concurrency: 2 }
  })
  const policy = qualys.world.policies[0]
  process.stdout.write(`${JSON.stringify({
    qualys: { url: qualys.url, username: qualys.username, password: qualys.password },
    policyId: policy?.id,
    postures: policy?.postureCount,
    failing: policy === undefined ? 0 : Array.from({ length: policy.postureCount }, (_, i) => qualys.world.posture(policy, i)).filter((p) => p.status === 'Failed').length
  })}\n`)
  process.on('SIGTERM', () => { qualys.close().finally(() => process.exit(0)) })
}
