import type { Redis } from 'ioredis'
import type { SyncJob } from './job-model.js'

/**
 * Where jobs live. The worker is the only writer of a job's state; the API writes only
 * the separate cancel flag, so no read-modify-write ever races between replicas.
 */
export interface JobStore {
  save (job: SyncJob): Promise<void>
  get (id: string): Promise<SyncJob | undefined>
  /** Newest first. */
  recent (limit: number): Promise<SyncJob[]>
  requestCancel (id: string): Promise<void>
  cancelRequested (id: string): Promise<boolean>
}

const KEEP_RECENT = 200

export class MemoryJobStore implements JobStore {
  private readonly jobs = new Map<string, string>()
  private readonly cancels = new Set<string>()

  async save (job: SyncJob) {
    this.jobs.set(job.id, JSON.stringify(job))
    if (this.jobs.size > KEEP_RECENT) {
      const oldest = this.jobs.keys().next().value
      if (oldest !== undefined) this.jobs.delete(oldest)
    }
  }

  async get (id: string) {
    const raw = this.jobs.get(id)
    return raw === undefined ? undefined : JSON.parse(raw) as SyncJob
  }

  async recent (limit: number) {
    return [...this.jobs.values()].reverse().slice(0, limit).map((raw) => JSON.parse(raw) as SyncJob)
  }

  async requestCancel (id: string) { this.cancels.add(id) }
  async cancelRequested (id: string) { return this.cancels.has(id) }
}

/** Jobs on Redis: any replica answers `GET /sync/{id}` for a job another one runs. */
export class RedisJobStore implements JobStore {
  constructor (private readonly redis: Redis, private readonly prefix: string, private readonly ttlSec = 7 * 86400) {}

  private jobKey (id: string) { return `${this.prefix}:job:v1:${id}` }
  private get recentKey () { return `${this.prefix}:jobs:v1:recent` }

  async save (job: SyncJob) {
    await this.redis.multi()
      .set(this.jobKey(job.id), JSON.stringify(job), 'EX', this.ttlSec)
      .zadd(this.recentKey, Date.parse(job.createdAt), job.id)
      .zremrangebyrank(this.recentKey, 0, -KEEP_RECENT - 1)
      .exec()
  }

  async get (id: string) {
    const raw = await this.redis.get(this.jobKey(id))
    return raw === null ? undefined : JSON.parse(raw) as SyncJob
  }

  async recent (limit: number) {
    const ids = await this.redis.zrevrange(this.recentKey, 0, limit - 1)
    if (ids.length === 0) return []
    const raws = await this.redis.mget(ids.map((id) => this.jobKey(id)))
    return raws.filter((r): r is string => r !== null).map((r) => JSON.parse(r) as SyncJob)
  }

  async requestCancel (id: string) { await this.redis.set(`${this.jobKey(id)}:cancel`, '1', 'EX', this.ttlSec) }
  async cancelRequested (id: string) { return (await this.redis.exists(`${this.jobKey(id)}:cancel`)) === 1 }
}
