import { test } from 'tap'
import { isQssError } from '../../src/errors.js'
import { WriteBatcher } from '../../src/servicenow/write-batcher.js'
import { calls, simWithClient } from './fixtures/sim-client.js'

const TABLE = 'u_poam_table'
const payload = (i: number) => ({ u_correlation_id: `qss-w-${i}`, short_description: `record ${i}` })
const range = (n: number) => Array.from({ length: n }, (_, i) => i)

/** Collects what the batcher tells the operator. */
function warnings () {
  const lines: string[] = []
  return { lines, log: { warn: (_obj: object, msg: string) => { lines.push(msg) }, debug: () => {} } }
}

test('writes issued together share Batch API calls; every item gets its own record', async (t) => {
  const { sim, client } = await simWithClient(t)
  const writer = new WriteBatcher({ client, maxItems: 20, lanes: 2 })
  const created = await Promise.all(range(45).map(async (i) => await writer.create(TABLE, payload(i))))

  t.equal(new Set(created.map((r) => r.sys_id)).size, 45, 'a distinct sys_id for each create')
  t.same(created.map((r) => r.u_correlation_id), range(45).map((i) => `qss-w-${i}`), 'each caller gets its own row back')
  t.equal(sim.table(TABLE).length, 45)
  t.equal(calls(sim, 'POST batch'), 3, '45 writes in calls of at most 20')
  t.equal(calls(sim, `POST ${TABLE}`), 0, 'no single calls while writes queue up')
  t.equal(sim.stats.batchItems[`POST ${TABLE}`], 45)

  sim.resetStats()
  const [first, second] = created
  const oneLane = new WriteBatcher({ client, maxItems: 20, lanes: 1 })
  await Promise.all([
    oneLane.update(TABLE, first?.sys_id as string, { status: 'Closed' }),
    oneLane.update(TABLE, second?.sys_id as string, { status: 'Closed' })
  ])
  t.equal(sim.stats.batchItems[`PATCH ${TABLE}`], 2, 'updates are batched too')
  t.same(sim.table(TABLE).filter((r) => r.status === 'Closed').map((r) => r.sys_id).sort(), [first?.sys_id, second?.sys_id].sort())

  sim.resetStats()
  await writer.create(TABLE, payload(99))
  t.equal(calls(sim, `POST ${TABLE}`), 1, 'a lone write is a plain Table API call')
  sim.resetStats()
  await Promise.all(range(2).map(async (i) => await writer.create(TABLE, payload(100 + i))))
  t.equal(calls(sim, `POST ${TABLE}`), 2, 'two writes and two free lanes: one each, not one batch on one lane')
  t.equal(calls(sim, 'POST batch'), 0)
})

test('a refused item fails alone, with the code its status has as a single call', async (t) => {
  const { sim, client } = await simWithClient(t)
  const writer = new WriteBatcher({ client, maxItems: 10, lanes: 1 })
  sim.setFaults({ next: [{ status: 403, method: 'POST', table: TABLE }] })
  const outcomes = await Promise.allSettled(range(5).map(async (i) => await writer.create(TABLE, payload(i))))
  const failed = outcomes.filter((o) => o.status === 'rejected')
  t.equal(failed.length, 1, 'one item refused')
  const reason = (failed[0] as PromiseRejectedResult).reason
  t.ok(isQssError(reason) && reason.code === 'QSS_SERVICENOW_FORBIDDEN', 'mapped like a 403 to a single create')
  t.match(String(reason.message), /create u_poam_table: HTTP 403/)
  t.equal(sim.table(TABLE).length, 4, 'the others were written')

  sim.setFaults({ next: [{ status: 403, method: 'POST', table: TABLE }] })
  await t.rejects(writer.create(TABLE, payload(9)), { code: 'QSS_SERVICENOW_FORBIDDEN' }, 'a lone write fails the same way')
})

test('items past the instance\'s batch time limit are sent again, and later batches are no larger than it got through', async (t) => {
  const { sim, client } = await simWithClient(t, { latencyMs: 40, batchTimeLimitMs: 150 })
  const told = warnings()
  const writer = new WriteBatcher({ client, maxItems: 10, lanes: 1, log: told.log })
  const created = await Promise.all(range(10).map(async (i) => await writer.create(TABLE, payload(i))))
  t.equal(created.length, 10)
  t.same(sim.table(TABLE).map((r) => r.u_correlation_id).sort(), range(10).map((i) => `qss-w-${i}`).sort(), 'each record written exactly once')
  const lowered = writer.batchSize
  t.match(told.lines[0], /stopped a batch at its time limit/, 'the operator is told')
  t.ok(lowered < 10 && lowered >= 1, `batch size lowered to what the instance serviced (${lowered})`)

  sim.setFaults({ latencyMs: 0 })
  for (let round = 0; round < 3; round++) await Promise.all(range(10).map(async (i) => await writer.create(TABLE, payload(100 + round * 10 + i))))
  t.ok(writer.batchSize > lowered, `batches grow back once the instance keeps up (${lowered} -> ${writer.batchSize})`)
})

test('an instance refusing the Batch API gets one Table API call per write', async (t) => {
  const { sim, client } = await simWithClient(t)
  const told = warnings()
  const writer = new WriteBatcher({ client, maxItems: 10, lanes: 1, log: told.log })
  sim.setFaults({ next: [{ status: 403, table: 'batch' }] })
  const created = await Promise.all(range(6).map(async (i) => await writer.create(TABLE, payload(i))))
  t.equal(created.length, 6)
  t.equal(sim.table(TABLE).length, 6, 'every write still lands')
  t.equal(calls(sim, 'POST batch'), 1, 'the Batch API is tried once')
  t.equal(calls(sim, `POST ${TABLE}`), 6)
  t.equal(writer.batchSize, 1)
  t.match(told.lines, [/refused the Batch API/], 'the operator is told once')
  await Promise.all(range(6).map(async (i) => await writer.create(TABLE, payload(10 + i))))
  t.equal(writer.batchSize, 1, 'and it is not tried again')
  t.equal(calls(sim, 'POST batch'), 1)
})

test('a batch call that fails as a whole fails its creates without resending them (their outcome is unknown)', async (t) => {
  const { sim, client } = await simWithClient(t)
  const writer = new WriteBatcher({ client, maxItems: 10, lanes: 1 })
  sim.setFaults({ next: [{ status: 503, table: 'batch' }] })
  const outcomes = await Promise.allSettled(range(4).map(async (i) => await writer.create(TABLE, payload(i))))
  t.ok(outcomes.every((o) => o.status === 'rejected' && isQssError(o.reason) && o.reason.code === 'QSS_SERVICENOW_UNAVAILABLE'))
  t.equal(calls(sim, 'POST batch'), 1, 'not retried: a create sent twice could duplicate')
  t.equal(calls(sim, `POST ${TABLE}`), 0)
})

test('deletes are batched too; a record already gone answers false, as a single delete would', async (t) => {
  const { sim, client } = await simWithClient(t)
  const writer = new WriteBatcher({ client, maxItems: 10, lanes: 1 })
  const rows = await Promise.all(range(3).map(async (i) => await writer.create(TABLE, payload(i))))
  await client.remove(TABLE, rows[0]?.sys_id as string)
  sim.resetStats()
  const removed = await Promise.all(rows.map(async (r) => await writer.remove(TABLE, r.sys_id as string)))
  t.same(removed, [false, true, true])
  t.equal(sim.stats.batchItems[`DELETE ${TABLE}`], 3, 'in one Batch API call')
  t.equal(calls(sim, 'POST batch'), 1)
  t.equal(sim.table(TABLE).length, 0)
  t.equal(await writer.remove(TABLE, rows[1]?.sys_id as string), false, 'a lone delete of a missing record: false too')
})
