import type { Config } from '../config.js'
import { Risk } from '../findings/model.js'
import { datePart } from './due-date.js'
import { FIELD_MAP_ERROR, loadFieldMap, type FieldMap } from './field-map.js'
import type { PoamItem } from './item.js'
import { QssError } from '../errors.js'
import { assetIdentifier, fullDescription, shortDescription } from './text.js'

/**
 * Mapping profiles: which table a POA&M goes to and how each column is produced from a
 * `PoamItem`. The planner and the repository only see `Record<string, string>` payloads;
 * the roles tell the planner which columns carry the correlation id, the status and the
 * dates it must treat specially.
 */
export const ProfileName = { custom: 'custom', grc: 'grc' } as const
export type ProfileName = typeof ProfileName[keyof typeof ProfileName]

export const FieldRole = {
  correlation: 'correlation',
  status: 'status',
  originalDetection: 'originalDetection',
  scheduledCompletion: 'scheduledCompletion',
  statusDate: 'statusDate',
  closeNotes: 'closeNotes',
  /** Holds the risk label (High/Moderate/Low): read back for the open-POA&M-by-risk metric. */
  risk: 'risk'
} as const
export type FieldRole = typeof FieldRole[keyof typeof FieldRole]

export interface PoamField {
  /** The profile's default column name: the key a field map refers to. */
  key: string
  /** The column written (the key unless a field map renamed it). */
  column: string
  /** `date` columns are written `YYYY-MM-DD` and compared on their date part only. */
  kind: 'text' | 'date'
  role?: FieldRole
  produce: (item: PoamItem, profile: PoamProfile) => string
}

export interface PoamProfile {
  name: ProfileName
  table: string
  correlationField: string
  statusField: string
  statusValues: { open: string, closed: string }
  fields: readonly PoamField[]
}

type FieldDef = Omit<PoamField, 'column'>

const text = (key: string, produce: FieldDef['produce'], role?: FieldRole): FieldDef =>
  role === undefined ? { key, kind: 'text', produce } : { key, kind: 'text', role, produce }
const date = (key: string, produce: FieldDef['produce'], role: FieldRole): FieldDef => ({ key, kind: 'date', role, produce })
const status: FieldDef['produce'] = (item, profile) => item.open ? profile.statusValues.open : profile.statusValues.closed

/** FedRAMP-aligned custom table (`u_poam_table`), the reference workflow's target. */
const CUSTOM_FIELDS: readonly FieldDef[] = [
  text('short_description', (i) => shortDescription(i)),
  text('description', (i) => fullDescription(i)),
  text('cmdb_ci', (i) => i.ciSysId),
  text('risk_rating', (i) => i.risk, FieldRole.risk),
  text('status', status, FieldRole.status),
  text('u_correlation_id', (i) => i.correlationId, FieldRole.correlation),
  text('u_weakness_name', (i) => i.weaknessName),
  text('u_weakness_description', (i) => i.weaknessDescription),
  text('u_weakness_detector_source', (i) => i.detectorSource),
  text('u_weakness_source_identifier', (i) => i.sourceIdentifier),
  text('u_asset_identifier', (i) => assetIdentifier(i.assets)),
  text('u_policy', (i) => i.policy),
  text('u_controls', (i) => i.controls.join(', ')),
  date('u_original_detection_date', (i) => i.originalDetectionDate, FieldRole.originalDetection),
  date('u_scheduled_completion_date', (i) => i.scheduledCompletionDate, FieldRole.scheduledCompletion),
  date('u_status_date', (i) => i.statusDate, FieldRole.statusDate),
  text('u_remediation_plan', (i) => i.remediationPlan)
]

/**
 * `sn_grc_issue` state and priority choices (out-of-box stored values): state 1 = New
 * (open), 3 = Closed; priority 2 = High, 3 = Moderate, 4 = Low (1 = Critical is left for
 * people to set). Instances with another state model override `status` in the field map.
 */
const GRC_PRIORITY: Record<Risk, string> = { [Risk.High]: '2', [Risk.Moderate]: '3', [Risk.Low]: '4' }

/** GRC issue columns only: what the custom table spreads over `u_` columns goes into the description. */
const GRC_FIELDS: readonly FieldDef[] = [
  text('short_description', (i) => shortDescription(i)),
  text('description', (i) => fullDescription(i, { withDetails: true })),
  text('state', status, FieldRole.status),
  text('priority', (i) => GRC_PRIORITY[i.risk]),
  text('issue_rating', (i) => i.risk, FieldRole.risk),
  date('planned_end_date', (i) => i.scheduledCompletionDate, FieldRole.scheduledCompletion),
  text('weakness_description', (i) => i.weaknessDescription),
  text('cmdb_ci', (i) => i.ciSysId),
  text('correlation_id', (i) => i.correlationId, FieldRole.correlation),
  date('opened_at', (i) => i.originalDetectionDate, FieldRole.originalDetection),
  text('close_notes', (i) => i.open ? '' : `Closed: ${i.detectorSource} reported the weakness ${i.source === 'vm' ? 'Fixed' : 'Passed'} on ${i.statusDate}.`, FieldRole.closeNotes)
]

const BASE: Record<ProfileName, { table: string, status: { open: string, closed: string }, fields: readonly FieldDef[] }> = {
  custom: { table: 'u_poam_table', status: { open: 'Open', closed: 'Closed' }, fields: CUSTOM_FIELDS },
  grc: { table: 'sn_grc_issue', status: { open: '1', closed: '3' }, fields: GRC_FIELDS }
}

/** Roles the planner cannot work without: a field map may rename them, never drop or fix them. */
const REQUIRED_ROLES: readonly FieldRole[] = [FieldRole.correlation, FieldRole.status]

function invalid (key: string, problem: string): never {
  throw new QssError(FIELD_MAP_ERROR, `POAM_FIELD_MAP_FILE: fields.${key}: ${problem}`, { details: { key } })
}

/** Builds a profile, applying a field map's table, status values and column overrides. */
export function resolveProfile (options: { profile: ProfileName, table?: string, fieldMap?: FieldMap }): PoamProfile {
  const base = BASE[options.profile]
  const map = options.fieldMap ?? { fields: {} }
  const profile: PoamProfile = {
    name: options.profile,
    table: map.table ?? options.table ?? base.table,
    correlationField: '',
    statusField: '',
    statusValues: { ...base.status, ...map.status },
    fields: []
  }
  const fields: PoamField[] = []
  const known = new Set(base.fields.map((f) => f.key))
  for (const def of base.fields) {
    const override = map.fields[def.key]
    if (override === undefined) {
      fields.push({ ...def, column: def.key })
      continue
    }
    const required = def.role !== undefined && REQUIRED_ROLES.includes(def.role)
    if (override.kind === 'drop') {
      if (required) invalid(def.key, `the ${def.role} column cannot be dropped (rename it instead)`)
      continue
    }
    if (override.kind === 'rename') {
      fields.push({ ...def, column: override.column })
      continue
    }
    if (required) invalid(def.key, `the ${def.role} column cannot be a constant`)
    fields.push({ ...def, column: override.column ?? def.key, produce: () => override.value })
  }
  for (const [key, override] of Object.entries(map.fields)) {
    if (known.has(key)) continue
    if (override.kind !== 'constant') invalid(key, `not a ${options.profile} profile column; only {"value": ...} can add a column`)
    fields.push({ key, column: override.column ?? key, kind: 'text', produce: () => override.value })
  }
  const seen = new Set<string>()
  for (const field of fields) {
    if (seen.has(field.column)) invalid(field.key, `column "${field.column}" is written twice`)
    seen.add(field.column)
  }
  profile.fields = fields
  profile.correlationField = columnOf(profile, FieldRole.correlation) as string
  profile.statusField = columnOf(profile, FieldRole.status) as string
  return profile
}

/**
 * The profile the configuration selects. POAM_TABLE applies unless it was left at the
 * custom default while the `grc` profile is chosen; a field map's `table` wins over both.
 */
export function profileFromConfig (config: Pick<Config, 'POAM_PROFILE' | 'POAM_TABLE' | 'POAM_FIELD_MAP_FILE'>): PoamProfile {
  const fieldMap = config.POAM_FIELD_MAP_FILE === undefined ? undefined : loadFieldMap(config.POAM_FIELD_MAP_FILE)
  const tableIsDefault = config.POAM_TABLE === BASE.custom.table && config.POAM_PROFILE !== ProfileName.custom
  return resolveProfile({
    profile: config.POAM_PROFILE,
    ...(tableIsDefault ? {} : { table: config.POAM_TABLE }),
    ...(fieldMap === undefined ? {} : { fieldMap })
  })
}

/** Every column the profile writes: checked against `sys_dictionary` at start. */
export function targetFields (profile: PoamProfile): string[] {
  return profile.fields.map((f) => f.column)
}

export function columnOf (profile: PoamProfile, role: FieldRole): string | undefined {
  return profile.fields.find((f) => f.role === role)?.column
}

export function renderPayload (profile: PoamProfile, item: PoamItem): Record<string, string> {
  const payload: Record<string, string> = {}
  for (const field of profile.fields) payload[field.column] = field.produce(item, profile)
  return payload
}

export function isClosedRecord (profile: PoamProfile, fields: Record<string, string>): boolean {
  return fields[profile.statusField] === profile.statusValues.closed
}

/**
 * The date of a record's last status change, which new evidence must be newer than:
 * the status-date column when the profile has one, else (GRC) the date in the close notes
 * of a closed record, else the original detection date.
 */
export function statusDateOf (profile: PoamProfile, fields: Record<string, string>): string | undefined {
  const statusDate = columnOf(profile, FieldRole.statusDate)
  const stated = statusDate === undefined ? undefined : datePart(fields[statusDate])
  if (stated !== undefined) return stated
  const notes = columnOf(profile, FieldRole.closeNotes)
  if (notes !== undefined && isClosedRecord(profile, fields)) {
    const found = /\d{4}-\d{2}-\d{2}/.exec(fields[notes] ?? '')?.[0]
    if (found !== undefined) return datePart(found)
  }
  const original = columnOf(profile, FieldRole.originalDetection)
  return original === undefined ? undefined : datePart(fields[original])
}
