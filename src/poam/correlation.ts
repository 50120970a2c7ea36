import { createHash } from 'node:crypto'
import type { Finding } from '../findings/model.js'

/**
 * Correlation ids tie a POA&M record to its natural key, so re-runs find the record
 * instead of creating another. They contain only `[a-z0-9-]`, which keeps them safe in
 * ServiceNow encoded queries.
 *
 * - `finding` grouping: `qss-<finding id>` (the finding id already hashes the natural key).
 * - `control` grouping: `qss-pcctl-<hash(policy, control)>` or `qss-vmqid-<hash(qid)>`.
 * - A recreated record (FedRAMP recurrence) appends `-r<generation>`: `<base>-r1`,
 *   `<base>-r2`, ... Its id follows from the closed record's id alone, so planning the
 *   same recurrence twice yields the same id, never a second copy.
 *
 * Every generation starts with its base id and no base id is a prefix of another (fixed
 * length hashes after distinct prefixes), so `correlation_id STARTSWITH <base>` fetches a
 * weakness's whole family of records and nothing else.
 */
export const CORRELATION_PREFIX = 'qss-'

export const Grouping = { finding: 'finding', control: 'control' } as const
export type Grouping = typeof Grouping[keyof typeof Grouping]

const GENERATION = /^(.+)-r([1-9]\d*)$/

function digest (parts: readonly string[]): string {
  return createHash('sha256').update(parts.join('\u001f')).digest('hex').slice(0, 32)
}

export function correlationIdFor (finding: Finding, grouping: Grouping): string {
  if (grouping === Grouping.finding) return `${CORRELATION_PREFIX}${finding.id}`
  if (finding.source === 'vm') return `${CORRELATION_PREFIX}vmqid-${digest([finding.vuln?.qid ?? ''])}`
  return `${CORRELATION_PREFIX}pcctl-${digest([finding.policy?.id ?? '', finding.control?.id ?? ''])}`
}

/** The id without its generation suffix: the same for every record of one weakness. */
export function baseCorrelationId (id: string): string {
  return GENERATION.exec(id)?.[1] ?? id
}

/** 0 for the first record of a weakness, n for its n-th recreation. */
export function correlationGeneration (id: string): number {
  return Number(GENERATION.exec(id)?.[2] ?? 0)
}

/** The id of the record that replaces the closed record `id`. */
export function recreatedCorrelationId (id: string): string {
  return `${baseCorrelationId(id)}-r${correlationGeneration(id) + 1}`
}

/** The id of the record `id` replaced, or undefined for a first record. */
export function supersededCorrelationId (id: string): string | undefined {
  const generation = correlationGeneration(id)
  if (generation === 0) return undefined
  const base = baseCorrelationId(id)
  return generation === 1 ? base : `${base}-r${generation - 1}`
}
