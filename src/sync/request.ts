import { listSetting, type Config } from '../config.js'
import { QssError } from '../errors.js'
import type { SyncRequest, SyncSource } from './job-model.js'

export interface SyncRequestBody {
  policyIds?: string[]
  sources?: SyncSource[]
  dryRun?: boolean
  full?: boolean
}

/** Fills a `POST /sync` body from the configured defaults and rejects what cannot run. */
export function resolveSyncRequest (body: SyncRequestBody, config: Config): SyncRequest {
  if (config.QUALYS_BASE_URL === undefined || config.SERVICENOW_URL === undefined) {
    throw new QssError('QSS_UPSTREAM_NOT_CONFIGURED', 'Set QUALYS_BASE_URL and SERVICENOW_URL (with their credentials) before syncing', { statusCode: 503 })
  }
  const sources: SyncSource[] = body.sources ?? (config.QUALYS_VM_ENABLED ? ['pc', 'vm'] : ['pc'])
  const policyIds = [...new Set(body.policyIds ?? listSetting(config.QUALYS_POLICY_IDS))]
  if (sources.includes('pc') && policyIds.length === 0) {
    throw new QssError('QSS_SYNC_NO_POLICIES', 'No policy to sync: pass policyIds, or set QUALYS_POLICY_IDS', { statusCode: 400 })
  }
  return { policyIds: sources.includes('pc') ? policyIds : [], sources, dryRun: body.dryRun ?? false, full: body.full ?? false }
}
