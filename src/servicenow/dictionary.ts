import { QssError } from '../errors.js'
import type { ServiceNowClient } from './client.js'
import { q } from './query.js'

/**
 * Reads a table's columns from `sys_dictionary`, inherited ones included (parents come
 * from `sys_db_object.super_class`, e.g. `task` for `sn_grc_issue`, `cmdb_ci` for server
 * classes). An instance silently drops fields a table lacks, so writing to a misspelt or
 * missing column loses data without an error: configured fields are checked here first.
 */

const MAX_DEPTH = 10

/**
 * The table and its ancestors, nearest first, and whether sys_db_object knows the table
 * (just the table, unknown, when sys_db_object is not readable).
 */
async function lineage (client: ServiceNowClient, table: string): Promise<{ tables: string[], known: boolean }> {
  const tables = [table]
  const [self] = await client.list('sys_db_object', { query: q().eq('name', table), fields: ['name', 'super_class'], limit: 1 })
  let current = self
  while (current !== undefined && (current.super_class ?? '') !== '' && tables.length < MAX_DEPTH) {
    const parent = await client.get('sys_db_object', current.super_class ?? '', ['name', 'super_class'])
    if (parent?.name === undefined || parent.name === '' || tables.includes(parent.name)) break
    tables.push(parent.name)
    current = parent
  }
  return { tables, known: self !== undefined }
}

export async function tableColumns (client: ServiceNowClient, table: string): Promise<Set<string>> {
  const { tables, known } = await lineage(client, table)
  const rows = await client.list('sys_dictionary', { query: q().in('name', tables).isNotEmpty('element'), fields: ['name', 'element'] })
  if (!known && !rows.some((r) => r.name === table)) {
    throw new QssError('QSS_SERVICENOW_SCHEMA', `ServiceNow knows no table "${table}" (sys_db_object, sys_dictionary): the table does not exist or the integration user cannot read them`, {
      statusCode: 502,
      details: { table }
    })
  }
  return new Set(rows.map((r) => r.element ?? ''))
}

/** The configured fields the table does not have (empty when all exist). */
export async function validateTableFields (client: ServiceNowClient, table: string, fieldNames: readonly string[]): Promise<string[]> {
  const columns = await tableColumns(client, table)
  return [...new Set(fieldNames)].filter((f) => !columns.has(f)).sort()
}
