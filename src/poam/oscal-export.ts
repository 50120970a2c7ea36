import type { Config } from '../config.js'
import { QssError } from '../errors.js'
import type { CiMatch } from '../findings/model.js'
import type { FindingsFilter, FindingsStore, StoredFinding } from '../findings/store.js'
import { buildDesiredRecords } from './mapping.js'
import { toOscalPoam } from './oscal.js'
import type { PoamProfile } from './profiles.js'

/** Findings one export may read; a larger POA&M is exported per policy or source. */
export const MAX_EXPORT_FINDINGS = 50_000

/**
 * The open weaknesses Qualys reports, as an OSCAL POA&M document: the failing findings in
 * the store (optionally filtered), mapped exactly as a sync maps them. It reads the
 * findings store only, so it shows what the last sync saw.
 */
export async function exportOscalPoam (
  deps: { config: Config, profile: PoamProfile, findings: FindingsStore, now?: () => Date },
  options: { systemId: string, filter?: Omit<FindingsFilter, 'status'> }
): Promise<{ 'plan-of-action-and-milestones': Record<string, unknown> }> {
  const failing: StoredFinding[] = []
  let cursor: string | undefined
  do {
    const page = await deps.findings.query({ ...options.filter, status: 'failed' }, cursor === undefined ? { limit: 500 } : { limit: 500, cursor })
    failing.push(...page.items)
    cursor = page.nextCursor
    if (failing.length > MAX_EXPORT_FINDINGS) {
      throw new QssError('QSS_EXPORT_TOO_LARGE', `More than ${MAX_EXPORT_FINDINGS} failing findings: export per policyId or source`, { statusCode: 422 })
    }
  } while (cursor !== undefined)
  if (failing.length === 0) {
    throw new QssError('QSS_EXPORT_EMPTY', 'No failing finding matches: an OSCAL POA&M needs at least one item (run a sync first, or widen the filter)', { statusCode: 404 })
  }
  const matches = new Map<string, CiMatch>()
  for (const f of failing) if (f.ciMatch !== undefined) matches.set(f.host.qualysHostId, f.ciMatch)
  const now = (deps.now ?? (() => new Date()))()
  const grouping = failing.some((f) => f.source === 'vm') ? 'finding' : deps.config.POAM_GROUPING
  const { records } = buildDesiredRecords(failing, matches, { profile: deps.profile, grouping, unmatched: deps.config.POAM_UNMATCHED, now })
  return toOscalPoam(records.values(), { systemId: options.systemId, now }) as { 'plan-of-action-and-milestones': Record<string, unknown> }
}
