import { createHash } from 'node:crypto'

/**
 * Deterministic ids from natural keys. The same weakness on the same asset always gets
 * the same id, across runs, replicas and re-evaluations, which is what makes re-syncs
 * idempotent. Parts are joined with a unit separator so that ("1", "23") and ("12", "3")
 * never collide.
 */
function digest (parts: readonly string[]): string {
  return createHash('sha256').update(parts.join('\u001f')).digest('hex').slice(0, 32)
}

/** PC: (policy, host, control, technology, instance). */
export function postureFindingId (key: { policyId: string, hostId: string, controlId: string, technologyId: string, instance: string }): string {
  return `pc-${digest([key.policyId, key.hostId, key.controlId, key.technologyId, key.instance])}`
}

/** VM: UNIQUE_VULN_ID when Qualys gives one, else host + QID + port + protocol. */
export function detectionFindingId (key: { uniqueVulnId?: string, hostId: string, qid: string, port?: string, protocol?: string }): string {
  if (key.uniqueVulnId !== undefined && key.uniqueVulnId !== '') return `vm-${digest(['uv', key.uniqueVulnId])}`
  return `vm-${digest(['hqpp', key.hostId, key.qid, key.port ?? '', key.protocol ?? ''])}`
}
