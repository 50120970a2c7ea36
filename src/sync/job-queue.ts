import { Queue, Worker, WaitingError, type Job } from 'bullmq'
import type { Redis } from 'ioredis'

/** Thrown by a job processor that stopped at a page boundary so that it resumes later. */
export class JobInterrupted extends Error {
  constructor () {
    super('sync interrupted by shutdown; it resumes from its checkpoint')
    this.name = 'JobInterrupted'
  }
}

export type JobProcessor = (jobId: string, signal: AbortSignal) => Promise<void>

/**
 * Runs sync jobs one at a time per worker. In memory: a FIFO in this process. On Redis:
 * BullMQ, so any replica with WORKER=true takes the next job and a job whose worker died
 * (lock expired) is handed to another worker, which resumes it from its checkpoint.
 */
export interface JobQueue {
  enqueue (jobId: string): Promise<void>
  startWorker (processor: JobProcessor): void
  /** Stops taking jobs and asks the running one to stop at its next page boundary. */
  close (): Promise<void>
}

export class MemoryJobQueue implements JobQueue {
  private readonly pending: string[] = []
  private processor: JobProcessor | undefined
  private running: Promise<void> | undefined
  private readonly abort = new AbortController()

  async enqueue (jobId: string) {
    this.pending.push(jobId)
    this.drain()
  }

  startWorker (processor: JobProcessor) {
    this.processor = processor
    this.drain()
  }

  private drain () {
    if (this.running !== undefined || this.processor === undefined || this.abort.signal.aborted) return
    const next = this.pending.shift()
    if (next === undefined) return
    const processor = this.processor
    this.running = processor(next, this.abort.signal)
      .catch(() => {}) // the processor records its own failure on the job
      .finally(() => {
        this.running = undefined
        this.drain()
      })
  }

  async close () {
    this.abort.abort()
    await this.running
  }
}

export interface BullJobQueueOptions {
  redis: Redis
  prefix: string
  /** How long a worker holds a job without renewing before another may take it over. */
  lockMs: number
  /** Longest wait for the running job to reach a page boundary on close. */
  closeTimeoutMs?: number
}

export class BullJobQueue implements JobQueue {
  private readonly queue: Queue
  private worker: Worker | undefined
  private readonly connections: Redis[] = []
  private readonly abort = new AbortController()

  constructor (private readonly opts: BullJobQueueOptions) {
    this.queue = new Queue('sync', { connection: this.connection(), prefix: `${opts.prefix}:bull` })
    this.queue.on('error', () => {}) // connection trouble is reported by the app's readiness probe
  }

  private connection (): Redis {
    const conn = this.opts.redis.duplicate({ maxRetriesPerRequest: null })
    conn.on('error', () => {}) // the app's own connection reports Redis trouble
    this.connections.push(conn)
    return conn
  }

  async enqueue (jobId: string) {
    await this.queue.add('sync', { jobId }, {
      jobId,
      removeOnComplete: { count: 1000 },
      removeOnFail: { count: 1000 },
      attempts: 1
    })
  }

  startWorker (processor: JobProcessor) {
    this.worker = new Worker('sync', async (job: Job<{ jobId: string }>, token?: string) => {
      try {
        await processor(job.data.jobId, this.abort.signal)
      } catch (err) {
        if (err instanceof JobInterrupted) {
          // Back to the waiting list: the next worker (or this replica after restart) resumes it.
          await job.moveToWait(token)
          throw new WaitingError()
        }
        throw err
      }
    }, {
      connection: this.connection(),
      prefix: `${this.opts.prefix}:bull`,
      concurrency: 1,
      lockDuration: this.opts.lockMs,
      stalledInterval: this.opts.lockMs,
      maxStalledCount: 5
    })
    this.worker.on('error', () => {})
  }

  async close () {
    this.abort.abort()
    // With Redis gone a graceful close would wait forever: force it, and bound the wait either way.
    const healthy = this.opts.redis.status === 'ready'
    const closing = (async () => {
      await this.worker?.close(!healthy)
      await this.queue.close()
    })()
    let timer: NodeJS.Timeout | undefined
    const limit = healthy ? this.opts.closeTimeoutMs ?? 20000 : 2000
    await Promise.race([closing.catch(() => {}), new Promise((resolve) => { timer = setTimeout(resolve, limit) })])
    clearTimeout(timer)
    for (const c of this.connections) c.disconnect()
  }
}
