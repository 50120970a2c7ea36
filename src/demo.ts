import closeWithGrace from 'close-with-grace'
import { buildApp } from './app.js'
import { loadConfig } from './config.js'
import { startQualysSim } from './sim/qualys.js'
import { startServiceNowSim } from './sim/servicenow.js'
import type { SyncJob } from './sync/job-model.js'

/**
 * `npm run demo`: both simulators on free ports, the service on PORT (default 3000) with
 * in-memory stores and authentication off, a first sync, and what to try next. Nothing
 * outside this machine is touched; Ctrl-C stops everything.
 */
const port = Number(process.env.PORT ?? 3000)
const hosts = Number(process.env.DEMO_HOSTS ?? 200)

const qualys = await startQualysSim({ seed: 42, hosts, policies: 2, controlsPerPolicy: 12, failRate: 0.25, vm: true })
const servicenow = await startServiceNowSim({ estate: qualys.world.estate })
const policyIds = qualys.world.policies.map((p) => p.id)

const config = loadConfig({
  PORT: String(port),
  HOST: process.env.HOST ?? '127.0.0.1',
  LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
  AUTH_DISABLED: 'true',
  QUALYS_BASE_URL: qualys.url,
  QUALYS_USERNAME: qualys.username,
  QUALYS_PASSWORD: qualys.password,
  QUALYS_POLICY_IDS: policyIds.join(','),
  QUALYS_VM_ENABLED: 'true',
  SERVICENOW_URL: servicenow.url,
  SERVICENOW_USERNAME: servicenow.credentials.username,
  SERVICENOW_PASSWORD: servicenow.credentials.password
})
const app = await buildApp(config)
closeWithGrace({ delay: 5000 }, async () => {
  await app.close()
  await qualys.close()
  await servicenow.close()
})
const address = await app.listen({ port: config.PORT, host: config.HOST })

const say = (line = '') => process.stdout.write(`${line}\n`)
say('='.repeat(78))
say(' qualys-servicenow-sync DEMO: simulated Qualys and ServiceNow, in-memory stores,')
say(' AUTHENTICATION DISABLED. Not for production: state is lost on exit.')
say('='.repeat(78))
say(`Qualys simulator:     ${qualys.url}  (${hosts} hosts, policies ${policyIds.join(', ')}, VM detections)`)
say(`ServiceNow simulator: ${servicenow.url}`)
say(`Service:              ${address}`)
say()
say('Running a first sync...')

const started = Date.now()
const res = await app.inject({ method: 'POST', url: '/sync?wait=110', payload: {} })
const job = res.json() as SyncJob
const actions = job.result?.actions ?? job.progress.actions
say(`Sync ${job.id} ${job.status} in ${((Date.now() - started) / 1000).toFixed(1)} s: ${job.progress.findings} findings on ${job.progress.pages} pages`)
say(`  POA&Ms: ${actions.create} created, ${actions.update} updated, ${actions.close} closed, ${actions.reopen} reopened, ${actions.noop} unchanged`)
if (job.result !== undefined) {
  const { coverage, tags } = job.result
  say(`  CMDB:   ${coverage.matched}/${coverage.hosts} hosts matched a CI, ${coverage.unmatched} unmatched, ${coverage.ambiguous} ambiguous`)
  say(`  Tags:   ${tags.created} CI tags written`)
}
if (job.error !== undefined) say(`  Error:  ${job.error.code}: ${job.error.message}`)
say()
say(`Swagger UI:  ${address}/docs`)
say(`Sync again:  curl -fsS -X POST '${address}/sync?wait=60' -H 'content-type: application/json' -d '{}'`)
say(`Findings:    curl -fsS '${address}/findings?status=failed&risk=High&limit=5'`)
say(`Coverage:    curl -fsS '${address}/cis/coverage'`)
say(`Rescan:      curl -fsS -X POST '${qualys.url}/__sim/rescan' -H 'content-type: application/json' -d '{"fix":0.1}'`)
say()
say('Ctrl-C to stop.')
