import type { KbEntry } from '../qualys/kb-parser.js'
import type { KvStore } from '../store/kv-store.js'

/**
 * QID -> KnowledgeBase entry cache. The KnowledgeBase API is slow and the same QIDs recur
 * on every host, so each QID is fetched once per lifetime. A bounded in-process map sits
 * in front of the KvStore (shared by replicas with Redis).
 *
 *   const cache = createKbCache({ kv?, ttlSec?, maxEntries? })
 *   await cache.getMany(qids): Map<qid, KbEntry>   // only the cached ones
 *   await cache.setMany(entries)
 */

export interface KbCache {
  getMany (qids: readonly string[]): Promise<Map<string, KbEntry>>
  setMany (entries: Iterable<KbEntry>): Promise<void>
}

const key = (qid: string) => `kb:v1:${qid}`

export function createKbCache (options: { kv?: KvStore, ttlSec?: number, maxEntries?: number } = {}): KbCache {
  const local = new Map<string, KbEntry>()
  const max = options.maxEntries ?? 5000
  const ttl = options.ttlSec ?? 7 * 86400

  const remember = (entry: KbEntry) => {
    local.delete(entry.qid)
    local.set(entry.qid, entry)
    // Map keeps insertion order: the first key is the least recently stored.
    if (local.size > max) local.delete(local.keys().next().value as string)
  }

  return {
    async getMany (qids) {
      const found = new Map<string, KbEntry>()
      const missing: string[] = []
      for (const qid of qids) {
        const hit = local.get(qid)
        if (hit !== undefined) found.set(qid, hit)
        else missing.push(qid)
      }
      if (options.kv !== undefined && missing.length > 0) {
        const values = await options.kv.mget(missing.map(key))
        values.forEach((value) => {
          if (value === undefined) return
          const entry = JSON.parse(value) as KbEntry
          found.set(entry.qid, entry)
          remember(entry)
        })
      }
      return found
    },
    async setMany (entries) {
      const list = [...entries]
      for (const entry of list) remember(entry)
      if (options.kv !== undefined && list.length > 0) await options.kv.mset(list.map((e) => [key(e.qid), JSON.stringify(e)] as const), ttl)
    }
  }
}
