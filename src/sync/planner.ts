import { baseCorrelationId, correlationGeneration, recreatedCorrelationId, supersededCorrelationId } from '../poam/correlation.js'
import { datePart, latest, scheduledCompletionDate, utcDate } from '../poam/due-date.js'
import type { PoamItem } from '../poam/item.js'
import type { DesiredRecord } from '../poam/mapping.js'
import { FieldRole, columnOf, isClosedRecord, renderPayload, statusDateOf, type PoamProfile } from '../poam/profiles.js'

/**
 * The planner compares what Qualys says (desired records) with what ServiceNow holds
 * (existing records by correlation id) and decides the writes. It is pure: the engine
 * applies the actions, records failures, and calls it again on the next run, when an
 * unchanged world yields only noops.
 */

export interface ExistingRecord {
  sysId: string
  fields: Record<string, string>
}

export const ActionKind = { create: 'create', update: 'update', close: 'close', reopen: 'reopen', noop: 'noop' } as const
export type ActionKind = typeof ActionKind[keyof typeof ActionKind]

/** Stable reason codes: job results and tests match on them. */
export const PlanReason = {
  newWeakness: 'new-weakness',
  recurrenceNewRecord: 'recurrence-new-record',
  fieldsChanged: 'fields-changed',
  resolved: 'resolved-on-newer-evaluation',
  recurred: 'failed-again-after-close',
  unchanged: 'unchanged',
  passedWithoutRecord: 'passed-without-record',
  alreadyClosed: 'already-closed',
  evidenceNotNewer: 'evidence-not-newer',
  staleEvidence: 'stale-evidence'
} as const
export type PlanReason = typeof PlanReason[keyof typeof PlanReason]

export interface FieldChange { field: string, before: string, after: string }

export interface PlanAction {
  kind: ActionKind
  reason: PlanReason
  correlationId: string
  table: string
  /** The existing record written (update, close, reopen) or looked at (noop). */
  sysId?: string
  /** create: the whole record; update, close, reopen: the changed fields; noop: empty. */
  payload: Record<string, string>
  /** Field-level before/after of update, close and reopen. */
  changes: FieldChange[]
  findingIds: string[]
  /** A recreated record's predecessor (POAM_REOPEN=recreate). */
  supersedes?: { correlationId: string, sysId: string }
}

export interface PlanOptions {
  reopen: 'reopen' | 'recreate'
  profile: PoamProfile
  now: Date | string
}

interface Current { correlationId: string, record: ExistingRecord }

/**
 * The live record of each weakness: the highest generation among the existing records
 * of its family. `existing` must hold every generation (fetch by `STARTSWITH <base id>`),
 * otherwise a recreated record would be recreated again.
 */
function currentRecords (existing: Map<string, ExistingRecord>): Map<string, Current> {
  const current = new Map<string, Current>()
  for (const [correlationId, record] of existing) {
    const base = baseCorrelationId(correlationId)
    const seen = current.get(base)
    if (seen === undefined || correlationGeneration(correlationId) > correlationGeneration(seen.correlationId)) {
      current.set(base, { correlationId, record })
    }
  }
  return current
}

/**
 * Whether the desired record's evidence is newer than a status set on `statusDate`.
 * Status dates are days; within the same day, the evidence is newer when Qualys saw the
 * opposite state on or after that day and then this one (a pass after the failure that
 * set the status, or a failure after the pass that closed it).
 */
export function isNewerEvidence (desired: Pick<DesiredRecord, 'evidenceAt' | 'priorOppositeAt'>, statusDate: string | undefined): boolean {
  if (desired.evidenceAt === undefined) return false
  if (statusDate === undefined) return true
  const evidence = utcDate(desired.evidenceAt)
  if (evidence > statusDate) return true
  return evidence === statusDate && desired.priorOppositeAt !== undefined && utcDate(desired.priorOppositeAt) >= statusDate
}

function sameValue (profile: PoamProfile, column: string, before: string, after: string): boolean {
  const field = profile.fields.find((f) => f.column === column)
  if (field?.kind === 'date') return (datePart(before) ?? before) === (datePart(after) ?? after)
  return before === after
}

function diff (profile: PoamProfile, rendered: Record<string, string>, fields: Record<string, string>): FieldChange[] {
  const changes: FieldChange[] = []
  for (const [field, after] of Object.entries(rendered)) {
    const before = fields[field] ?? ''
    if (!sameValue(profile, field, before, after)) changes.push({ field, before, after })
  }
  return changes
}

export function plan (desired: Map<string, DesiredRecord> | Iterable<DesiredRecord>, existing: Map<string, ExistingRecord>, options: PlanOptions): PlanAction[] {
  const { profile } = options
  const current = currentRecords(existing)
  const originalColumn = columnOf(profile, FieldRole.originalDetection)
  const statusDateColumn = columnOf(profile, FieldRole.statusDate)
  const records = desired instanceof Map ? [...desired.values()] : [...desired]
  records.sort((a, b) => a.correlationId.localeCompare(b.correlationId))

  return records.map((d): PlanAction => {
    const base = { table: profile.table, findingIds: d.findingIds }
    const found = current.get(baseCorrelationId(d.correlationId))
    if (found === undefined) {
      if (!d.open) return { ...base, kind: 'noop', reason: PlanReason.passedWithoutRecord, correlationId: d.correlationId, payload: {}, changes: [] }
      return { ...base, kind: 'create', reason: PlanReason.newWeakness, correlationId: d.correlationId, payload: renderPayload(profile, d.item), changes: [] }
    }

    const { correlationId, record } = found
    const on = { ...base, correlationId, sysId: record.sysId }
    const closed = isClosedRecord(profile, record.fields)
    const statusDate = statusDateOf(profile, record.fields)
    const evidenceDate = d.evidenceAt === undefined ? undefined : utcDate(d.evidenceAt)
    const noop = (reason: PlanReason): PlanAction => ({ ...on, kind: 'noop', reason, payload: {}, changes: [] })

    // The original detection date never moves once a record has one: the clock keeps running.
    // Rendering with the kept date makes the column (and the due date) agree with the record.
    const keptOriginal = originalColumn === undefined ? undefined : datePart(record.fields[originalColumn])
    const render = (overrides: Partial<PoamItem>): Record<string, string> => {
      const original = overrides.originalDetectionDate ?? keptOriginal ?? d.item.originalDetectionDate
      const supersedes = supersededCorrelationId(overrides.correlationId ?? correlationId)
      return renderPayload(profile, {
        ...d.item,
        correlationId,
        ...(supersedes === undefined ? {} : { supersedes }),
        originalDetectionDate: original,
        scheduledCompletionDate: scheduledCompletionDate(original, d.item.risk),
        ...overrides
      })
    }
    const write = (kind: ActionKind, reason: PlanReason, changes: FieldChange[]): PlanAction =>
      ({ ...on, kind, reason, payload: Object.fromEntries(changes.map((c) => [c.field, c.after])), changes })

    if (closed) {
      if (!d.open) return noop(PlanReason.alreadyClosed)
      if (!isNewerEvidence(d, statusDate)) return noop(PlanReason.evidenceNotNewer)
      const reopenedOn = evidenceDate as string
      if (options.reopen === 'reopen') {
        return write('reopen', PlanReason.recurred, diff(profile, render({ open: true, statusDate: reopenedOn }), record.fields))
      }
      // A recurrence is a new item: its clock starts no earlier than the closure it follows.
      const next = recreatedCorrelationId(correlationId)
      const original = latest(d.item.originalDetectionDate, statusDate) as string
      return {
        ...base,
        kind: 'create',
        reason: PlanReason.recurrenceNewRecord,
        correlationId: next,
        payload: render({ correlationId: next, supersedes: correlationId, open: true, originalDetectionDate: original, statusDate: reopenedOn }),
        changes: [],
        supersedes: { correlationId, sysId: record.sysId }
      }
    }

    if (!d.open) {
      if (!isNewerEvidence(d, statusDate)) return noop(PlanReason.evidenceNotNewer)
      return write('close', PlanReason.resolved, diff(profile, render({ open: false, statusDate: evidenceDate as string }), record.fields))
    }

    // Open and still failing: refresh what changed, but never on evidence older than the record's status.
    if (statusDate !== undefined && evidenceDate !== undefined && evidenceDate < statusDate) return noop(PlanReason.staleEvidence)
    const nextStatusDate = latest(statusDate, evidenceDate) ?? d.item.statusDate
    const changes = diff(profile, render({ statusDate: nextStatusDate }), record.fields)
    // The status date alone is no change: otherwise every new scan would rewrite every record.
    if (changes.every((c) => c.field === statusDateColumn)) return noop(PlanReason.unchanged)
    return write('update', PlanReason.fieldsChanged, changes)
  })
}

export interface ClosureGuardOptions {
  /** Open POA&M records when the run started. */
  openCount: number
  maxPerRun: number
  maxPercent: number
  /** Closures already allowed earlier in the same run (the engine plans page by page). */
  closedSoFar?: number
}

export interface ClosureGuardResult {
  allowed: PlanAction[]
  withheld: PlanAction[]
  tripped: boolean
}

/**
 * Caps closures per run (CLOSE_MAX_PER_RUN, and CLOSE_MAX_PERCENT of the open records):
 * a mass closure more likely means a partial or wrong download than a mass fix. Closures
 * past the cap are withheld, in plan order, and listed so the job can report them; a
 * later run closes them once the cap allows.
 */
export function applyClosureGuard (actions: readonly PlanAction[], options: ClosureGuardOptions): ClosureGuardResult {
  const cap = Math.min(options.maxPerRun, Math.floor((Math.max(0, options.openCount) * options.maxPercent) / 100))
  let room = Math.max(0, cap - (options.closedSoFar ?? 0))
  const allowed: PlanAction[] = []
  const withheld: PlanAction[] = []
  for (const action of actions) {
    if (action.kind !== 'close') allowed.push(action)
    else if (room > 0) {
      allowed.push(action)
      room--
    } else withheld.push(action)
  }
  return { allowed, withheld, tripped: withheld.length > 0 }
}
