import { createHash } from 'node:crypto'
import type { Redis } from 'ioredis'
import type { CiMatch, Finding } from './model.js'
import { decodeCursor } from './cursor.js'
import {
  DEFAULT_SCAN_CAP, checkLimit, filterTerms, hostRecord, indexTerms, lastOfEach, pageJson, parsePage, storedVersion, withPoamJson,
  type FindingsFilter, type FindingsPage, type FindingsStore, type PageRequest,
  type PoamLinkUpdate, type StoreOptions, type StoredFinding, type StoredHost
} from './store.js'

/**
 * scanIndexes (cursor.ts) run inside Redis: the driving index is the smallest of KEYS,
 * walked from ARGV[1] (exclusive; '' = start) keeping ids every other key holds, until
 * ARGV[2] ids, the end, or ARGV[3] ids examined. Returns {continueAfter or false, ids}.
 * One round trip per page, and no id lists crossing the network to be intersected in
 * Node. The cap bounds how long one call holds Redis: about cap x #KEYS lookups.
 */
const SCAN = `
local limit, cap = tonumber(ARGV[2]), tonumber(ARGV[3])
local order, sizes = {}, {}
for k = 1, #KEYS do order[k] = k end
if #KEYS > 1 then
  for k = 1, #KEYS do
    sizes[k] = redis.call('ZCARD', KEYS[k])
    if sizes[k] == 0 then return {false, {}} end
  end
  -- Smallest first: it drives the walk, and the next smallest rejects a candidate soonest.
  table.sort(order, function (a, b) return sizes[a] < sizes[b] end)
end
local driver, others = KEYS[order[1]], {}
for k = 2, #order do others[#others + 1] = KEYS[order[k]] end
local start = ARGV[1] == '' and '-' or '(' .. ARGV[1]
local ids, examined, last = {}, 0, false
local batch = limit
if #others > 0 then batch = math.min(1000, math.max(64, limit * 2)) end
while true do
  local room = math.min(batch, cap - examined)
  local fetched = redis.call('ZRANGEBYLEX', driver, start, '+', 'LIMIT', 0, room + 1)
  for i = 1, math.min(#fetched, room) do
    local id = fetched[i]
    examined, last = examined + 1, id
    local keep = true
    for k = 1, #others do
      if not redis.call('ZSCORE', others[k], id) then keep = false break end
    end
    if keep then
      ids[#ids + 1] = id
      if #ids == limit then
        if i < #fetched then return {id, ids} end
        return {false, ids}
      end
    end
  end
  if #fetched <= room then return {false, ids} end
  if examined >= cap then return {last, ids} end
  start = '(' .. last
  if #others == 0 then batch = limit - #ids else batch = math.min(1000, batch * 2) end
end`

/** Called by its digest; the source travels only when the server does not know it yet (first call, restart, SCRIPT FLUSH). */
class LuaScript {
  private readonly sha: string

  constructor (private readonly redis: Redis, private readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex')
  }

  async run (keys: readonly string[], args: ReadonlyArray<string | number>): Promise<unknown> {
    try {
      return await this.redis.evalsha(this.sha, keys.length, ...keys, ...args)
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err
      return await this.redis.eval(this.source, keys.length, ...keys, ...args)
    }
  }
}

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
 * cursor that is just the last id. Writers of the same findings must not overlap (the sync
 * lock's job); a page is applied in one MULTI so readers never see it half-indexed.
 * The connection belongs to the caller: close() does not quit it.
 */
export class RedisFindingsStore implements FindingsStore {
  private readonly now: () => Date
  private readonly scanCap: number
  private readonly scanScript: LuaScript

  constructor (private readonly redis: Redis, private readonly prefix: string, opts: StoreOptions = {}) {
    this.now = opts.now ?? (() => new Date())
    this.scanCap = opts.scanCap ?? DEFAULT_SCAN_CAP
    this.scanScript = new LuaScript(redis, SCAN)
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
      const stored = storedVersion(finding, match, updatedAt)
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
    return (await this.docsOf(ids)).map((doc) => JSON.parse(doc) as StoredFinding)
  }

  async query (filter: FindingsFilter, page: PageRequest): Promise<FindingsPage> {
    const { ids, continueAfter } = await this.scan(filter, page)
    return parsePage(await this.docsOf(ids), continueAfter)
  }

  async queryJson (filter: FindingsFilter, page: PageRequest) {
    const { ids, continueAfter } = await this.scan(filter, page)
    return pageJson(await this.docsOf(ids), continueAfter)
  }

  private async scan (filter: FindingsFilter, page: PageRequest) {
    checkLimit(page.limit)
    const after = page.cursor === undefined ? '' : decodeCursor(page.cursor)
    const keys = filterTerms(filter).map((term) => this.indexKey(term))
    const [continueAfter, ids] = await this.scanScript.run(keys, [after, page.limit, this.scanCap]) as [string | null, string[]]
    return { ids, continueAfter: continueAfter ?? undefined }
  }

  /** Documents with their POA&M links, in the order asked, missing ones left out. */
  private async docsOf (ids: readonly string[]): Promise<string[]> {
    const out: string[] = []
    for (let start = 0; start < ids.length; start += MGET_CHUNK) {
      const chunk = ids.slice(start, start + MGET_CHUNK)
      const values = await this.redis.mget([...chunk.map((id) => this.docKey(id)), ...chunk.map((id) => this.poamKey(id))])
      chunk.forEach((_, i) => {
        const doc = values[i]
        if (doc != null) out.push(withPoamJson(doc, values[chunk.length + i]))
      })
    }
    return out
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
    const failed = await this.redis.zmscore(this.indexKey('status:failed'), ...all)
    const open = all.filter((_, i) => failed[i] != null)
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
