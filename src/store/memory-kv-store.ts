import type { KvStore } from './kv-store.js'

interface Entry { value: string, expiresAt: number }

/** In-process KvStore for the embedded default: one process, nothing survives a restart. */
export class MemoryKvStore implements KvStore {
  private readonly entries = new Map<string, Entry>()
  private readonly now: () => number

  constructor (now: () => number = Date.now) {
    this.now = now
  }

  private live (key: string): Entry | undefined {
    const entry = this.entries.get(key)
    if (entry === undefined) return undefined
    if (entry.expiresAt !== 0 && entry.expiresAt <= this.now()) {
      this.entries.delete(key)
      return undefined
    }
    return entry
  }

  private expiry (ttlSec?: number): number {
    return ttlSec !== undefined && ttlSec > 0 ? this.now() + ttlSec * 1000 : 0
  }

  async get (key: string) { return this.live(key)?.value }

  async mget (keys: readonly string[]) { return keys.map((k) => this.live(k)?.value) }

  async set (key: string, value: string, ttlSec?: number) {
    this.entries.set(key, { value, expiresAt: this.expiry(ttlSec) })
  }

  async mset (entries: ReadonlyArray<readonly [string, string]>, ttlSec?: number) {
    for (const [k, v] of entries) this.entries.set(k, { value: v, expiresAt: this.expiry(ttlSec) })
  }

  async setIfAbsent (key: string, value: string, ttlSec?: number) {
    if (this.live(key) !== undefined) return false
    this.entries.set(key, { value, expiresAt: this.expiry(ttlSec) })
    return true
  }

  async del (key: string) { this.entries.delete(key) }

  async incrBy (key: string, by: number, ttlSec?: number) {
    const entry = this.live(key)
    const next = Number(entry?.value ?? '0') + by
    this.entries.set(key, { value: String(next), expiresAt: entry?.expiresAt ?? this.expiry(ttlSec) })
    return next
  }

  async close () { this.entries.clear() }
}
