import type { Config } from '../config.js'
import { QssError } from '../errors.js'
import type { CiMatch } from '../findings/model.js'
import type { FindingsFilter, FindingsStore, StoredFinding } from '../findings/store.js'
import { buildDesiredRecords, type SkippedFinding } from '../poam/mapping.js'
import { baseCorrelationId } from '../poam/correlation.js'
import type { PoamProfile } from '../poam/profiles.js'
import { plan, type ActionKind, type FieldChange, type PlanReason } from './planner.js'
import type { PoamRecordsPort } from './ports.js'

export interface PreviewItem {
  correlationId: string
  action: ActionKind
  reason: PlanReason
  table: string
  sysId?: string
  /** Exactly what the next sync would send: the whole record (create) or the changed fields. */
  send: Record<string, string>
  changes: FieldChange[]
  /** The record as Qualys describes it now, every profile field. */
  record: Record<string, string>
  findingIds: string[]
}

export interface Preview {
  items: PreviewItem[]
  skipped: SkippedFinding[]
  findingsConsidered: number
}

export interface PreviewDeps {
  config: Config
  profile: PoamProfile
  findings: FindingsStore
  records: PoamRecordsPort
  now?: () => Date
}

export const MAX_PREVIEW_FINDINGS = 500

/**
 * What the next sync would do for some findings, read against the live ServiceNow
 * records: the same mapping and planner the engine runs, with no write. With control
 * grouping every finding of a touched group is read, since the record covers them all.
 */
export async function previewPoams (deps: PreviewDeps, selection: { findingIds?: string[], filter?: FindingsFilter }): Promise<Preview> {
  const { config, profile, findings, records } = deps
  const now = (deps.now ?? (() => new Date()))()
  let selected: StoredFinding[]
  if (selection.findingIds !== undefined) {
    if (selection.findingIds.length > MAX_PREVIEW_FINDINGS) {
      throw new QssError('QSS_REQUEST_INVALID', `At most ${MAX_PREVIEW_FINDINGS} finding ids per preview`, { statusCode: 400 })
    }
    selected = await findings.getMany(selection.findingIds)
    const missing = selection.findingIds.filter((id) => !selected.some((f) => f.id === id))
    if (missing.length > 0) {
      throw new QssError('QSS_FINDING_NOT_FOUND', `Unknown finding ids: ${missing.slice(0, 10).join(', ')}${missing.length > 10 ? ', ...' : ''}`, { statusCode: 404 })
    }
  } else {
    selected = (await findings.query(selection.filter ?? {}, { limit: MAX_PREVIEW_FINDINGS })).items
  }
  const considered = config.POAM_GROUPING === 'control' ? await wholeGroups(findings, selected) : selected
  const matches = new Map<string, CiMatch>()
  for (const f of considered) if (f.ciMatch !== undefined) matches.set(f.host.qualysHostId, f.ciMatch)
  const grouping = considered.some((f) => f.source === 'vm') ? 'finding' : config.POAM_GROUPING
  const { records: desired, skipped } = buildDesiredRecords(considered, matches, { profile, grouping, unmatched: config.POAM_UNMATCHED, now })
  const existing = desired.size === 0 ? new Map() : await records.findByCorrelationIds([...desired.keys()])
  const actions = plan(desired, existing, { reopen: config.POAM_REOPEN, profile, now })
  const items = actions.map((a): PreviewItem => {
    // A recreated record's id carries a generation suffix; its desired record is keyed by the base id.
    const d = desired.get(baseCorrelationId(a.correlationId))
    const item: PreviewItem = {
      correlationId: a.correlationId,
      action: a.kind,
      reason: a.reason,
      table: a.table,
      send: a.payload,
      changes: a.changes,
      record: a.kind === 'create' ? a.payload : d?.payload ?? a.payload,
      findingIds: a.findingIds
    }
    if (a.sysId !== undefined) item.sysId = a.sysId
    return item
  })
  return { items, skipped, findingsConsidered: considered.length }
}

async function wholeGroups (findings: FindingsStore, selected: StoredFinding[]): Promise<StoredFinding[]> {
  const byId = new Map(selected.map((f) => [f.id, f]))
  const groups = new Set(selected.filter((f) => f.policy !== undefined && f.control !== undefined).map((f) => `${f.policy?.id}\u001f${f.control?.id}`))
  for (const key of groups) {
    const [policyId, controlId] = key.split('\u001f') as [string, string]
    let cursor: string | undefined
    do {
      const page = await findings.query({ policyId, controlId }, cursor === undefined ? { limit: 500 } : { limit: 500, cursor })
      for (const f of page.items) byId.set(f.id, f)
      cursor = page.nextCursor
    } while (cursor !== undefined && byId.size < 10 * MAX_PREVIEW_FINDINGS)
  }
  return [...byId.values()]
}
