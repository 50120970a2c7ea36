import { parseArgs } from 'node:util'
import { startQualysSim } from './qualys.js'
import { startServiceNowSim } from './servicenow.js'

/**
 * `npm run sim`: the Qualys and ServiceNow simulators alone, for pointing a deployment or
 * curl at them. Prints their URLs, credentials and the environment to use.
 */
const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: '42' },
    hosts: { type: 'string', default: '200' },
    policies: { type: 'string', default: '2' },
    controls: { type: 'string', default: '12' },
    'fail-rate': { type: 'string', default: '0.25' },
    vm: { type: 'boolean', default: true },
    'qualys-port': { type: 'string', default: '0' },
    'servicenow-port': { type: 'string', default: '0' },
    'qualys-latency-ms': { type: 'string', default: '0' },
    'servicenow-latency-ms': { type: 'string', default: '0' },
    'qualys-rate-limit': { type: 'string', default: '300' },
    'qualys-window-sec': { type: 'string', default: '3600' },
    'qualys-concurrency': { type: 'string', default: '2' },
    'servicenow-rate-limit': { type: 'string' },
    'servicenow-batch-limit-ms': { type: 'string', default: '30000' },
    help: { type: 'boolean', short: 'h', default: false }
  }
})

if (values.help) {
  process.stdout.write(`npm run sim -- [--hosts N] [--policies N] [--controls N] [--fail-rate F] [--seed N] [--no-vm]
  [--qualys-port P] [--servicenow-port P] [--qualys-latency-ms MS] [--servicenow-latency-ms MS]
  [--qualys-rate-limit N] [--qualys-window-sec S] [--qualys-concurrency N] [--servicenow-rate-limit N_PER_HOUR]
  [--servicenow-batch-limit-ms MS]   Batch API items not started within MS are left unserviced (default 30000)

ServiceNow latency applies to every request and to every item of a Batch API call.
`)
  process.exit(0)
}

const num = (name: keyof typeof values): number => {
  const n = Number(values[name])
  if (!Number.isFinite(n) || n < 0) {
    process.stderr.write(`--${String(name)} must be a non-negative number\n`)
    process.exit(2)
  }
  return n
}

const qualys = await startQualysSim({
  port: num('qualys-port'),
  seed: num('seed'),
  hosts: num('hosts'),
  policies: num('policies'),
  controlsPerPolicy: num('controls'),
  failRate: num('fail-rate'),
  vm: values.vm,
  latencyMs: num('qualys-latency-ms'),
  limits: { rateLimit: num('qualys-rate-limit'), windowSec: num('qualys-window-sec'), concurrency: num('qualys-concurrency') }
})
const servicenow = await startServiceNowSim({
  port: num('servicenow-port'),
  estate: qualys.world.estate,
  latencyMs: num('servicenow-latency-ms'),
  batchTimeLimitMs: num('servicenow-batch-limit-ms'),
  ...(values['servicenow-rate-limit'] === undefined ? {} : { rateLimit: { limit: num('servicenow-rate-limit') } })
})

const out = (line = '') => process.stdout.write(`${line}\n`)
out(`Qualys simulator      ${qualys.url}   user ${qualys.username} / password ${qualys.password}`)
out(`ServiceNow simulator  ${servicenow.url}   user ${servicenow.credentials.username} / password ${servicenow.credentials.password}`)
out(`                      OAuth client ${servicenow.credentials.clientId} / ${servicenow.credentials.clientSecret}, API key ${servicenow.credentials.apiKey}`)
out()
out('Environment for the service:')
out(`  QUALYS_BASE_URL=${qualys.url} QUALYS_USERNAME=${qualys.username} QUALYS_PASSWORD=${qualys.password}`)
out(`  QUALYS_POLICY_IDS=${qualys.world.policies.map((p) => p.id).join(',')}`)
out(`  SERVICENOW_URL=${servicenow.url} SERVICENOW_USERNAME=${servicenow.credentials.username} SERVICENOW_PASSWORD=${servicenow.credentials.password}`)
out()
out('Test-only endpoints: POST /__sim/rescan (Qualys), GET /__sim/stats (both), GET /__sim/tables/<name> (ServiceNow)')
out('Ctrl-C to stop.')

const stop = async () => {
  await qualys.close()
  await servicenow.close()
  process.exit(0)
}
process.once('SIGINT', () => { stop().catch(() => process.exit(1)) })
process.once('SIGTERM', () => { stop().catch(() => process.exit(1)) })
