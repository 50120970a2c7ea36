import { isIP } from 'node:net'
import { QssError } from '../errors.js'
import { encodeCursor } from './cursor.js'
import type { CiMatch, Finding, FindingHost, FindingSource, FindingStatus, HostIdentity, Risk } from './model.js'

/**
 * The findings store: the last known state of every finding with the CI its host matched
 * and the POA&M it maps to, plus every host seen (for the coverage report). Two
 * implementations, memory and Redis, pass the same contract test
 * (test/findings/store.test.ts).
 */

/** The POA&M record a finding maps to. */
export interface PoamLink {
  correlationId: string
  sysId?: string
  table: string
}

export type StoredFinding = Finding & {
  ciMatch?: CiMatch
  poam?: PoamLink
  /** ISO-8601 UTC: when this version was stored. */
  updatedAt: string
}

/** A host as last seen in a findings page, with how it matched the CMDB. */
export interface StoredHost extends HostIdentity {
  ciMatch?: CiMatch
  /** ISO-8601 UTC: when a page last carried a finding of this host. */
  lastSeen: string
}

/** Filters combine with AND; an absent filter matches everything. */
export interface FindingsFilter {
  status?: FindingStatus
  source?: FindingSource
  policyId?: string
  controlId?: string
  /** Qualys host id. */
  hostId?: string
  /** FQDN, DNS name, NetBIOS name or IP (see `hostTokens` for the matching rules). */
  host?: string
  ciSysId?: string
  risk?: Risk
  /** true: the host matched a CI (has a sys_id); false: unmatched, ambiguous or unsafe. */
  matched?: boolean
}

export interface PageRequest {
  limit: number
  /** Opaque; from a previous page's `nextCursor`. */
  cursor?: string
}

export interface FindingsPage {
  items: StoredFinding[]
  /** Present while the scan may have more: pass it back to continue. A page may hold fewer than `limit` items. */
  nextCursor?: string
}

export interface PoamLinkUpdate extends PoamLink {
  findingId: string
}

export interface FindingsStore {
  /** Stores each finding with its host's match (keyed by Qualys host id), replacing earlier versions, and records the hosts. */
  upsertPage (findings: readonly Finding[], matches: ReadonlyMap<string, CiMatch>): Promise<void>
  setPoamLinks (links: readonly PoamLinkUpdate[]): Promise<void>
  get (id: string): Promise<StoredFinding | undefined>
  /** In the order asked; ids not stored are left out. */
  getMany (ids: readonly string[]): Promise<StoredFinding[]>
  /** Findings in id order. Throws QSS_REQUEST_INVALID on a bad cursor or limit. */
  query (filter: FindingsFilter, page: PageRequest): Promise<FindingsPage>
  /**
   * The same page as JSON text (`{"items":[...],"nextCursor":...}`), assembled from the
   * stored JSON without parsing it: the list route's hot path, where parsing and
   * re-serialising documents was most of the CPU spent per request.
   */
  queryJson (filter: FindingsFilter, page: PageRequest): Promise<string>
  /** Failed findings per CI sys_id (CIs without any are absent from the map). */
  openFindingsByCi (ciSysIds: readonly string[]): Promise<Map<string, StoredFinding[]>>
  /** Every host seen, in Qualys host id order, read in batches. */
  hosts (): AsyncIterable<StoredHost>
  /** Number of findings stored. */
  count (): Promise<number>
  close (): Promise<void>
}

export interface StoreOptions {
  now?: () => Date
  /** Index entries one query may examine before answering with a cursor (see scanIndexes). */
  scanCap?: number
}

export const MAX_PAGE_LIMIT = 500
/** Index entries one query may examine before it answers with what it has and a cursor. */
export const DEFAULT_SCAN_CAP = 5000

export function checkLimit (limit: number): void {
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_LIMIT) {
    throw new QssError('QSS_REQUEST_INVALID', `limit must be an integer from 1 to ${MAX_PAGE_LIMIT}`, { statusCode: 400 })
  }
}

/** Lower-case, without the trailing dot of an absolute DNS name. */
export function normaliseHostName (value: string): string {
  return value.trim().toLowerCase().replace(/\.$/, '')
}

/**
 * The values the `host` filter matches for one host: FQDN, DNS, NetBIOS, IPv4 and IPv6,
 * normalised. A name's first label is a token too, so `host=web-01` finds
 * `web-01.corp.example.com`: people and tickets use short names, and NetBIOS names are
 * short names already. A query containing a dot matches whole names only.
 */
export function hostTokens (host: FindingHost): string[] {
  const tokens = new Set<string>()
  for (const value of [host.fqdn, host.dns, host.netbios, host.ip, host.ipv6]) {
    if (value === undefined) continue
    const name = normaliseHostName(value)
    if (name === '') continue
    tokens.add(name)
    if (isIP(name) === 0) {
      const label = name.split('.')[0]
      if (label !== undefined && label !== '') tokens.add(label)
    }
  }
  return [...tokens]
}

export const ALL_TERM = 'all'

export function isMatched (match: CiMatch | undefined): match is { sysId: string, rule: string, value: string } {
  return match !== undefined && 'sysId' in match && match.sysId !== ''
}

/**
 * The index terms a stored finding belongs to. Every filter is backed by an index, so a
 * query never has to read a document to decide whether it matches.
 */
export function indexTerms (finding: StoredFinding): string[] {
  const terms = [ALL_TERM, `status:${finding.status}`, `source:${finding.source}`, `risk:${finding.risk}`, `hostid:${finding.host.qualysHostId}`]
  if (finding.policy !== undefined) terms.push(`policy:${finding.policy.id}`)
  if (finding.control !== undefined) terms.push(`control:${finding.control.id}`)
  const match = finding.ciMatch
  if (isMatched(match)) terms.push(`ci:${match.sysId}`)
  terms.push(`matched:${isMatched(match)}`)
  for (const token of hostTokens(finding.host)) terms.push(`host:${token}`)
  return terms
}

/** The index terms a filter requires, all of them (AND). */
export function filterTerms (filter: FindingsFilter): string[] {
  const terms: string[] = []
  if (filter.status !== undefined) terms.push(`status:${filter.status}`)
  if (filter.source !== undefined) terms.push(`source:${filter.source}`)
  if (filter.risk !== undefined) terms.push(`risk:${filter.risk}`)
  if (filter.hostId !== undefined) terms.push(`hostid:${filter.hostId}`)
  if (filter.policyId !== undefined) terms.push(`policy:${filter.policyId}`)
  if (filter.controlId !== undefined) terms.push(`control:${filter.controlId}`)
  if (filter.ciSysId !== undefined) terms.push(`ci:${filter.ciSysId}`)
  if (filter.matched !== undefined) terms.push(`matched:${filter.matched}`)
  if (filter.host !== undefined) {
    const token = normaliseHostName(filter.host)
    if (token === '') throw new QssError('QSS_REQUEST_INVALID', 'host must not be empty', { statusCode: 400 })
    terms.push(`host:${token}`)
  }
  return terms.length === 0 ? [ALL_TERM] : terms
}

/**
 * The version of a finding to store. Built field by field from what the page says, so a
 * caller handing back a StoredFinding cannot carry a stale link or match into the new version.
 */
export function storedVersion (finding: Finding, match: CiMatch | undefined, updatedAt: string): StoredFinding {
  const { ciMatch: _match, poam: _poam, updatedAt: _at, ...model } = finding as StoredFinding
  return match === undefined ? { ...model, updatedAt } : { ...model, ciMatch: match, updatedAt }
}

/** The host record a finding contributes, keeping only the identifiers Qualys gave. */
export function hostRecord (host: FindingHost, match: CiMatch | undefined, lastSeen: string): StoredHost {
  const record: StoredHost = { qualysHostId: host.qualysHostId, lastSeen }
  if (host.ip !== undefined) record.ip = host.ip
  if (host.ipv6 !== undefined) record.ipv6 = host.ipv6
  if (host.dns !== undefined) record.dns = host.dns
  if (host.fqdn !== undefined) record.fqdn = host.fqdn
  if (host.netbios !== undefined) record.netbios = host.netbios
  if (match !== undefined) record.ciMatch = match
  return record
}

/** The newest version of each finding on a page (a page may repeat one). */
export function lastOfEach (findings: readonly Finding[]): Finding[] {
  const byId = new Map<string, Finding>()
  for (const finding of findings) byId.set(finding.id, finding)
  return [...byId.values()]
}

/** A stored finding's JSON with its POA&M link added, neither parsed (both are objects we wrote). */
export function withPoamJson (doc: string, link: string | null | undefined): string {
  return link == null ? doc : `${doc.slice(0, -1)},"poam":${link}}`
}

export function pageJson (docs: readonly string[], continueAfter: string | undefined): string {
  const next = continueAfter === undefined ? '' : `,"nextCursor":${JSON.stringify(encodeCursor(continueAfter))}`
  return `{"items":[${docs.join(',')}]${next}}`
}

export function parsePage (docs: readonly string[], continueAfter: string | undefined): FindingsPage {
  const items = docs.map((doc) => JSON.parse(doc) as StoredFinding)
  return continueAfter === undefined ? { items } : { items, nextCursor: encodeCursor(continueAfter) }
}
