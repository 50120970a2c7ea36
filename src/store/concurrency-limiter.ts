import { randomUUID } from 'node:crypto'
import type { Redis } from 'ioredis'

/**
 * A counting semaphore for calls to an upstream. In memory it bounds one process; on
 * Redis it bounds every replica together, which is what the upstream actually counts
 * (Qualys per subscription and endpoint, ServiceNow per integration pool).
 *
 * Redis slots are leases in a sorted set scored by expiry: a replica that dies while
 * holding a slot gives it back when the lease runs out, and holders renew their lease
 * while the call is still running.
 */
export interface ConcurrencyLimiter {
  /** Waits for a slot; the returned function gives it back (call it exactly once). */
  acquire (): Promise<() => Promise<void>>
  /** Changes the limit (learned from upstream headers); waiting callers see it at once. */
  setLimit (limit: number): void
  /** Slots held now, by everyone sharing this limiter. */
  inUse (): Promise<number>
}

export interface ConcurrencyLimiterOptions {
  name: string
  limit: number
  redis?: Redis
  keyPrefix?: string
  /** Redis lease length (default 10 s), renewed at a third of it while held: a dead replica's slots come back within it. */
  leaseMs?: number
  /** Redis polling interval while all slots are taken. */
  pollMs?: number
}

export function createConcurrencyLimiter (opts: ConcurrencyLimiterOptions): ConcurrencyLimiter {
  const limit = Math.max(1, Math.floor(opts.limit))
  return opts.redis === undefined
    ? new MemoryConcurrencyLimiter(limit)
    : new RedisConcurrencyLimiter(opts.redis, `${opts.keyPrefix ?? 'qss'}:limiter:v1:${opts.name}`, limit, opts.leaseMs ?? 10000, opts.pollMs ?? 25)
}

class MemoryConcurrencyLimiter implements ConcurrencyLimiter {
  private held = 0
  private limit: number
  private readonly waiting: Array<() => void> = []

  constructor (limit: number) {
    this.limit = limit
  }

  async acquire () {
    if (this.held >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve))
    else this.held++
    let released = false
    return async () => {
      if (released) return
      released = true
      this.held--
      this.wake()
    }
  }

  // A waiter is woken with its slot already counted, so no late arrival can jump the queue.
  private wake () {
    while (this.held < this.limit && this.waiting.length > 0) {
      this.held++
      this.waiting.shift()?.()
    }
  }

  setLimit (limit: number) {
    this.limit = Math.max(1, Math.floor(limit))
    this.wake()
  }

  async inUse () { return this.held }
}

// The server's clock in ms: replicas with skewed clocks still agree on expiry.
const NOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`

// KEYS[1] = the lease set; ARGV = limit, lease ms, holder id.
const ACQUIRE = `${NOW}redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 2)
  return 1
end
return 0`

const RENEW = `${NOW}if redis.call('ZSCORE', KEYS[1], ARGV[2]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), ARGV[2])
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]) * 2)
  return 1
end
return 0`

const COUNT = `${NOW}redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return redis.call('ZCARD', KEYS[1])`

class RedisConcurrencyLimiter implements ConcurrencyLimiter {
  private limit: number
  /**
   * This process's callers queue here first, so at most `limit` of them poll Redis and a
   * slot given back in this process goes to the next local caller at once instead of
   * after a polling interval (and without hundreds of waiters polling Redis).
   */
  private readonly local: MemoryConcurrencyLimiter

  constructor (
    private readonly redis: Redis,
    private readonly key: string,
    limit: number,
    private readonly leaseMs: number,
    private readonly pollMs: number
  ) {
    this.limit = limit
    this.local = new MemoryConcurrencyLimiter(limit)
  }

  async acquire () {
    const releaseLocal = await this.local.acquire()
    const holder = randomUUID()
    try {
      for (let attempt = 0; ; attempt++) {
        const got = await this.redis.eval(ACQUIRE, 1, this.key, this.limit, this.leaseMs, holder)
        if (got === 1) break
        // Jittered polling: waiters in other replicas should not retry in lockstep.
        const delay = Math.min(this.pollMs * (1 + Math.min(attempt, 8) / 4), 250) * (0.5 + Math.random())
        await new Promise((resolve) => setTimeout(resolve, delay))
      }
    } catch (err) {
      await releaseLocal()
      throw err
    }
    const renewal = setInterval(() => {
      this.redis.eval(RENEW, 1, this.key, this.leaseMs, holder).catch(() => {})
    }, Math.max(50, Math.floor(this.leaseMs / 3)))
    renewal.unref()
    let released = false
    return async () => {
      if (released) return
      released = true
      clearInterval(renewal)
      try {
        await this.redis.zrem(this.key, holder)
      } finally {
        await releaseLocal()
      }
    }
  }

  setLimit (limit: number) {
    this.limit = Math.max(1, Math.floor(limit))
    this.local.setLimit(this.limit)
  }

  async inUse () {
    return Number(await this.redis.eval(COUNT, 1, this.key))
  }
}
