import { RISK_RANK, type Risk } from '../findings/model.js'
import type { FindingsStore } from '../findings/store.js'
import type { DesiredCiTags } from './ports.js'

const CHUNK = 200

/**
 * The tags each CI should carry, from every open finding the store holds for it (all
 * policies and sources, not only this run's pages): `qualys_risk_tier` is the highest
 * open risk, `qualys_failed_policies` the sorted failing policy IDs. A CI with no open
 * finding gets an empty entry, which removes its tags.
 */
export async function computeCiTags (findings: FindingsStore, ciSysIds: readonly string[]): Promise<Map<string, DesiredCiTags>> {
  const desired = new Map<string, DesiredCiTags>()
  for (let i = 0; i < ciSysIds.length; i += CHUNK) {
    const chunk = ciSysIds.slice(i, i + CHUNK)
    const open = await findings.openFindingsByCi(chunk)
    for (const ci of chunk) {
      let riskTier: Risk | undefined
      const policies = new Set<string>()
      for (const f of open.get(ci) ?? []) {
        if (riskTier === undefined || RISK_RANK[f.risk] > RISK_RANK[riskTier]) riskTier = f.risk
        if (f.policy !== undefined) policies.add(f.policy.id)
      }
      const failedPolicies = [...policies].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
      desired.set(ci, riskTier === undefined ? { failedPolicies } : { riskTier, failedPolicies })
    }
  }
  return desired
}
