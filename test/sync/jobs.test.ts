import { test, type Test } from 'tap'
import { randomUUID } from 'node:crypto'
import { MemoryKvStore } from '../../src/store/memory-kv-store.js'
import { RedisKvStore } from '../../src/store/redis-kv-store.js'
import { BullJobQueue, JobInterrupted, MemoryJobQueue } from '../../src/sync/job-queue.js'
import { MemoryJobStore, RedisJobStore } from '../../src/sync/job-store.js'
import { emptyActionCounts, emptyJobResult, type JobResult, type SyncRequest } from '../../src/sync/job-model.js'
import { SyncJobs, type SyncExecutor } from '../../src/sync/jobs.js'
import { startTestRedis } from '../helpers/redis.js'

const request: SyncRequest = { policyIds: ['1'], sources: ['pc'], dryRun: false, full: false }

function result (over: Partial<JobResult> = {}): JobResult {
  return { ...emptyJobResult(false), ...over }
}

/** An executor that runs `pages` steps, reporting progress, until released by the test. */
function steppedExecutor (pages: number, gate: { open: Promise<void> }): SyncExecutor {
  return async (job, control) => {
    for (let page = 0; page < pages; page++) {
      if (job.completedSources.includes(`page:${page}`)) continue
      await gate.open
      if (await control.cancelRequested()) return { result: result(), cancelled: true }
      if (control.signal.aborted) throw new JobInterrupted()
      await control.update((j) => { j.progress.pages += 1; j.completedSources.push(`page:${page}`) })
    }
    return { result: result({ actions: { ...emptyActionCounts(), create: pages } }), cancelled: false }
  }
}

async function lifecycle (t: Test, make: (executor: SyncExecutor) => Promise<SyncJobs>) {
  let release: () => void = () => {}
  const gate = { open: new Promise<void>((resolve) => { release = resolve }) }
  const jobs = await make(steppedExecutor(3, gate))
  t.teardown(() => jobs.close())
  jobs.startWorker()

  const first = await jobs.submit(request, 'key-1')
  t.equal(first.created, true)
  t.equal(first.job.status, 'queued')
  const again = await jobs.submit(request, 'key-1')
  t.equal(again.created, false, 'same idempotency key: same job')
  t.equal(again.job.id, first.job.id)

  const conflict = await jobs.submit(request, 'key-2').catch((err: unknown) => err) as { code: string, statusCode: number, details: { jobId: string } }
  t.equal(conflict.code, 'QSS_SYNC_IN_PROGRESS')
  t.equal(conflict.statusCode, 409)
  t.equal(conflict.details.jobId, first.job.id, 'names the running job')

  const notYet = await jobs.waitFor(first.job.id, 100, 20)
  t.notOk(['succeeded', 'failed'].includes(notYet?.status ?? ''), 'still running while gated')
  release()
  const done = await jobs.waitFor(first.job.id, 10000, 20)
  t.equal(done?.status, 'succeeded')
  t.equal(done?.progress.pages, 3)
  t.equal(done?.result?.actions.create, 3)
  t.equal(done?.progress.phase, 'done')

  const next = await jobs.submit(request)
  t.equal(next.created, true, 'a new sync may start once the previous one ended')
  const cancelled = await jobs.cancel(next.job.id)
  t.equal(cancelled?.id, next.job.id)
  const end = await jobs.waitFor(next.job.id, 10000, 20)
  t.equal(end?.status, 'cancelled')
  t.same((await jobs.recent(10)).map((j) => j.id), [next.job.id, first.job.id], 'newest first')
}

test('in-memory jobs: idempotency, one per scope, progress, cancel', async (t) => {
  await lifecycle(t, async (executor) => new SyncJobs({
    store: new MemoryJobStore(), queue: new MemoryJobQueue(), kv: new MemoryKvStore(), scope: 'u_poam_table', executor
  }))
})

test('Redis jobs (BullMQ): the same lifecycle, state readable by another replica', async (t) => {
  const redis = await startTestRedis()
  t.teardown(() => redis.stop())
  const prefix = `t-${randomUUID()}`
  await lifecycle(t, async (executor) => new SyncJobs({
    store: new RedisJobStore(redis.client(), prefix),
    queue: new BullJobQueue({ redis: redis.client(), prefix, lockMs: 5000 }),
    kv: new RedisKvStore(redis.client(), prefix),
    scope: 'u_poam_table',
    executor
  }))
  const otherReplica = new RedisJobStore(redis.client(), prefix)
  const seen = await otherReplica.recent(5)
  t.equal(seen.length, 2, 'another replica reads the jobs')
})

test('a failing executor fails the job with a stable code and frees the scope', async (t) => {
  const jobs = new SyncJobs({
    store: new MemoryJobStore(),
    queue: new MemoryJobQueue(),
    kv: new MemoryKvStore(),
    scope: 's',
    executor: async () => { throw new Error('socket hang up at https://user:pw@example') }
  })
  t.teardown(() => jobs.close())
  jobs.startWorker()
  const { job } = await jobs.submit(request)
  const done = await jobs.waitFor(job.id, 5000, 10)
  t.equal(done?.status, 'failed')
  t.same(done?.error, { code: 'QSS_SYNC_FAILED', message: 'The sync failed unexpectedly; see the service logs' }, 'unexpected error text is not exposed')
  t.equal((await jobs.submit(request)).created, true)
})

test('an interrupted Redis job goes back to the queue and another worker resumes it', async (t) => {
  const redis = await startTestRedis()
  t.teardown(() => redis.stop())
  const prefix = `t-${randomUUID()}`
  let release: () => void = () => {}
  const gate = { open: new Promise<void>((resolve) => { release = resolve }) }
  const make = (executor: SyncExecutor) => new SyncJobs({
    store: new RedisJobStore(redis.client(), prefix),
    queue: new BullJobQueue({ redis: redis.client(), prefix, lockMs: 5000 }),
    kv: new RedisKvStore(redis.client(), prefix),
    scope: 's',
    executor
  })
  // The first worker completes one page, then is shut down at the next page boundary.
  let pagesByFirst = 0
  const first = make(async (job, control) => {
    await control.update((j) => { j.progress.pages += 1; j.completedSources.push('page:0') })
    pagesByFirst++
    await gate.open
    throw new JobInterrupted()
  })
  first.startWorker()
  const { job } = await first.submit(request)
  while ((await first.get(job.id))?.progress.pages !== 1) await new Promise((resolve) => setTimeout(resolve, 20))
  const closing = first.close()
  release()
  await closing
  t.equal((await first.get(job.id))?.status, 'queued', 'checkpointed as resumable')

  const second = make(steppedExecutor(3, { open: Promise.resolve() }))
  t.teardown(() => second.close())
  second.startWorker()
  const done = await second.waitFor(job.id, 15000, 50)
  t.equal(done?.status, 'succeeded')
  t.equal(done?.attempts, 2, 'resumed by the second worker')
  t.equal(pagesByFirst, 1)
  t.equal(done?.progress.pages, 3, 'the page done before the interruption is not redone')
})
