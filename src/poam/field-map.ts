import { readFileSync } from 'node:fs'
import { QssError } from '../errors.js'

/**
 * The operator's adjustments to a mapping profile, read from POAM_FIELD_MAP_FILE:
 *
 * ```json
 * {
 *   "table": "x_acme_poam",
 *   "status": { "open": "1", "closed": "3" },
 *   "fields": {
 *     "u_policy": "u_policy_name",           // rename the column
 *     "u_controls": null,                     // do not write it
 *     "u_remediation_plan": { "value": "See runbook RB-12" },               // constant
 *     "assignment_group": { "value": "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6" }  // extra column
 *   }
 * }
 * ```
 * Keys of `fields` are the profile's default column names; an unknown key must be a
 * constant (it adds a column). A constant may also carry `"column"` to rename.
 */
export interface FieldMap {
  table?: string
  status?: { open?: string, closed?: string }
  fields: Record<string, FieldOverride>
}

export type FieldOverride =
  | { kind: 'rename', column: string }
  | { kind: 'drop' }
  | { kind: 'constant', column?: string, value: string }

const COLUMN = /^[a-z][a-z0-9_]*$/
const TOP_KEYS = new Set(['table', 'status', 'fields'])

export const FIELD_MAP_ERROR = 'QSS_CONFIG_FIELD_MAP'

function fail (file: string, key: string, problem: string): never {
  throw new QssError(FIELD_MAP_ERROR, `POAM_FIELD_MAP_FILE ${file}: ${key}: ${problem}`, { details: { file, key } })
}

function isObject (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Reads and validates a field-map file; every error names the offending key. */
export function loadFieldMap (file: string): FieldMap {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    return fail(file, '(file)', `cannot read (${(err as NodeJS.ErrnoException).code ?? 'error'})`)
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (err) {
    return fail(file, '(file)', `not valid JSON (${(err as Error).message})`)
  }
  return parseFieldMap(json, file)
}

/** Validates an already-parsed field map; `source` names it in errors. */
export function parseFieldMap (json: unknown, source = '(inline)'): FieldMap {
  if (!isObject(json)) fail(source, '(root)', 'must be a JSON object')
  for (const key of Object.keys(json)) {
    if (!TOP_KEYS.has(key)) fail(source, key, 'unknown key (allowed: table, status, fields)')
  }
  const map: FieldMap = { fields: {} }
  if (json.table !== undefined) {
    if (typeof json.table !== 'string' || !COLUMN.test(json.table)) fail(source, 'table', 'must be a table name ([a-z][a-z0-9_]*)')
    map.table = json.table
  }
  if (json.status !== undefined) {
    if (!isObject(json.status)) fail(source, 'status', 'must be an object with "open" and/or "closed"')
    map.status = {}
    for (const [key, value] of Object.entries(json.status)) {
      if (key !== 'open' && key !== 'closed') fail(source, `status.${key}`, 'unknown key (allowed: open, closed)')
      if (typeof value !== 'string' || value === '') fail(source, `status.${key}`, 'must be a non-empty string')
      map.status[key] = value
    }
    if (map.status.open !== undefined && map.status.open === map.status.closed) fail(source, 'status', 'open and closed values must differ')
  }
  if (json.fields !== undefined) {
    if (!isObject(json.fields)) fail(source, 'fields', 'must be an object')
    for (const [key, value] of Object.entries(json.fields)) {
      const name = `fields.${key}`
      if (!COLUMN.test(key)) fail(source, name, 'not a column name ([a-z][a-z0-9_]*)')
      map.fields[key] = parseOverride(value, source, name)
    }
  }
  return map
}

function parseOverride (value: unknown, source: string, name: string): FieldOverride {
  if (value === null) return { kind: 'drop' }
  if (typeof value === 'string') {
    if (!COLUMN.test(value)) fail(source, name, `target column "${value}" is not a column name ([a-z][a-z0-9_]*)`)
    return { kind: 'rename', column: value }
  }
  if (isObject(value)) {
    for (const key of Object.keys(value)) {
      if (key !== 'value' && key !== 'column') fail(source, `${name}.${key}`, 'unknown key (allowed: value, column)')
    }
    if (typeof value.value !== 'string') fail(source, `${name}.value`, 'must be a string (ServiceNow values are strings)')
    if (value.column === undefined) return { kind: 'constant', value: value.value }
    if (typeof value.column !== 'string' || !COLUMN.test(value.column)) fail(source, `${name}.column`, 'not a column name ([a-z][a-z0-9_]*)')
    return { kind: 'constant', column: value.column, value: value.value }
  }
  return fail(source, name, 'must be a column name (rename), null (drop) or {"value": "..."} (constant)')
}
