import { simSysId } from './hosts.js'
import type { SimRow } from './servicenow-query.js'

/**
 * The simulator's tables: definitions with a class hierarchy (a query on `cmdb_ci_server`
 * also returns `cmdb_ci_linux_server` rows, as on an instance) and rows whose values are
 * all strings. Columns a table does not define are dropped on write, as ServiceNow does.
 */

export interface TableDef {
  name: string
  label?: string
  parent?: string
  /** Columns this table defines (inherited ones come from `parent`). */
  columns: string[]
  /** Reference columns and the table they point to. */
  references?: Record<string, string>
}

/** Stamped on every row whatever the dictionary says. */
export const SYSTEM_COLUMNS = ['sys_id', 'sys_created_on', 'sys_updated_on']

/** `YYYY-MM-DD HH:mm:ss` in UTC, ServiceNow's glide date-time format. */
export function glideDateTime (ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ')
}

function toStoredString (value: unknown): string {
  if (value === null || value === undefined) return ''
  if (typeof value === 'object') {
    const ref = (value as { value?: unknown }).value
    return ref === undefined ? JSON.stringify(value) : String(ref)
  }
  return String(value)
}

function indexAdd (index: Map<string, Set<string>>, value: string, sysId: string) {
  const key = value.toLowerCase()
  const ids = index.get(key)
  if (ids === undefined) index.set(key, new Set([sysId]))
  else ids.add(sysId)
}

export class TableStore {
  private readonly defs = new Map<string, TableDef>()
  private readonly rows = new Map<string, Map<string, SimRow>>()
  private inserted = 0
  private readonly now: () => number
  /** Per physical table and field: lower-cased value -> sys_ids. Built on first use, kept up to date. */
  private readonly indexes = new Map<string, Map<string, Map<string, Set<string>>>>()

  constructor (defs: TableDef[], now: () => number = Date.now) {
    this.now = now
    for (const def of defs) {
      this.defs.set(def.name, def)
      this.rows.set(def.name, new Map())
    }
  }

  has (table: string): boolean { return this.defs.has(table) }

  definitions (): TableDef[] { return [...this.defs.values()] }

  /** The table and its ancestors, nearest first. */
  lineage (table: string): TableDef[] {
    const out: TableDef[] = []
    for (let def = this.defs.get(table); def !== undefined && out.length < 20; def = def.parent === undefined ? undefined : this.defs.get(def.parent)) {
      out.push(def)
    }
    return out
  }

  columns (table: string): Set<string> {
    const out = new Set(SYSTEM_COLUMNS)
    for (const def of this.lineage(table)) for (const c of def.columns) out.add(c)
    return out
  }

  /** The table a reference column points to, inherited definitions included. */
  referenceTarget (table: string, column: string): string | undefined {
    for (const def of this.lineage(table)) {
      const target = def.references?.[column]
      if (target !== undefined) return target
    }
    return undefined
  }

  private descendants (table: string): string[] {
    const out = [table]
    for (const def of this.defs.values()) {
      if (def.name !== table && this.lineage(def.name).some((d) => d.name === table)) out.push(def.name)
    }
    return out
  }

  /** Rows of the table and of every class extending it, in insertion order per class. */
  all (table: string): SimRow[] {
    return this.descendants(table).flatMap((t) => [...(this.rows.get(t)?.values() ?? [])])
  }

  /**
   * Rows of the table (and its subclasses) whose `field` equals one of `values`, case
   * insensitively, as an instance answers an indexed query: without scanning the table.
   */
  lookup (table: string, field: string, values: readonly string[]): SimRow[] {
    const wanted = [...new Set(values.map((v) => v.toLowerCase()))]
    const out: SimRow[] = []
    for (const t of this.descendants(table)) {
      const index = this.index(t, field)
      const rows = this.rows.get(t)
      for (const value of wanted) {
        for (const sysId of index.get(value) ?? []) {
          const row = rows?.get(sysId)
          if (row !== undefined) out.push(row)
        }
      }
    }
    return out
  }

  private index (physical: string, field: string): Map<string, Set<string>> {
    let byField = this.indexes.get(physical)
    if (byField === undefined) { byField = new Map(); this.indexes.set(physical, byField) }
    let index = byField.get(field)
    if (index === undefined) {
      index = new Map()
      for (const row of this.rows.get(physical)?.values() ?? []) indexAdd(index, row[field] ?? '', row.sys_id ?? '')
      byField.set(field, index)
    }
    return index
  }

  private reindex (physical: string, row: SimRow, change: 'add' | 'remove') {
    for (const [field, index] of this.indexes.get(physical) ?? []) {
      if (change === 'add') indexAdd(index, row[field] ?? '', row.sys_id ?? '')
      else index.get((row[field] ?? '').toLowerCase())?.delete(row.sys_id ?? '')
    }
  }

  find (table: string, sysId: string): { row: SimRow, physical: string } | undefined {
    for (const t of this.descendants(table)) {
      const row = this.rows.get(t)?.get(sysId)
      if (row !== undefined) return { row, physical: t }
    }
    return undefined
  }

  insert (table: string, values: Record<string, unknown>): SimRow {
    const columns = this.columns(table)
    const stamp = glideDateTime(this.now())
    const row: SimRow = {}
    for (const column of columns) row[column] = ''
    for (const [k, v] of Object.entries(values)) if (columns.has(k)) row[k] = toStoredString(v)
    if (row.sys_id === '' || row.sys_id === undefined) row.sys_id = simSysId('row', table, ++this.inserted)
    if (columns.has('sys_class_name')) row.sys_class_name = table
    // A given creation stamp is kept, so tests and demos can seed history.
    if (row.sys_created_on === '' || row.sys_created_on === undefined) row.sys_created_on = stamp
    row.sys_updated_on = stamp
    this.rows.get(table)?.set(row.sys_id, row)
    this.reindex(table, row, 'add')
    return row
  }

  update (table: string, sysId: string, values: Record<string, unknown>): SimRow | undefined {
    const found = this.find(table, sysId)
    if (found === undefined) return undefined
    const columns = this.columns(found.physical)
    this.reindex(found.physical, found.row, 'remove')
    for (const [k, v] of Object.entries(values)) {
      if (columns.has(k) && k !== 'sys_id' && k !== 'sys_class_name') found.row[k] = toStoredString(v)
    }
    found.row.sys_updated_on = glideDateTime(this.now())
    this.reindex(found.physical, found.row, 'add')
    return found.row
  }

  delete (table: string, sysId: string): boolean {
    const found = this.find(table, sysId)
    if (found === undefined) return false
    this.reindex(found.physical, found.row, 'remove')
    this.rows.get(found.physical)?.delete(sysId)
    return true
  }
}
