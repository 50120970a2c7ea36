import type { ServiceNowClient } from './client.js'
import { validateTableFields } from './dictionary.js'
import { chunk, MAX_IN_VALUES, q } from './query.js'
import { directWriter, type RecordWriter } from './write-batcher.js'

/**
 * POA&M records in ServiceNow, whatever the table and field names (the mapping profile
 * decides those): payloads are plain `field → string` maps keyed by a correlation-id
 * column. Closing and reopening are updates of the profile's status fields. There is no
 * native upsert: the caller finds existing records first (one IN query per chunk of ids)
 * and creates only what is missing.
 */

export interface PoamRecord {
  sysId: string
  fields: Record<string, string>
  /** Other records carrying the same correlation id (older first), if any. */
  duplicates?: Array<{ sysId: string, fields: Record<string, string> }>
}

export interface PoamRepository {
  readonly table: string
  readonly correlationField: string
  /**
   * Existing records by correlation id, with `fields` limited to those asked for (the
   * correlation field always included). With duplicates, the newest record is returned.
   */
  findByCorrelationIds (ids: readonly string[], fields?: readonly string[]): Promise<Map<string, PoamRecord>>
  create (payload: Readonly<Record<string, string>>): Promise<PoamRecord>
  /** Writes only `changed`; no call at all when it is empty. Returns whether a call was made. */
  update (sysId: string, changed: Readonly<Record<string, string>>): Promise<boolean>
  /** Configured fields the table lacks, read from sys_dictionary (empty: all exist). */
  validateTableFields (fieldNames: readonly string[]): Promise<string[]>
}

export interface PoamRepositoryOptions {
  client: ServiceNowClient
  table: string
  correlationField: string
  /** How creates and updates are sent (default: one Table API call each; a WriteBatcher batches them). */
  writer?: RecordWriter
}

export function createPoamRepository (options: PoamRepositoryOptions): PoamRepository {
  const { client, table, correlationField } = options
  const writer = options.writer ?? directWriter(client)
  const withoutSysId = (row: Record<string, string>) => {
    const { sys_id: _sysId, ...rest } = row
    return rest
  }

  return {
    table,
    correlationField,
    async findByCorrelationIds (ids, fields) {
      const found = new Map<string, PoamRecord>()
      const shown = fields === undefined ? undefined : [...new Set([correlationField, ...fields])]
      const project = (row: Record<string, string>) =>
        shown === undefined ? withoutSysId(row) : Object.fromEntries(shown.map((f) => [f, row[f] ?? '']))
      // The instance may compare case-insensitively: answers are filed under the id as asked.
      const asked = new Map([...new Set(ids)].map((id) => [id.toLowerCase(), id]))
      // Chunks are independent: ask them together (the client's limiter bounds the calls).
      const pages = await Promise.all(chunk([...asked.values()], MAX_IN_VALUES).map(async (part) => {
        const query = q().in(correlationField, part).orderBy('sys_created_on').orderBy('sys_id')
        const listFields = shown === undefined ? {} : { fields: [...shown, 'sys_created_on'] }
        return await client.list(table, { query, ...listFields })
      }))
      for (const row of pages.flat()) {
        const id = asked.get((row[correlationField] ?? '').toLowerCase())
        if (id === undefined) continue
        const record: PoamRecord = { sysId: row.sys_id ?? '', fields: project(row) }
        // Rows of one id come oldest first (one chunk holds all of them), so the last one seen is the newest.
        const previous = found.get(id)
        if (previous !== undefined) {
          const { duplicates = [], ...older } = previous
          record.duplicates = [...duplicates, older]
        }
        found.set(id, record)
      }
      return found
    },
    async create (payload) {
      const row = await writer.create(table, payload)
      return { sysId: row.sys_id ?? '', fields: withoutSysId(row) }
    },
    async update (sysId, changed) {
      if (Object.keys(changed).length === 0) return false
      await writer.update(table, sysId, changed)
      return true
    },
    validateTableFields: async (fieldNames) => await validateTableFields(client, table, fieldNames)
  }
}
