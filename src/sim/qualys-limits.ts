/**
 * Qualys API limits as the simulator enforces them, per endpoint: a sliding-window call
 * budget and a concurrency cap, each answered with 409 and the documented headers.
 *
 *   new EndpointLimits(limits).enter(now): Admission
 *   admission.release()   // when the response has been sent
 */

export interface QualysLimits {
  /** Calls accepted per window. */
  rateLimit: number
  windowSec: number
  /** Calls running at once. */
  concurrency: number
}

export const DEFAULT_LIMITS: QualysLimits = { rateLimit: 300, windowSec: 3600, concurrency: 2 }

export type Admission =
  | { ok: true, headers: Record<string, string>, release: () => void }
  | { ok: false, code: '1965' | '1960', secondsToWait: number, running: number, headers: Record<string, string> }

export class EndpointLimits {
  private readonly calls: number[] = []
  private running = 0
  peakConcurrency = 0
  rejected = 0

  constructor (public limits: QualysLimits) {}

  private prune (now: number) {
    const start = now - this.limits.windowSec * 1000
    let drop = 0
    while (drop < this.calls.length && (this.calls[drop] as number) <= start) drop++
    if (drop > 0) this.calls.splice(0, drop)
  }

  private secondsToWait (now: number): number {
    if (this.calls.length < this.limits.rateLimit) return 0
    const oldest = this.calls[this.calls.length - this.limits.rateLimit] as number
    return Math.max(1, Math.ceil((oldest + this.limits.windowSec * 1000 - now) / 1000))
  }

  private headers (now: number): Record<string, string> {
    return {
      'X-RateLimit-Limit': String(this.limits.rateLimit),
      'X-RateLimit-Window-Sec': String(this.limits.windowSec),
      'X-RateLimit-Remaining': String(Math.max(0, this.limits.rateLimit - this.calls.length)),
      'X-RateLimit-ToWait-Sec': String(this.secondsToWait(now)),
      'X-Concurrency-Limit-Limit': String(this.limits.concurrency),
      'X-Concurrency-Limit-Running': String(this.running)
    }
  }

  enter (now: number): Admission {
    this.prune(now)
    if (this.calls.length >= this.limits.rateLimit) {
      this.rejected++
      return { ok: false, code: '1965', secondsToWait: this.secondsToWait(now), running: this.running, headers: this.headers(now) }
    }
    if (this.running >= this.limits.concurrency) {
      this.rejected++
      return { ok: false, code: '1960', secondsToWait: 0, running: this.running, headers: this.headers(now) }
    }
    this.calls.push(now)
    this.running++
    this.peakConcurrency = Math.max(this.peakConcurrency, this.running)
    let released = false
    return {
      ok: true,
      headers: this.headers(now),
      release: () => {
        if (released) return
        released = true
        this.running--
      }
    }
  }
}
