import { RISK_RANK, type CiMatch, type Finding } from '../findings/model.js'
import { Grouping, correlationIdFor } from './correlation.js'
import { earliest, isInstant, latest, scheduledCompletionDate, utcDate } from './due-date.js'
import type { PoamAsset, PoamItem } from './item.js'
import { renderPayload, type PoamProfile } from './profiles.js'
import { DETECTOR, assetLabel, findingSummary, groupSummary, hostName, remediationPlan, weaknessDescription, weaknessTitle } from './text.js'

/** What one POA&M record should look like according to Qualys. */
export interface DesiredRecord {
  correlationId: string
  item: PoamItem
  /** The payload for a new record (the planner re-renders it for existing records). */
  payload: Record<string, string>
  open: boolean
  /** Newest evaluation (PC) or scan (VM) time among the findings, ISO-8601. */
  evidenceAt?: string
  /**
   * When Qualys last saw the opposite state before the current one: for an open record
   * the newest last-pass time of its failing findings, for a closed one the newest
   * last-fail time. Orders evidence within one day, where status dates cannot.
   */
  priorOppositeAt?: string
  findingIds: string[]
}

export const SkipReason = { unmatchedHost: 'unmatched-host', noVerdict: 'no-verdict' } as const
export type SkipReason = typeof SkipReason[keyof typeof SkipReason]

export interface SkippedFinding { findingId: string, reason: SkipReason }

export interface DesiredSet {
  records: Map<string, DesiredRecord>
  skipped: SkippedFinding[]
}

export interface MappingOptions {
  profile: PoamProfile
  grouping: Grouping
  unmatched: 'create' | 'skip'
  now: Date | string
}

/**
 * NIST control named in `u_controls`. The normalized finding carries no NIST mapping,
 * so PC records name the Qualys control ID, and VM records RA-5 (vulnerability
 * scanning), the control every scanner-found vulnerability is reported under.
 */
export const VM_NIST_CONTROL = 'RA-5'

function ciOf (finding: Finding, matches: Map<string, CiMatch>): string | undefined {
  const match = matches.get(finding.host.qualysHostId)
  return match !== undefined && 'sysId' in match ? match.sysId : undefined
}

/** Evidence time of one finding: its evaluation, else the last time it was seen in its state. */
function evidenceTime (f: Finding): string | undefined {
  const candidates = [f.evaluatedAt, f.status === 'passed' ? f.lastPassed : f.lastDetected]
  return candidates.find(isInstant)
}

/** A finding id seen twice (overlapping pages or deltas) keeps its newest evaluation. */
function newestPerFinding (findings: Iterable<Finding>): Finding[] {
  const byId = new Map<string, Finding>()
  for (const f of findings) {
    const seen = byId.get(f.id)
    if (seen === undefined || latest(evidenceTime(seen), evidenceTime(f)) !== evidenceTime(seen)) byId.set(f.id, f)
  }
  return [...byId.values()]
}

/**
 * Turns findings into desired POA&M records. `finding` grouping makes one record per
 * finding; `control` grouping one per policy x control (PC) or QID (VM), listing every
 * affected asset. A group is open while any of its findings fails and closed only when
 * all of them passed; findings in `error` state are evidence of neither.
 *
 * With `control` grouping, pass every finding of a group in one call: a group built from
 * part of its hosts would list too few assets, and could close on the hosts it saw.
 */
export function buildDesiredRecords (findings: Iterable<Finding>, ciMatches: Map<string, CiMatch>, options: MappingOptions): DesiredSet {
  const skipped: SkippedFinding[] = []
  const groups = new Map<string, Finding[]>()
  for (const f of newestPerFinding(findings)) {
    if (f.status === 'error') {
      skipped.push({ findingId: f.id, reason: SkipReason.noVerdict })
      continue
    }
    if (options.unmatched === 'skip' && ciOf(f, ciMatches) === undefined) {
      skipped.push({ findingId: f.id, reason: SkipReason.unmatchedHost })
      continue
    }
    const id = correlationIdFor(f, options.grouping)
    const group = groups.get(id)
    if (group === undefined) groups.set(id, [f])
    else group.push(f)
  }
  const records = new Map<string, DesiredRecord>()
  for (const id of [...groups.keys()].sort()) {
    records.set(id, desiredFor(id, groups.get(id) as Finding[], ciMatches, options))
  }
  skipped.sort((a, b) => a.findingId.localeCompare(b.findingId))
  return { records, skipped }
}

function desiredFor (correlationId: string, group: Finding[], matches: Map<string, CiMatch>, options: MappingOptions): DesiredRecord {
  group.sort((a, b) => a.id.localeCompare(b.id))
  const failing = group.filter((f) => f.status === 'failed')
  const open = failing.length > 0
  // An open record describes the hosts still failing; a closed one every host that passed.
  const relevant = open ? failing : group
  const first = relevant[0] as Finding

  const assetsById = new Map<string, PoamAsset>()
  for (const f of relevant) {
    if (assetsById.has(f.host.qualysHostId)) continue
    const ciSysId = ciOf(f, matches)
    assetsById.set(f.host.qualysHostId, {
      qualysHostId: f.host.qualysHostId,
      name: hostName(f.host),
      ...(f.host.ip === undefined ? {} : { ip: f.host.ip }),
      ...(f.host.fqdn === undefined ? {} : { fqdn: f.host.fqdn }),
      ...(ciSysId === undefined ? {} : { ciSysId })
    })
  }
  const assets = [...assetsById.values()].sort((a, b) => assetLabel(a).localeCompare(assetLabel(b)))
  // cmdb_ci only when every asset is that one CI: a record on CI X must not carry host Y's weakness.
  const cis = new Set(assets.map((a) => a.ciSysId ?? ''))
  const ciSysId = cis.size === 1 && !cis.has('') ? [...cis][0] as string : ''

  const risk = relevant.reduce((top, f) => RISK_RANK[f.risk] > RISK_RANK[top] ? f.risk : top, first.risk)
  let firstSeen: string | undefined
  for (const f of relevant) firstSeen = earliest(firstSeen, [f.firstDetected, f.lastDetected, f.evaluatedAt].find(isInstant))
  let evidenceAt: string | undefined
  for (const f of group) evidenceAt = latest(evidenceAt, evidenceTime(f))
  let priorOppositeAt: string | undefined
  for (const f of relevant) priorOppositeAt = latest(priorOppositeAt, [open ? f.lastPassed : f.lastDetected].find(isInstant))

  const originalDetectionDate = utcDate(firstSeen ?? evidenceAt ?? options.now)
  const item: PoamItem = {
    correlationId,
    source: first.source,
    grouping: options.grouping,
    open,
    risk,
    title: weaknessTitle(first),
    weaknessName: weaknessTitle(first),
    weaknessDescription: weaknessDescription(first),
    detectorSource: DETECTOR[first.source],
    sourceIdentifier: first.source === 'vm' ? first.vuln?.qid ?? '' : first.control?.id ?? '',
    policy: first.policy === undefined ? '' : first.policy.title === undefined ? first.policy.id : `${first.policy.title} (${first.policy.id})`,
    controls: first.source === 'vm' ? [VM_NIST_CONTROL] : [first.control?.id ?? ''],
    assets,
    ciSysId,
    summary: options.grouping === Grouping.finding ? findingSummary(first, assets[0] as PoamAsset) : groupSummary(first, assets),
    remediationPlan: remediationPlan(first),
    originalDetectionDate,
    scheduledCompletionDate: scheduledCompletionDate(originalDetectionDate, risk),
    statusDate: utcDate(evidenceAt ?? options.now)
  }
  return {
    correlationId,
    item,
    payload: renderPayload(options.profile, item),
    open,
    ...(evidenceAt === undefined ? {} : { evidenceAt }),
    ...(priorOppositeAt === undefined ? {} : { priorOppositeAt }),
    findingIds: group.map((f) => f.id)
  }
}
