import { isQssError } from '../errors.js'
import type { Risk } from '../findings/model.js'
import type { ServiceNowClient } from './client.js'
import { chunk, MAX_IN_VALUES, q } from './query.js'
import { WriteBatcher, type RecordWriter } from './write-batcher.js'

/**
 * CI tags in `cmdb_key_value` (one row per CI and key, as cloud discovery and tag
 * governance use them): `qualys_risk_tier` = the highest open risk on the CI,
 * `qualys_failed_policies` = its failing policy IDs, sorted. Existing rows are read in one
 * IN query per chunk of CIs and only differences are written; a CI with no open finding
 * loses both rows. Duplicate rows for one key (left by other tools) are collapsed.
 */

export const TAG_TABLE = 'cmdb_key_value'
export const TAG_KEYS = { riskTier: 'qualys_risk_tier', failedPolicies: 'qualys_failed_policies' } as const

export interface DesiredTags {
  riskTier?: Risk
  failedPolicies: readonly string[]
}

export interface TagResult {
  created: number
  updated: number
  deleted: number
  unchanged: number
  /** Writes that failed; the other CIs are still tagged. */
  errors: Array<{ ciSysId: string, key: string, code: string, message: string }>
}

export interface CiTagger {
  apply (desired: ReadonlyMap<string, DesiredTags>): Promise<TagResult>
}

const SYS_ID = /^[0-9a-f]{32}$/

function desiredValues (tags: DesiredTags): Record<string, string | undefined> {
  const policies = [...new Set(tags.failedPolicies)].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
  return {
    [TAG_KEYS.riskTier]: tags.riskTier,
    [TAG_KEYS.failedPolicies]: policies.length > 0 ? policies.join(',') : undefined
  }
}

export interface CiTaggerOptions {
  client: ServiceNowClient
  /**
   * How tag rows are written. Tag rows are small and many (two per CI), so by default they
   * share Batch API calls of up to 50 over four lanes.
   */
  writer?: RecordWriter
}

export function createCiTagger (options: CiTaggerOptions): CiTagger {
  const { client } = options
  const writer = options.writer ?? new WriteBatcher({ client, maxItems: 50, lanes: 4 })

  async function existing (ciIds: string[]): Promise<Map<string, Array<Record<string, string>>>> {
    const byCiKey = new Map<string, Array<Record<string, string>>>()
    for (const part of chunk(ciIds, MAX_IN_VALUES)) {
      const query = q().in('configuration_item', part).in('key', Object.values(TAG_KEYS))
      for await (const page of client.listPages(TAG_TABLE, { query, fields: ['configuration_item', 'key', 'value'] })) {
        for (const row of page) {
          const id = `${row.configuration_item ?? ''}|${row.key ?? ''}`
          byCiKey.set(id, [...(byCiKey.get(id) ?? []), row])
        }
      }
    }
    return byCiKey
  }

  return {
    async apply (desired) {
      const result: TagResult = { created: 0, updated: 0, deleted: 0, unchanged: 0, errors: [] }
      const ciIds = [...desired.keys()].filter((id) => {
        if (SYS_ID.test(id)) return true
        result.errors.push({ ciSysId: id, key: '*', code: 'QSS_QUERY_UNSAFE_VALUE', message: 'not a sys_id' })
        return false
      })
      if (ciIds.length === 0) return result
      const current = await existing(ciIds)

      type Kind = 'created' | 'updated' | 'deleted'
      const writes: Array<{ ciSysId: string, key: string, kind: Kind, write: () => Promise<unknown> }> = []
      for (const ciSysId of ciIds) {
        for (const [key, value] of Object.entries(desiredValues(desired.get(ciSysId) as DesiredTags))) {
          const rows = current.get(`${ciSysId}|${key}`) ?? []
          const [first, ...extra] = rows
          const stale = value === undefined ? rows : extra
          for (const row of stale) writes.push({ ciSysId, key, kind: 'deleted', write: async () => await writer.remove(TAG_TABLE, row.sys_id ?? '') })
          if (value === undefined) continue
          if (first === undefined) {
            writes.push({ ciSysId, key, kind: 'created', write: async () => await writer.create(TAG_TABLE, { configuration_item: ciSysId, key, value }) })
          } else if (first.value === value) {
            result.unchanged++
          } else {
            writes.push({ ciSysId, key, kind: 'updated', write: async () => await writer.update(TAG_TABLE, first.sys_id ?? '', { value }) })
          }
        }
      }
      // Issued together, so the writer batches them. A failed write is recorded and the
      // rest still apply; the next sync retries it, since tags are diffed. A row already
      // deleted by someone else counts as deleted.
      const settled = await Promise.allSettled(writes.map(async (w) => await w.write()))
      settled.forEach((outcome, i) => {
        const w = writes[i] as typeof writes[number]
        if (outcome.status === 'fulfilled') {
          result[w.kind]++
          return
        }
        const err = outcome.reason as Error
        result.errors.push({ ciSysId: w.ciSysId, key: w.key, code: isQssError(err) ? err.code : 'QSS_SERVICENOW_UNAVAILABLE', message: `${w.kind}: ${err.message}` })
      })
      return result
    }
  }
}
