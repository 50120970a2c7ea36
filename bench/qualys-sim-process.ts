import { startQualysSim } from '../src/sim/qualys.js'

/**
 * The Qualys simulator in a process of its own, so a benchmark measures only the client.
 * Env: SIM_HOSTS, SIM_CONTROLS, SIM_TECHNOLOGIES. Prints one JSON line {url, username, password, policyId, records}.
 */
const sim = await startQualysSim({
  seed: 42,
  hosts: Number(process.env.SIM_HOSTS ?? 1000),
  policies: 1,
  controlsPerPolicy: Number(process.env.SIM_CONTROLS ?? 50),
  technologiesPerControl: Number(process.env.SIM_TECHNOLOGIES ?? 2),
  vm: false,
  limits: { rateLimit: 1_000_000, windowSec: 3600, concurrency: 2 }
})
const policy = sim.world.policies[0]!
process.stdout.write(`${JSON.stringify({ url: sim.url, username: sim.username, password: sim.password, policyId: policy.id, records: policy.postureCount })}\n`)
process.on('SIGTERM', () => { sim.close().finally(() => process.exit(0)) })
