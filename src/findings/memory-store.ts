import type { CiMatch, Finding } from './model.js'
import { decodeCursor, scanIndexes, type OrderedIndexes } from './cursor.js'
import {
  DEFAULT_SCAN_CAP, checkLimit, filterTerms, hostRecord, indexTerms, lastOfEach, pageJson, parsePage, storedVersion, withPoamJson,
  type FindingsFilter, type FindingsPage, type FindingsStore, type PageRequest,
  type PoamLinkUpdate, type StoreOptions, type StoredFinding, type StoredHost
} from './store.js'

/** Id sets per term, sorted lazily: a burst of upserts pays for one sort at the next read. */
class MemoryIndexes implements OrderedIndexes {
  private readonly sets = new Map<string, Set<string>>()
  private readonly sorted = new Map<string, string[]>()

  add (term: string, id: string) {
    let set = this.sets.get(term)
    if (set === undefined) this.sets.set(term, set = new Set())
    if (set.has(id)) return
    set.add(id)
    this.sorted.delete(term)
  }

  remove (term: string, id: string) {
    const set = this.sets.get(term)
    if (set === undefined || !set.delete(id)) return
    if (set.size === 0) this.sets.delete(term)
    this.sorted.delete(term)
  }

  ordered (term: string): string[] {
    let ids = this.sorted.get(term)
    if (ids === undefined) {
      ids = [...(this.sets.get(term) ?? [])].sort()
      this.sorted.set(term, ids)
    }
    return ids
  }

  async sizes (terms: readonly string[]) { return terms.map((term) => this.sets.get(term)?.size ?? 0) }

  async range (term: string, after: string | undefined, count: number) {
    const ids = this.ordered(term)
    let lo = 0
    if (after !== undefined) {
      let hi = ids.length
      while (lo < hi) {
        const mid = (lo + hi) >>> 1
        if ((ids[mid] as string) <= after) lo = mid + 1
        else hi = mid
      }
    }
    return ids.slice(lo, lo + count)
  }

  async contains (terms: readonly string[], ids: readonly string[]) {
    return terms.map((term) => {
      const set = this.sets.get(term)
      return ids.map((id) => set?.has(id) === true)
    })
  }

  clear () {
    this.sets.clear()
    this.sorted.clear()
  }
}

/**
 * In-process FindingsStore for the embedded default. Values are kept as JSON text, so
 * callers get fresh copies exactly as they would from Redis.
 */
export class MemoryFindingsStore implements FindingsStore {
  private readonly docs = new Map<string, string>()
  private readonly terms = new Map<string, string[]>()
  private readonly poam = new Map<string, string>()
  private readonly hostDocs = new Map<string, string>()
  private readonly indexes = new MemoryIndexes()
  private readonly hostIndex = new MemoryIndexes()
  private readonly now: () => Date
  private readonly scanCap: number

  constructor (opts: StoreOptions = {}) {
    this.now = opts.now ?? (() => new Date())
    this.scanCap = opts.scanCap ?? DEFAULT_SCAN_CAP
  }

  async upsertPage (findings: readonly Finding[], matches: ReadonlyMap<string, CiMatch>) {
    const updatedAt = this.now().toISOString()
    for (const finding of lastOfEach(findings)) {
      const match = matches.get(finding.host.qualysHostId)
      const stored = storedVersion(finding, match, updatedAt)
      const next = indexTerms(stored)
      const keep = new Set(next)
      for (const term of this.terms.get(finding.id) ?? []) if (!keep.has(term)) this.indexes.remove(term, finding.id)
      for (const term of next) this.indexes.add(term, finding.id)
      this.terms.set(finding.id, next)
      this.docs.set(finding.id, JSON.stringify(stored))
      this.hostDocs.set(finding.host.qualysHostId, JSON.stringify(hostRecord(finding.host, match, updatedAt)))
      this.hostIndex.add('all', finding.host.qualysHostId)
    }
  }

  async setPoamLinks (links: readonly PoamLinkUpdate[]) {
    for (const { findingId, ...link } of links) this.poam.set(findingId, JSON.stringify(link))
  }

  async get (id: string) {
    return (await this.getMany([id]))[0]
  }

  async getMany (ids: readonly string[]) {
    return this.docsOf(ids).map((doc) => JSON.parse(doc) as StoredFinding)
  }

  async query (filter: FindingsFilter, page: PageRequest): Promise<FindingsPage> {
    const { ids, continueAfter } = await this.scan(filter, page)
    return parsePage(this.docsOf(ids), continueAfter)
  }

  async queryJson (filter: FindingsFilter, page: PageRequest) {
    const { ids, continueAfter } = await this.scan(filter, page)
    return pageJson(this.docsOf(ids), continueAfter)
  }

  private async scan (filter: FindingsFilter, page: PageRequest) {
    checkLimit(page.limit)
    const after = page.cursor === undefined ? undefined : decodeCursor(page.cursor)
    return await scanIndexes(this.indexes, filterTerms(filter), { limit: page.limit, cap: this.scanCap, ...(after !== undefined ? { after } : {}) })
  }

  private docsOf (ids: readonly string[]): string[] {
    return ids.flatMap((id) => {
      const doc = this.docs.get(id)
      return doc === undefined ? [] : [withPoamJson(doc, this.poam.get(id))]
    })
  }

  async openFindingsByCi (ciSysIds: readonly string[]) {
    const out = new Map<string, StoredFinding[]>()
    for (const sysId of new Set(ciSysIds)) {
      const ids = this.indexes.ordered(`ci:${sysId}`).filter((id) => this.terms.get(id)?.includes('status:failed') === true)
      if (ids.length > 0) out.set(sysId, await this.getMany(ids))
    }
    return out
  }

  async * hosts (): AsyncIterable<StoredHost> {
    for (const id of this.hostIndex.ordered('all')) {
      const doc = this.hostDocs.get(id)
      if (doc !== undefined) yield JSON.parse(doc) as StoredHost
    }
  }

  async count () { return this.docs.size }

  async close () {
    this.docs.clear()
    this.terms.clear()
    this.poam.clear()
    this.hostDocs.clear()
    this.indexes.clear()
    this.hostIndex.clear()
  }
}
