import { test } from 'tap'
import type { SimPolicy } from '../../src/sim/compliance.js'
import { startWorld } from './harness.js'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

test('Qualys 409 storms and ServiceNow 429s slow the run, but it finishes with nothing lost and no limit exceeded', async (t) => {
  const w = await startWorld({
    qualys: { hosts: 30, policies: 3, controlsPerPolicy: 4, limits: { concurrency: 2, rateLimit: 40, windowSec: 4 } },
    servicenow: { concurrency: { threads: 2, queue: 1 }, rateLimit: { limit: 150, windowSec: 2 } },
    env: { QUALYS_PAGE_SIZE: '20', SERVICENOW_CONCURRENCY: '4' }
  })
  t.teardown(() => w.close())
  // Another tool on the same subscription: it uses Qualys slots and budget while we sync,
  // so our client meets 409s it could not have predicted from its own calls.
  const neighbour = { active: true }
  const headers = { authorization: `Basic ${Buffer.from(`${w.qualys.username}:${w.qualys.password}`).toString('base64')}`, 'x-requested-with': 'neighbour' }
  const noisy = (async () => {
    while (neighbour.active) {
      await fetch(`${w.qualys.url}/api/2.0/fo/compliance/posture/info/?action=list&policy_id=${(w.qualys.world.policies[0] as SimPolicy).id}&truncation_limit=5`, { headers }).then((r) => r.text()).catch(() => {})
      await sleep(150)
    }
  })()
  // And ServiceNow answers some calls 429, with and without Retry-After.
  w.sn.setFaults({ next: [{ status: 429, times: 2, retryAfterSec: 1 }, { status: 429, times: 2 }] })

  const job = await w.sync()
  neighbour.active = false
  await noisy
  t.equal(job.status, 'succeeded', JSON.stringify(job.error ?? job.result?.errors?.slice(0, 2)))
  const failing = w.qualys.world.policies.flatMap((p) => Array.from({ length: p.postureCount }, (_, i) => w.qualys.world.posture(p, i))).filter((p) => p.status === 'Failed')
  t.equal(w.rows('u_poam_table').length, failing.length, 'nothing lost')
  t.equal(new Set(w.rows('u_poam_table').map((r) => r.u_correlation_id)).size, failing.length, 'nothing duplicated')
  t.ok(job.progress.pages > 6, `paged through every policy (${job.progress.pages} pages)`)
  for (const [endpoint, peak] of Object.entries(w.qualys.stats.peakConcurrency)) t.ok(peak <= 2, `Qualys ${endpoint} concurrency ${peak} within the limit`)
  t.ok(w.sn.stats.peakConcurrency <= 4, `ServiceNow concurrency ${w.sn.stats.peakConcurrency} within SERVICENOW_CONCURRENCY`)
  t.ok(w.sn.stats.rateLimited >= 4, 'ServiceNow 429s were served and survived')
  t.ok(job.progress.waits.count > 0, 'the job reports the upstream waits')
})

test('without other traffic, a multi-policy ingest sees zero Qualys 409s', async (t) => {
  const w = await startWorld({
    qualys: { hosts: 20, policies: 3, controlsPerPolicy: 3, limits: { concurrency: 2, rateLimit: 8, windowSec: 2 } },
    env: { QUALYS_PAGE_SIZE: '15' }
  })
  t.teardown(() => w.close())
  const job = await w.sync()
  t.equal(job.status, 'succeeded')
  t.ok(job.progress.pages >= 12, `more pages (${job.progress.pages}) than one rate window allows (8)`)
  t.ok(job.progress.waits.qualysMs > 0, 'it waited for the window instead of calling into a 409')
  t.equal(w.qualys.stats.rejected409, 0, 'the client paced itself from the headers')
})

test('a ServiceNow that stops batches at its time limit, or refuses the Batch API, still gets every record exactly once', async (t) => {
  const w = await startWorld({
    qualys: { hosts: 30, controlsPerPolicy: 6 },
    // Each batch item costs 15 ms and a batch stops after 60 ms: most batches come back cut short.
    servicenow: { latencyMs: 15, batchTimeLimitMs: 60 },
    env: { SERVICENOW_BATCH_SIZE: '20', QUALYS_PAGE_SIZE: '200' }
  })
  t.teardown(() => w.close())
  const job = await w.sync()
  t.equal(job.status, 'succeeded', JSON.stringify(job.error ?? job.result?.errors?.slice(0, 2)))
  const failing = w.qualys.world.policies.flatMap((p) => Array.from({ length: p.postureCount }, (_, i) => w.qualys.world.posture(p, i))).filter((p) => p.status === 'Failed')
  const ids = w.rows('u_poam_table').map((r) => r.u_correlation_id)
  t.equal(ids.length, failing.length, 'nothing lost')
  t.equal(new Set(ids).size, failing.length, 'nothing written twice')
  t.ok((w.sn.stats.calls['POST batch'] ?? 0) > 0, 'writes went in Batch API calls')

  // The same world against an instance that refuses the Batch API: every write as a call of its own.
  const refused = await startWorld({ qualys: { hosts: 30, controlsPerPolicy: 6 }, env: { QUALYS_PAGE_SIZE: '200' } })
  t.teardown(() => refused.close())
  refused.sn.setFaults({ next: [{ status: 403, table: 'batch', times: 100 }] })
  const second = await refused.sync()
  t.equal(second.status, 'succeeded', JSON.stringify(second.error ?? second.result?.errors?.slice(0, 2)))
  t.equal(refused.rows('u_poam_table').length, failing.length, 'every record written one call at a time')
  t.equal(second.result?.errors.length, 0, 'no record error')
})
