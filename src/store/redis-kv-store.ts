import type { Redis } from 'ioredis'
import type { KvStore } from './kv-store.js'

/** KvStore on Redis. The connection belongs to the caller: close() does not quit it. */
export class RedisKvStore implements KvStore {
  private readonly redis: Redis
  private readonly prefix: string

  constructor (redis: Redis, prefix: string) {
    this.redis = redis
    this.prefix = prefix
  }

  private k (key: string) { return `${this.prefix}:${key}` }

  async get (key: string) { return (await this.redis.get(this.k(key))) ?? undefined }

  async mget (keys: readonly string[]) {
    if (keys.length === 0) return []
    const values = await this.redis.mget(keys.map((k) => this.k(k)))
    return values.map((v) => v ?? undefined)
  }

  async set (key: string, value: string, ttlSec?: number) {
    if (ttlSec !== undefined && ttlSec > 0) await this.redis.set(this.k(key), value, 'EX', ttlSec)
    else await this.redis.set(this.k(key), value)
  }

  async mset (entries: ReadonlyArray<readonly [string, string]>, ttlSec?: number) {
    if (entries.length === 0) return
    const multi = this.redis.multi()
    for (const [k, v] of entries) {
      if (ttlSec !== undefined && ttlSec > 0) multi.set(this.k(k), v, 'EX', ttlSec)
      else multi.set(this.k(k), v)
    }
    await multi.exec()
  }

  async setIfAbsent (key: string, value: string, ttlSec?: number) {
    const res = ttlSec !== undefined && ttlSec > 0
      ? await this.redis.set(this.k(key), value, 'EX', ttlSec, 'NX')
      : await this.redis.set(this.k(key), value, 'NX')
    return res === 'OK'
  }

  async del (key: string) { await this.redis.del(this.k(key)) }

  async incrBy (key: string, by: number, ttlSec?: number) {
    const value = await this.redis.incrby(this.k(key), by)
    // Only a counter this call created gets the lifetime, so a window is never extended.
    if (value === by && ttlSec !== undefined && ttlSec > 0) await this.redis.expire(this.k(key), ttlSec)
    return value
  }

  async close () {}
}
