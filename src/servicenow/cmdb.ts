import { createHash } from 'node:crypto'
import type { CiMatch, FindingHost } from '../findings/model.js'
import type { Metrics } from '../metrics.js'
import type { KvStore } from '../store/kv-store.js'
import type { ServiceNowClient } from './client.js'
import { hostIdentifiers, type HostIdentifiers, type MatchRule } from './host-identifiers.js'
import { chunk, MAX_IN_VALUES, q } from './query.js'

/**
 * Maps Qualys hosts to CMDB CIs by ordered rules (`CI_MATCH_RULES`): the first rule that
 * finds exactly one CI wins; a rule finding several is not guessed from, and when no rule
 * finds exactly one the host is `ambiguous` (some rule found several) or `unmatched`.
 * Lookups are batched (one IN query per rule and chunk of values, never one per host),
 * cached in the KvStore (Redis with several replicas) with a shorter life for negative
 * results, and concurrent lookups of the same host share one query.
 */

export interface CiMatcherOptions {
  client: ServiceNowClient
  kv: KvStore
  /** Class queried, subclasses included (`cmdb_ci_server`). */
  ciClass: string
  rules: readonly MatchRule[]
  /** Lifetime of a cached match; 0 disables caching of matches. */
  ttlSec: number
  /** Lifetime of a cached unmatched/ambiguous result; 0 disables it. */
  negativeTtlSec: number
  metrics?: Metrics
}

export interface CiMatcherStats { hits: number, misses: number, coalesced: number }

export interface CiMatcher {
  /** One result per `qualysHostId`. */
  resolve (hosts: readonly FindingHost[]): Promise<Map<string, CiMatch>>
  stats (): CiMatcherStats
}

const ADAPTER_TABLE = 'cmdb_ci_network_adapter'
// Retired CIs (install_status 7) still carry names and IPs; matching them would file
// POA&Ms against machines that are gone and make live ones look ambiguous.
const RETIRED = '7'
const RULE_FIELD: Record<MatchRule, string> = { fqdn: 'fqdn', name: 'name', ip: 'ip_address' }

interface Pending { key: string, ids: HostIdentifiers }

/** value (lower case) → sys_ids of the CIs holding it. */
type ValueIndex = Map<string, Set<string>>

function addTo (index: ValueIndex, value: string, sysId: string) {
  const key = value.toLowerCase()
  let set = index.get(key)
  if (set === undefined) index.set(key, (set = new Set()))
  set.add(sysId)
}

export function createCiMatcher (options: CiMatcherOptions): CiMatcher {
  const { client, kv, ciClass, rules } = options
  const inflight = new Map<string, Promise<CiMatch>>()
  const counters: CiMatcherStats = { hits: 0, misses: 0, coalesced: 0 }
  const cacheScope = createHash('sha256').update(`${ciClass}|${rules.join(',')}`).digest('hex').slice(0, 12)

  const cacheKey = (ids: HostIdentifiers) =>
    `ci-match:v1:${cacheScope}:${createHash('sha256').update(JSON.stringify(rules.map((r) => ids[r]))).digest('hex')}`

  async function ciQuery (field: string, values: string[]): Promise<ValueIndex> {
    const index: ValueIndex = new Map()
    for (const part of chunk(values, MAX_IN_VALUES)) {
      const rows = await client.list(ciClass, { query: q().in(field, part).ne('install_status', RETIRED), fields: [field] })
      for (const row of rows) if (row.sys_id !== undefined) addTo(index, row[field] ?? '', row.sys_id)
    }
    return index
  }

  /** IPs on the CI itself, and on network adapters whose parent CI is of the class. */
  async function ipQuery (values: string[]): Promise<ValueIndex> {
    const index = await ciQuery('ip_address', values)
    const viaAdapter: Array<[string, string]> = []
    for (const part of chunk(values, MAX_IN_VALUES)) {
      const rows = await client.list(ADAPTER_TABLE, { query: q().in('ip_address', part), fields: ['ip_address', 'cmdb_ci'] })
      for (const row of rows) if (row.cmdb_ci !== undefined && row.cmdb_ci !== '') viaAdapter.push([row.ip_address ?? '', row.cmdb_ci])
    }
    const parents = [...new Set(viaAdapter.map(([, ci]) => ci))]
    const live = new Set<string>()
    for (const part of chunk(parents, MAX_IN_VALUES)) {
      const rows = await client.list(ciClass, { query: q().in('sys_id', part).ne('install_status', RETIRED), fields: [] })
      for (const row of rows) if (row.sys_id !== undefined) live.add(row.sys_id)
    }
    for (const [ip, ci] of viaAdapter) if (live.has(ci)) addTo(index, ip, ci)
    return index
  }

  async function lookup (rule: MatchRule, values: string[]): Promise<ValueIndex> {
    if (rule === 'ip') return await ipQuery(values)
    // CMDB names are often upper case; the instance may compare case-sensitively, so both
    // spellings are asked for and the answer is compared in lower case here.
    const asked = rule === 'name' ? [...new Set(values.flatMap((v) => [v, v.toUpperCase()]))] : values
    return await ciQuery(RULE_FIELD[rule], asked)
  }

  async function match (pending: Pending[]): Promise<Map<string, CiMatch>> {
    const results = new Map<string, CiMatch>()
    const candidates = new Map<string, number>()
    let open = pending
    for (const rule of rules) {
      const values = [...new Set(open.flatMap((p) => p.ids[rule]))]
      if (values.length === 0) continue
      const index = await lookup(rule, values)
      const next: Pending[] = []
      for (const p of open) {
        const found = new Map<string, string>()
        for (const value of p.ids[rule]) for (const sysId of index.get(value) ?? []) if (!found.has(sysId)) found.set(sysId, value)
        const only = found.size === 1 ? [...found][0] : undefined
        if (only !== undefined) {
          results.set(p.key, { sysId: only[0], rule, value: only[1] })
          continue
        }
        if (found.size > 1) candidates.set(p.key, Math.max(candidates.get(p.key) ?? 0, found.size))
        next.push(p)
      }
      open = next
    }
    for (const p of open) {
      const many = candidates.get(p.key)
      results.set(p.key, many === undefined ? { reason: 'unmatched' } : { reason: 'ambiguous', candidates: many })
    }
    return results
  }

  async function lookupOwned (owned: Pending[]): Promise<Map<string, CiMatch>> {
    const out = new Map<string, CiMatch>()
    const cached = await kv.mget(owned.map((p) => p.key))
    const misses: Pending[] = []
    owned.forEach((p, i) => {
      const hit = cached[i]
      if (hit !== undefined) {
        counters.hits++
        options.metrics?.cacheLookups.inc({ result: 'hit' })
        out.set(p.key, JSON.parse(hit) as CiMatch)
      } else {
        counters.misses++
        options.metrics?.cacheLookups.inc({ result: 'miss' })
        misses.push(p)
      }
    })
    if (misses.length === 0) return out
    const found = await match(misses)
    const positive: Array<[string, string]> = []
    const negative: Array<[string, string]> = []
    for (const [key, result] of found) {
      out.set(key, result)
      ;('sysId' in result ? positive : negative).push([key, JSON.stringify(result)])
    }
    if (options.ttlSec > 0) await kv.mset(positive, options.ttlSec)
    if (options.negativeTtlSec > 0) await kv.mset(negative, options.negativeTtlSec)
    return out
  }

  async function resolve (hosts: readonly FindingHost[]): Promise<Map<string, CiMatch>> {
    const byHost = new Map<string, Promise<CiMatch>>()
    const owned = new Map<string, Pending>()
    const settle = new Map<string, { resolve: (m: CiMatch) => void, reject: (e: unknown) => void }>()
    for (const host of hosts) {
      const ids = hostIdentifiers(host)
      if (rules.every((r) => ids[r].length === 0)) {
        byHost.set(host.qualysHostId, Promise.resolve({ reason: 'unmatched' }))
        continue
      }
      const key = cacheKey(ids)
      let promise = inflight.get(key)
      if (promise === undefined) {
        promise = new Promise<CiMatch>((resolve, reject) => settle.set(key, { resolve, reject }))
        // Awaited below; the no-op handler only keeps a failure that ends the loop early from
        // being reported as unhandled for the hosts after it.
        promise.catch(() => {})
        inflight.set(key, promise)
        owned.set(key, { key, ids })
      } else if (!owned.has(key)) {
        counters.coalesced++
      }
      byHost.set(host.qualysHostId, promise)
    }
    if (owned.size > 0) {
      try {
        const found = await lookupOwned([...owned.values()])
        for (const [key, s] of settle) s.resolve(found.get(key) ?? { reason: 'unmatched' })
      } catch (err) {
        for (const s of settle.values()) s.reject(err)
      } finally {
        for (const key of owned.keys()) inflight.delete(key)
      }
    }
    const out = new Map<string, CiMatch>()
    for (const [hostId, promise] of byHost) out.set(hostId, await promise)
    return out
  }

  return { resolve, stats: () => ({ ...counters }) }
}
