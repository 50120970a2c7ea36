/**
 * The simulator's limits: the `API_INT` semaphore (a few threads, a bounded queue, 429
 * when the queue is full), per-user rate-limit rules counted over a fixed window (429 with
 * `Retry-After` and `X-RateLimit-*`), and injected faults. An instance commits rule counts
 * every 30 s, so its enforcement lags; the simulator enforces exactly, which is stricter.
 */

export interface SemaphoreOptions { threads: number, queue: number }

export class Semaphore {
  private active = 0
  private readonly waiting: Array<() => void> = []
  options: SemaphoreOptions

  constructor (options: SemaphoreOptions) {
    this.options = options
  }

  /** A release function, or undefined when the queue is full (the caller answers 429). */
  async enter (): Promise<(() => void) | undefined> {
    if (this.active >= this.options.threads) {
      if (this.waiting.length >= this.options.queue) return undefined
      await new Promise<void>((resolve) => this.waiting.push(resolve))
    } else {
      this.active++
    }
    let released = false
    return () => {
      if (released) return
      released = true
      const next = this.waiting.shift()
      // The slot passes straight to the next waiter, so `active` stays the same.
      if (next !== undefined) next()
      else this.active--
    }
  }
}

export interface RateRule {
  /** Requests one user may make per window. */
  limit: number
  /** Window length; an instance's rules are hourly (3600). */
  windowSec?: number
}

export interface RateDecision { allowed: boolean, headers: Record<string, string> }

export class RateLimiter {
  private readonly counts = new Map<string, { windowStart: number, count: number }>()
  rule: RateRule | undefined

  constructor (rule: RateRule | undefined) {
    this.rule = rule
  }

  check (user: string, now = Date.now()): RateDecision {
    const rule = this.rule
    if (rule === undefined) return { allowed: true, headers: {} }
    const windowMs = (rule.windowSec ?? 3600) * 1000
    const windowStart = Math.floor(now / windowMs) * windowMs
    let entry = this.counts.get(user)
    if (entry === undefined || entry.windowStart !== windowStart) {
      entry = { windowStart, count: 0 }
      this.counts.set(user, entry)
    }
    entry.count++
    const reset = windowStart + windowMs
    if (entry.count <= rule.limit) return { allowed: true, headers: {} }
    return {
      allowed: false,
      headers: {
        'retry-after': String(Math.max(1, Math.ceil((reset - now) / 1000))),
        'x-ratelimit-limit': String(rule.limit),
        'x-ratelimit-reset': String(Math.floor(reset / 1000)),
        'x-ratelimit-rule': 'a3b0c2d4e5f60718293a4b5c6d7e8f90'
      }
    }
  }

  reset (): void { this.counts.clear() }
}

/** One injected failure, served to the next matching request(s). */
export interface SimFault {
  /** HTTP status to answer: 5xx, 429, or 200 (the failure envelope with a 200 status). */
  status: number
  /** How many matching requests get it (default 1). */
  times?: number
  /** `Retry-After` seconds on a 429; omitted: no header. */
  retryAfterSec?: number
  /** Wait this long before answering (longer than the client's timeout: a timeout). */
  delayMs?: number
  method?: string
  table?: string
}

export interface SimFaults {
  /** Extra latency added to every API request. */
  latencyMs?: number
  /** Failures served in order to matching requests. */
  next?: SimFault[]
}

export class FaultInjector {
  latencyMs = 0
  private queue: SimFault[] = []

  set (faults: SimFaults): void {
    if (faults.latencyMs !== undefined) this.latencyMs = faults.latencyMs
    if (faults.next !== undefined) this.queue = faults.next.map((f) => ({ ...f, times: f.times ?? 1 }))
  }

  take (method: string, table: string): SimFault | undefined {
    const index = this.queue.findIndex((f) =>
      (f.method === undefined || f.method.toUpperCase() === method) && (f.table === undefined || f.table === table))
    const fault = this.queue[index]
    if (fault === undefined) return undefined
    fault.times = (fault.times ?? 1) - 1
    if (fault.times <= 0) this.queue.splice(index, 1)
    return fault
  }

  pending (): number { return this.queue.length }
}
