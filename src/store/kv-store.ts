/**
 * The small key-value contract shared by the caches and state the service keeps
 * (CI match cache, checkpoints, job state, idempotency keys). One interface, two
 * implementations: Redis when REDIS_URL is set, memory otherwise. Both pass the same
 * contract test (test/store/kv-store.test.ts).
 */
export interface KvStore {
  get (key: string): Promise<string | undefined>
  /** Values of several keys, in order; missing keys are undefined. */
  mget (keys: readonly string[]): Promise<Array<string | undefined>>
  /** Sets a value, with an optional lifetime in seconds (0 or undefined: no expiry). */
  set (key: string, value: string, ttlSec?: number): Promise<void>
  /** Sets several values with one lifetime. */
  mset (entries: ReadonlyArray<readonly [string, string]>, ttlSec?: number): Promise<void>
  /** Sets only when absent; true when this call set it (locks, idempotency keys). */
  setIfAbsent (key: string, value: string, ttlSec?: number): Promise<boolean>
  del (key: string): Promise<void>
  /** Adds to an integer counter and returns the new value. */
  incrBy (key: string, by: number, ttlSec?: number): Promise<number>
  close (): Promise<void>
}
