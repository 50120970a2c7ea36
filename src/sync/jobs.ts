import { createHash, randomUUID } from 'node:crypto'
import { QssError, isQssError } from '../errors.js'
import type { KvStore } from '../store/kv-store.js'
import type { Metrics } from '../metrics.js'
import { JobInterrupted, type JobQueue } from './job-queue.js'
import { JobStatus, TERMINAL_STATUSES, newJob, type JobResult, type SyncJob, type SyncRequest } from './job-model.js'
import type { JobStore } from './job-store.js'

/** What the engine is handed to report progress and learn that it should stop. */
export interface JobControl {
  readonly signal: AbortSignal
  /** Applies a change to the job (progress, checkpoints) and saves it for every replica to see. */
  update (change: (job: SyncJob) => void): Promise<void>
  /** True once `DELETE /sync/{id}` was called: stop at the next page boundary. */
  cancelRequested (): Promise<boolean>
}

export type SyncExecutor = (job: SyncJob, control: JobControl) => Promise<{ result: JobResult, cancelled: boolean }>

interface Logger { info (obj: object, msg: string): void, error (obj: object, msg: string): void }

export interface SyncJobsOptions {
  store: JobStore
  queue: JobQueue
  kv: KvStore
  /** One sync at a time per scope (the target table): two syncs would fight over the same records and tags. */
  scope: string
  executor: SyncExecutor
  metrics?: Metrics
  log?: Logger
  now?: () => Date
}

const ACTIVE_TTL_SEC = 24 * 3600
const IDEMPOTENCY_TTL_SEC = 24 * 3600

/** Job lifecycle: submit (with the one-per-scope rule and idempotency keys), run, follow, cancel. */
export class SyncJobs {
  private readonly now: () => Date

  constructor (private readonly opts: SyncJobsOptions) {
    this.now = opts.now ?? (() => new Date())
  }

  private get activeKey () { return `sync-active:v1:${this.opts.scope}` }

  /** Enqueues a sync; the same idempotency key returns the job it created before. */
  async submit (request: SyncRequest, idempotencyKey?: string): Promise<{ job: SyncJob, created: boolean }> {
    const idemKey = idempotencyKey === undefined
      ? undefined
      : `idempotency:v1:${createHash('sha256').update(idempotencyKey).digest('hex')}`
    if (idemKey !== undefined) {
      const earlier = await this.opts.kv.get(idemKey)
      const job = earlier === undefined ? undefined : await this.opts.store.get(earlier)
      if (job !== undefined) return { job, created: false }
    }
    const id = randomUUID()
    if (!await this.opts.kv.setIfAbsent(this.activeKey, id, ACTIVE_TTL_SEC)) {
      const holder = await this.opts.kv.get(this.activeKey)
      const running = holder === undefined ? undefined : await this.opts.store.get(holder)
      if (running !== undefined && !TERMINAL_STATUSES.has(running.status)) {
        throw new QssError('QSS_SYNC_IN_PROGRESS', `A sync is already running for ${this.opts.scope}: follow job ${running.id}`, {
          statusCode: 409,
          details: { jobId: running.id, status: running.status }
        })
      }
      // The marker outlived its job (a crash between finishing and clearing it): take it over.
      await this.opts.kv.set(this.activeKey, id, ACTIVE_TTL_SEC)
    }
    const job = newJob(id, this.opts.scope, request, this.now())
    await this.opts.store.save(job)
    if (idemKey !== undefined) await this.opts.kv.set(idemKey, id, IDEMPOTENCY_TTL_SEC)
    await this.opts.queue.enqueue(id)
    return { job, created: true }
  }

  async get (id: string) { return await this.opts.store.get(id) }

  async recent (limit: number) { return await this.opts.store.recent(limit) }

  /** Asks a job to stop at its next page boundary; a finished job is returned as it is. */
  async cancel (id: string): Promise<SyncJob | undefined> {
    const job = await this.opts.store.get(id)
    if (job === undefined || TERMINAL_STATUSES.has(job.status)) return job
    await this.opts.store.requestCancel(id)
    return job
  }

  /** Polls until the job ends or `timeoutMs` passes; polling works across replicas. */
  async waitFor (id: string, timeoutMs: number, pollMs = 200): Promise<SyncJob | undefined> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const job = await this.opts.store.get(id)
      if (job === undefined || TERMINAL_STATUSES.has(job.status) || Date.now() >= deadline) return job
      await new Promise((resolve) => setTimeout(resolve, Math.min(pollMs, Math.max(0, deadline - Date.now()))))
    }
  }

  startWorker () {
    this.opts.queue.startWorker((jobId, signal) => this.process(jobId, signal))
  }

  /** Runs one job to its end (or to a checkpoint on shutdown). */
  async process (jobId: string, signal: AbortSignal): Promise<void> {
    const job = await this.opts.store.get(jobId)
    if (job === undefined || TERMINAL_STATUSES.has(job.status)) return
    job.status = JobStatus.running
    job.attempts += 1
    job.startedAt ??= this.now().toISOString()
    await this.opts.store.save(job)
    this.opts.log?.info({ jobId, attempt: job.attempts, request: job.request }, job.attempts > 1 ? 'sync resumed' : 'sync started')

    const control: JobControl = {
      signal,
      update: async (change) => {
        change(job)
        job.progress.updatedAt = this.now().toISOString()
        await this.opts.store.save(job)
      },
      cancelRequested: () => this.opts.store.cancelRequested(jobId)
    }
    try {
      const { result, cancelled } = await this.opts.executor(job, control)
      job.result = result
      job.status = cancelled
        ? JobStatus.cancelled
        : result.closureGuard !== undefined || result.errors.length > 0 ? JobStatus.partial : JobStatus.succeeded
    } catch (err) {
      if (err instanceof JobInterrupted) {
        job.status = JobStatus.queued
        await this.opts.store.save(job)
        this.opts.log?.info({ jobId }, 'sync interrupted at a page boundary; it will resume')
        throw err
      }
      job.status = JobStatus.failed
      job.error = isQssError(err)
        ? { code: err.code, message: err.message }
        : { code: 'QSS_SYNC_FAILED', message: 'The sync failed unexpectedly; see the service logs' }
      this.opts.log?.error({ jobId, err }, 'sync failed')
    }
    job.progress.phase = 'done'
    job.finishedAt = this.now().toISOString()
    await this.opts.store.save(job)
    if (await this.opts.kv.get(this.activeKey) === jobId) await this.opts.kv.del(this.activeKey)
    const seconds = (Date.parse(job.finishedAt) - Date.parse(job.startedAt ?? job.createdAt)) / 1000
    this.opts.metrics?.syncDuration.observe({ outcome: job.status }, seconds)
    this.opts.log?.info({ jobId, status: job.status, seconds, actions: job.progress.actions }, 'sync finished')
  }

  async close () { await this.opts.queue.close() }
}
