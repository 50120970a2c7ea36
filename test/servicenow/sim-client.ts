import type { Test } from 'tap'
import { startServiceNowSim, type ServiceNowSim, type ServiceNowSimOptions } from '../../src/sim/servicenow.js'
import { createServiceNowClient, type ServiceNowClient, type ServiceNowClientOptions } from '../../src/servicenow/client.js'

/** A simulator for one test (closed at its end) and a Basic-auth client pointed at it. */
export async function simWithClient (
  t: Test,
  simOptions: ServiceNowSimOptions = {},
  clientOptions: Partial<ServiceNowClientOptions> = {}
): Promise<{ sim: ServiceNowSim, client: ServiceNowClient }> {
  const sim = await startServiceNowSim(simOptions)
  t.teardown(() => sim.close())
  const client = createServiceNowClient({
    baseUrl: sim.url,
    auth: { mode: 'basic', username: sim.credentials.username, password: sim.credentials.password },
    concurrency: 4,
    timeoutMs: 5000,
    pageSize: 100,
    backoffBaseMs: 10,
    ...clientOptions
  })
  return { sim, client }
}

/** Calls the simulator saw for `"<METHOD> <table>"`. */
export function calls (sim: ServiceNowSim, key: string): number {
  return sim.stats.calls[key] ?? 0
}
