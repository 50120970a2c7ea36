import { QssError } from '../errors.js'
import type { ConcurrencyLimiter } from '../store/concurrency-limiter.js'
import type { KvStore } from '../store/kv-store.js'

/**
 * Paces Qualys calls per (subscription, endpoint) from what Qualys says about its limits,
 * so a well-behaved sync never sees a 409.
 *
 *   const governor = new LimitGovernor({ kv, subscription, limiter, onWait })
 *   const permit = await governor.acquire(endpoint)   // waits for a slot and a call
 *   permit.observe(headers); await permit.release()
 *   await governor.after409(endpoint, { code, secondsToWait }, attempt)
 *
 * Concurrency: a shared ConcurrencyLimiter (Redis-leased with REDIS_URL) sized from
 * `X-Concurrency-Limit-Limit`, one slot left spare for the other tools on the
 * subscription when the limit is above 1. Until the first answer, one call at a time.
 *
 * Rate: the last `X-RateLimit-*` reading and a remaining-calls counter live in the
 * KvStore, so every replica draws from one budget. A call reserves one unit of the
 * counter; when none is left it waits for `ToWait-Sec` (or one window slot), then a single
 * caller probes for fresh headers while the others wait for its reading.
 */

export interface WaitEvent { reason: 'pacing' | 'rate-limit' | 'concurrency' | 'retry', ms: number, endpoint: string }

export interface LimitReading {
  rateLimit?: number
  windowSec?: number
  remaining?: number
  toWaitSec?: number
  concurrencyLimit?: number
  running?: number
}

export interface GovernorOptions {
  kv: KvStore
  /** Key of the subscription: hash of platform URL and user, never the password. */
  subscription: string
  /** Builds the shared slot limiter of one endpoint. */
  limiter: (name: string) => ConcurrencyLimiter
  onWait?: (event: WaitEvent) => void
  /** Longest single wait accepted before giving up with a rate-limit error (default 15 min). */
  maxWaitMs?: number
}

export interface Permit {
  observe (headers: Record<string, string | string[] | undefined>): Promise<LimitReading>
  release (): Promise<void>
}

interface Observation { limit: number, windowSec: number, toWaitSec: number, at: number }

const sleep = async (ms: number) => await new Promise((resolve) => setTimeout(resolve, ms))

function header (headers: Record<string, string | string[] | undefined>, ...names: string[]): number | undefined {
  for (const name of names) {
    const raw = headers[name.toLowerCase()]
    const value = Array.isArray(raw) ? raw[0] : raw
    if (value !== undefined && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value)
  }
  return undefined
}

/** Reads every limit header, accepting both spellings of the concurrency ones. */
export function readLimitHeaders (headers: Record<string, string | string[] | undefined>): LimitReading {
  return {
    rateLimit: header(headers, 'x-ratelimit-limit'),
    windowSec: header(headers, 'x-ratelimit-window-sec'),
    remaining: header(headers, 'x-ratelimit-remaining'),
    toWaitSec: header(headers, 'x-ratelimit-towait-sec'),
    concurrencyLimit: header(headers, 'x-concurrency-limit-limit', 'x-concurrencylimit-limit'),
    running: header(headers, 'x-concurrency-limit-running', 'x-concurrencylimit-running')
  }
}

export class LimitGovernor {
  private readonly limiters = new Map<string, ConcurrencyLimiter>()
  readonly counters = { waits: 0, waitMs: 0 }

  constructor (private readonly options: GovernorOptions) {}

  private key (endpoint: string, part: string) { return `qualys:rate:v1:${this.options.subscription}:${endpoint}:${part}` }

  private slots (endpoint: string): ConcurrencyLimiter {
    let limiter = this.limiters.get(endpoint)
    if (limiter === undefined) {
      limiter = this.options.limiter(`qualys:${this.options.subscription}:${endpoint}`)
      this.limiters.set(endpoint, limiter)
    }
    return limiter
  }

  async wait (endpoint: string, reason: WaitEvent['reason'], ms: number): Promise<void> {
    if (ms <= 0) return
    const max = this.options.maxWaitMs ?? 15 * 60000
    if (ms > max) {
      throw new QssError('QSS_QUALYS_RATE_LIMIT', `Qualys ${endpoint} asks to wait ${Math.ceil(ms / 1000)} s, more than the ${Math.ceil(max / 1000)} s this client waits`, { statusCode: 503, details: { endpoint, waitMs: ms } })
    }
    this.counters.waits++
    this.counters.waitMs += ms
    this.options.onWait?.({ reason, ms, endpoint })
    await sleep(ms)
  }

  /** Waits until one more call fits the shared rate budget. */
  private async reserveCall (endpoint: string): Promise<{ probe: boolean }> {
    const { kv } = this.options
    for (;;) {
      const until = Number(await kv.get(this.key(endpoint, 'until')) ?? 0)
      if (until > Date.now()) { await this.wait(endpoint, 'rate-limit', until - Date.now()); continue }
      const raw = await kv.get(this.key(endpoint, 'obs'))
      if (raw === undefined) return { probe: false }
      const obs = JSON.parse(raw) as Observation
      if (await kv.incrBy(this.key(endpoint, 'rem'), -1) >= 0) return { probe: false }
      await kv.incrBy(this.key(endpoint, 'rem'), 1)
      const slotMs = obs.toWaitSec > 0 ? obs.toWaitSec * 1000 : Math.ceil(obs.windowSec * 1000 / Math.max(1, obs.limit))
      const ready = obs.at + slotMs
      if (ready > Date.now()) { await this.wait(endpoint, 'pacing', ready - Date.now()); continue }
      // The window has moved on but nobody has read it yet: one caller asks, the rest wait for its answer.
      if (await kv.setIfAbsent(this.key(endpoint, 'probe'), '1', Math.max(2, Math.ceil(slotMs / 1000)))) return { probe: true }
      await this.wait(endpoint, 'pacing', 100)
    }
  }

  private async record (endpoint: string, reading: LimitReading): Promise<void> {
    const { kv } = this.options
    if (reading.concurrencyLimit !== undefined && reading.concurrencyLimit > 0) {
      this.slots(endpoint).setLimit(reading.concurrencyLimit > 1 ? reading.concurrencyLimit - 1 : 1)
    }
    if (reading.remaining === undefined || reading.rateLimit === undefined) return
    const windowSec = reading.windowSec ?? 3600
    const obs: Observation = { limit: reading.rateLimit, windowSec, toWaitSec: reading.toWaitSec ?? 0, at: Date.now() }
    const ttl = Math.max(1, windowSec * 2)
    await kv.mset([[this.key(endpoint, 'obs'), JSON.stringify(obs)], [this.key(endpoint, 'rem'), String(reading.remaining)]], ttl)
    if (reading.remaining <= 0 && obs.toWaitSec > 0) {
      await kv.set(this.key(endpoint, 'until'), String(obs.at + obs.toWaitSec * 1000), obs.toWaitSec + 1)
    }
  }

  async acquire (endpoint: string): Promise<Permit> {
    const release = await this.slots(endpoint).acquire()
    let reservation: { probe: boolean }
    try {
      reservation = await this.reserveCall(endpoint)
    } catch (err) {
      await release()
      throw err
    }
    return {
      observe: async (headers) => {
        const reading = readLimitHeaders(headers)
        await this.record(endpoint, reading)
        return reading
      },
      release: async () => {
        if (reservation.probe) await this.options.kv.del(this.key(endpoint, 'probe'))
        await release()
      }
    }
  }

  /** After a 409: wait what Qualys asked (1965) or back off (1960, 1920). */
  async after409 (endpoint: string, rejection: { code?: string, secondsToWait?: number }, attempt: number): Promise<void> {
    if (rejection.code === '1965' || (rejection.secondsToWait ?? 0) > 0) {
      const ms = Math.max(1, rejection.secondsToWait ?? 1) * 1000
      await this.options.kv.set(this.key(endpoint, 'until'), String(Date.now() + ms), Math.ceil(ms / 1000) + 1)
      await this.wait(endpoint, 'rate-limit', ms)
      return
    }
    const backoff = Math.min(30000, 500 * 2 ** attempt) * (0.5 + Math.random() / 2)
    await this.wait(endpoint, 'concurrency', Math.round(backoff))
  }
}
