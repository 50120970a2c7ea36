import type { Redis } from 'ioredis'
import type { CiMatch, Finding } from './model.js'
import { decodeCursor, encodeCursor, scanIndexes, type OrderedIndexes } from './cursor.js'
import {
  DEFAULT_SCAN_CAP, checkLimit, filterTerms, hostRecord, indexTerms, lastOfEach,
  type FindingsFilter, type FindingsPage, type FindingsStore, type PageRequest, type PoamLink,
  type PoamLinkUpdate, type StoreOptions, type StoredFinding, type StoredHost
} from './store.js'

const HOST_BATCH = 500
const MGET_CHUNK = 1000

/**
 * FindingsStore on Redis. Layout (bump v1 when a shape changes):
 *   <prefix>:finding:v1:<id>            JSON StoredFinding without its POA&M link
 *   <prefix>:finding-poam:v1:<id>       JSON PoamLink, apart so linking never rewrites a finding
 *   <prefix>:finding-idx:v1:<term>      sorted set, score 0, members = finding ids (see indexTerms)
 *   <prefix>:host:v1:<qualysHostId>     JSON StoredHost
 *   <prefix>:host-idx:v1:all            sorted set of Qualys host ids
 * Equal scores make ZRANGEBYLEX walk ids in byte order, which gives stable pages and a
 * cursor that is just the last id. Writers of the same findings are serialised by the
 * sync lock; a page is applied in one MULTI so readers never see it half-indexed.
 * The connection belongs to the caller: close() does not quit it.
 */
export class RedisFindingsStore implements FindingsStore {
  private readonly now: () => Date
  private readonly scanCap: number
  private readonly indexes: OrderedIndexes

  constructor (private readonly redis: Redis, private readonly prefix: string, opts: StoreOptions = {}) {
    this.now = opts.now ?? (() => new Date())
    this.scanCap = opts.scanCap ?? DEFAULT_SCAN_CAP
    this.indexes = {
      sizes: async (terms) => {
        const pipeline = this.redis.pipeline()
        for (const term of terms) pipeline.zcard(this.indexKey(term))
        return (await execPipeline(pipeline)).map((n) => Number(n))
      },
      range: async (term, after, count) =>
        await this.redis.zrangebylex(this.indexKey(term), after === undefined ? '-' : `(${after}`, '+', 'LIMIT', 0, count),
      contains: async (terms, ids) => {
        if (ids.length === 0) return terms.map(() => [])
        const pipeline = this.redis.pipeline()
        for (const term of terms) pipeline.zmscore(this.indexKey(term), ...ids)
        return (await execPipeline(pipeline)).map((scores) => (scores as Array<string | null>).map((s) => s !== null))
      }
    }
  }

  private docKey (id: string) { return `${this.prefix}:finding:v1:${id}` }
  private poamKey (id: string) { return `${this.prefix}:finding-poam:v1:${id}` }
  private indexKey (term: string) { return `${this.prefix}:finding-idx:v1:${term}` }
  private hostKey (id: string) { return `${this.prefix}:host:v1:${id}` }
  private get hostIndexKey () { return `${this.prefix}:host-idx:v1:all` }

  async upsertPage (findings: readonly Finding[], matches: ReadonlyMap<string, CiMatch>) {
    const page = lastOfEach(findings)
    if (page.length === 0) return
    const updatedAt = this.now().toISOString()
    // One read for the whole page: the previous versions say which index entries are stale.
    const previous = await this.redis.mget(page.map((f) => this.docKey(f.id)))
    const adds = new Map<string, string[]>()
    const removes = new Map<string, string[]>()
    const push = (map: Map<string, string[]>, key: string, id: string) => {
      const list = map.get(key)
      if (list === undefined) map.set(key, [id])
      else list.push(id)
    }
    const multi = this.redis.multi()
    const hosts = new Map<string, string>()
    page.forEach((finding, i) => {
      const match = matches.get(finding.host.qualysHostId)
      const stored: StoredFinding = { ...finding, ...(match !== undefined ? { ciMatch: match } : {}), updatedAt }
      const next = indexTerms(stored)
      const old = previous[i]
      if (old != null) {
        const keep = new Set(next)
        for (const term of indexTerms(JSON.parse(old) as StoredFinding)) if (!keep.has(term)) push(removes, this.indexKey(term), finding.id)
      }
      // Every current term is re-added, not only new ones, so an index that lost an entry heals on the next sync.
      for (const term of next) push(adds, this.indexKey(term), finding.id)
      multi.set(this.docKey(finding.id), JSON.stringify(stored))
      hosts.set(finding.host.qualysHostId, JSON.stringify(hostRecord(finding.host, match, updatedAt)))
    })
    for (const [key, ids] of removes) multi.zrem(key, ...ids)
    for (const [key, ids] of adds) multi.zadd(key, ...ids.flatMap((id) => [0, id]))
    for (const [id, doc] of hosts) multi.set(this.hostKey(id), doc)
    multi.zadd(this.hostIndexKey, ...[...hosts.keys()].flatMap((id) => [0, id]))
    await execPipeline(multi)
  }

  async setPoamLinks (links: readonly PoamLinkUpdate[]) {
    if (links.length === 0) return
    await this.redis.mset(links.flatMap(({ findingId, ...link }) => [this.poamKey(findingId), JSON.stringify(link)]))
  }

  async get (id: string) {
    return (await this.getMany([id]))[0]
  }

  async getMany (ids: readonly string[]) {
    const out: StoredFinding[] = []
    for (let start = 0; start < ids.length; start += MGET_CHUNK) {
      const chunk = ids.slice(start, start + MGET_CHUNK)
      const values = await this.redis.mget([...chunk.map((id) => this.docKey(id)), ...chunk.map((id) => this.poamKey(id))])
      chunk.forEach((_, i) => {
        const doc = values[i]
        if (doc == null) return
        const finding = JSON.parse(doc) as StoredFinding
        const link = values[chunk.length + i]
        if (link != null) finding.poam = JSON.parse(link) as PoamLink
        out.push(finding)
      })
    }
    return out
  }

  async query (filter: FindingsFilter, page: PageRequest): Promise<FindingsPage> {
    checkLimit(page.limit)
    const after = page.cursor === undefined ? undefined : decodeCursor(page.cursor)
    const scan = await scanIndexes(this.indexes, filterTerms(filter), { limit: page.limit, cap: this.scanCap, ...(after !== undefined ? { after } : {}) })
    const items = await this.getMany(scan.ids)
    return scan.continueAfter === undefined ? { items } : { items, nextCursor: encodeCursor(scan.continueAfter) }
  }

  /** Three round trips for any number of CIs: every CI's ids, their status, their documents. */
  async openFindingsByCi (ciSysIds: readonly string[]) {
    const out = new Map<string, StoredFinding[]>()
    const sysIds = [...new Set(ciSysIds)]
    if (sysIds.length === 0) return out
    const ranges = this.redis.pipeline()
    for (const sysId of sysIds) ranges.zrangebylex(this.indexKey(`ci:${sysId}`), '-', '+')
    const idsByCi = (await execPipeline(ranges)) as string[][]
    const all = idsByCi.flat()
    if (all.length === 0) return out
    const [failed] = await this.indexes.contains(['status:failed'], all)
    const open = all.filter((_, i) => failed?.[i] === true)
    const byId = new Map((await this.getMany(open)).map((f) => [f.id, f]))
    sysIds.forEach((sysId, i) => {
      const list = (idsByCi[i] ?? []).flatMap((id) => byId.get(id) ?? [])
      if (list.length > 0) out.set(sysId, list)
    })
    return out
  }

  async * hosts (): AsyncIterable<StoredHost> {
    let start = '-'
    for (;;) {
      const ids = await this.redis.zrangebylex(this.hostIndexKey, start, '+', 'LIMIT', 0, HOST_BATCH)
      if (ids.length === 0) return
      const docs = await this.redis.mget(ids.map((id) => this.hostKey(id)))
      for (const doc of docs) if (doc != null) yield JSON.parse(doc) as StoredHost
      if (ids.length < HOST_BATCH) return
      start = `(${ids[ids.length - 1] as string}`
    }
  }

  async count () { return await this.redis.zcard(this.indexKey('all')) }

  async close () {}
}

/** Runs a pipeline or MULTI and fails on the first command error instead of returning it. */
async function execPipeline (pipeline: ReturnType<Redis['pipeline']>): Promise<unknown[]> {
  const results = await pipeline.exec()
  if (results === null) throw new Error('Redis transaction was discarded')
  return results.map(([err, value]) => {
    if (err !== null) throw err
    return value
  })
}
