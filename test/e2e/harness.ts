import type { FastifyInstance } from 'fastify'
import { buildApp, type AppDeps } from '../../src/app.js'
import { loadConfig, type Config } from '../../src/config.js'
import { startQualysSim, type QualysSim, type QualysSimOptions } from '../../src/sim/qualys.js'
import { startServiceNowSim, type ServiceNowSim, type ServiceNowSimOptions } from '../../src/sim/servicenow.js'
import type { SyncJob } from '../../src/sync/job-model.js'

export const API_KEY = 'e2e-key-0123456789'
export const auth = { authorization: `Bearer ${API_KEY}` }

export interface World {
  app: FastifyInstance
  qualys: QualysSim
  sn: ServiceNowSim
  config: Config
  policyIds: string[]
  /** POST /sync?wait and the finished job. */
  sync (body?: Record<string, unknown>): Promise<SyncJob>
  rows (table: string): Array<Record<string, string>>
  close (): Promise<void>
}

export interface WorldOptions {
  qualys?: QualysSimOptions
  servicenow?: Omit<ServiceNowSimOptions, 'estate'>
  env?: Record<string, string>
  deps?: AppDeps
}

/** Both simulators on free ports and the real app pointed at them over HTTP. */
export async function startWorld (opts: WorldOptions = {}): Promise<World> {
  const qualys = await startQualysSim({ seed: 7, hosts: 25, policies: 1, controlsPerPolicy: 4, failRate: 0.3, ...opts.qualys })
  const sn = await startServiceNowSim({ estate: qualys.world.estate, ...opts.servicenow })
  const policyIds = qualys.world.policies.map((p) => p.id)
  const config = loadConfig({
    API_KEYS: API_KEY,
    LOG_LEVEL: 'silent',
    QUALYS_BASE_URL: qualys.url,
    QUALYS_USERNAME: qualys.username,
    QUALYS_PASSWORD: qualys.password,
    QUALYS_POLICY_IDS: policyIds.join(','),
    SERVICENOW_URL: sn.url,
    SERVICENOW_USERNAME: sn.credentials.username,
    SERVICENOW_PASSWORD: sn.credentials.password,
    ...opts.env
  })
  const app = await buildApp(config, opts.deps)
  await app.ready()
  return {
    app,
    qualys,
    sn,
    config,
    policyIds,
    async sync (body = {}) {
      const res = await app.inject({ method: 'POST', url: '/sync?wait=100', headers: auth, payload: body })
      if (res.statusCode !== 200) throw new Error(`POST /sync answered ${res.statusCode}: ${res.body}`)
      return res.json() as SyncJob
    },
    rows: (table) => sn.table(table) as Array<Record<string, string>>,
    async close () {
      await app.close()
      await qualys.close()
      await sn.close()
    }
  }
}
