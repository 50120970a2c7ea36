import type { FindingsStore, StoredHost } from './store.js'
import type { HostIdentity } from './model.js'

/**
 * The CMDB coverage report: how the hosts Qualys reports matched CIs, and which ones did
 * not, with the identifiers a CMDB team needs to fix the gap before a real sync.
 */

export const HostIdentifier = ['ip', 'ipv6', 'dns', 'fqdn', 'netbios'] as const
export type HostIdentifier = typeof HostIdentifier[number]

export interface CoverageHost extends HostIdentity {
  lastSeen: string
  /** `not_evaluated`: no CI match was recorded for the host yet. */
  reason: 'ambiguous' | 'unmatched' | 'unsafe' | 'not_evaluated'
  candidates?: number
  /** For `unsafe`: the identifiers that carry encoded-query syntax, so could not be looked up. */
  unsafeIdentifiers?: HostIdentifier[]
}

export interface CoverageList {
  total: number
  items: CoverageHost[]
  /** Hosts counted in `total` but left out of `items` by the limit. */
  omitted: number
}

export interface CoverageReport {
  generatedAt: string
  hostsSeen: number
  matched: number
  /** Matched hosts per matching rule name. */
  matchedByRule: Record<string, number>
  ambiguous: CoverageList
  /** Unmatched, unsafe and not yet evaluated hosts. */
  unmatched: CoverageList
}

export const DEFAULT_COVERAGE_LIMIT = 100
export const MAX_COVERAGE_LIMIT = 1000

// Encoded-query syntax (condition separator, operator, IN-list separator) and control
// characters: the values the ServiceNow query builder refuses to send.
const QUERY_SYNTAX = /[\^=,]|\p{Cc}/u

export function unsafeIdentifiers (host: StoredHost): HostIdentifier[] {
  return HostIdentifier.filter((name) => {
    const value = host[name]
    return value !== undefined && QUERY_SYNTAX.test(value)
  })
}

function entry (host: StoredHost, reason: CoverageHost['reason']): CoverageHost {
  const out: CoverageHost = { qualysHostId: host.qualysHostId, lastSeen: host.lastSeen, reason }
  for (const name of HostIdentifier) {
    const value = host[name]
    if (value !== undefined) out[name] = value
  }
  const match = host.ciMatch
  if (match !== undefined && 'reason' in match && match.candidates !== undefined) out.candidates = match.candidates
  if (reason === 'unsafe') out.unsafeIdentifiers = unsafeIdentifiers(host)
  return out
}

function add (list: CoverageList, host: CoverageHost, limit: number) {
  list.total++
  if (list.items.length < limit) list.items.push(host)
  else list.omitted++
}

/** Reads every host once; lists keep the first `limit` hosts in Qualys host id order. */
export async function coverageReport (store: FindingsStore, opts: { limit?: number, now?: () => Date } = {}): Promise<CoverageReport> {
  const limit = Math.min(Math.max(0, Math.floor(opts.limit ?? DEFAULT_COVERAGE_LIMIT)), MAX_COVERAGE_LIMIT)
  const report: CoverageReport = {
    generatedAt: (opts.now ?? (() => new Date()))().toISOString(),
    hostsSeen: 0,
    matched: 0,
    matchedByRule: {},
    ambiguous: { total: 0, items: [], omitted: 0 },
    unmatched: { total: 0, items: [], omitted: 0 }
  }
  // A Map, not the report object: rule names are configuration, but never trusted as keys of a prototype-bearing object.
  const byRule = new Map<string, number>()
  for await (const host of store.hosts()) {
    report.hostsSeen++
    const match = host.ciMatch
    if (match === undefined) {
      add(report.unmatched, entry(host, 'not_evaluated'), limit)
    } else if ('sysId' in match) {
      report.matched++
      byRule.set(match.rule, (byRule.get(match.rule) ?? 0) + 1)
    } else if (match.reason === 'ambiguous') {
      add(report.ambiguous, entry(host, 'ambiguous'), limit)
    } else {
      add(report.unmatched, entry(host, match.reason), limit)
    }
  }
  report.matchedByRule = Object.fromEntries(byRule)
  return report
}
