import type { CiMatch, Finding, FindingHost, Risk } from '../findings/model.js'
import type { TagResult } from '../servicenow/tags.js'

/**
 * What the sync engine needs from the outside world, as narrow interfaces. The wiring
 * (src/sync/wiring.ts) adapts the Qualys and ServiceNow clients to these, so the engine
 * reads as the pipeline of design.md and nothing else.
 */

export interface FindingPage {
  findings: Finding[]
  /** Qualys RESPONSE/DATETIME: the first page's value is the next delta's starting point. */
  responseDatetime?: string
}

export interface FindingSourcePort {
  postures (policyId: string, opts: { since?: string }): AsyncIterable<FindingPage>
  detections (opts: { since?: string }): AsyncIterable<FindingPage>
}

export interface CiMatcherPort {
  resolve (hosts: FindingHost[]): Promise<Map<string, CiMatch>>
}

export interface ExistingRecord {
  sysId: string
  fields: Record<string, string>
}

export interface PoamRecordsPort {
  readonly table: string
  findByCorrelationIds (ids: string[]): Promise<Map<string, ExistingRecord>>
  create (payload: Record<string, string>): Promise<{ sysId: string }>
  update (sysId: string, changed: Record<string, string>): Promise<void>
  /** Open records in the table (for the closure guardrail's percentage). */
  countOpen (): Promise<number>
  /** Correlation ids of every open record (one paged list of one column). */
  openCorrelationIds (): AsyncIterable<string[]>
  /** Open records per risk, when the profile has a risk column (for the metric). */
  countOpenByRisk (): Promise<Record<Risk, number> | undefined>
}

export interface DesiredCiTags {
  riskTier?: Risk
  failedPolicies: string[]
}

/** What applying tags did (the ServiceNow tagger's result). */
export type TagCounts = TagResult

export interface CiTaggerPort {
  apply (desired: Map<string, DesiredCiTags>): Promise<TagCounts>
}

/** Upstream waits (Qualys pacing or 409, ServiceNow 429) reported while a job runs. */
export interface WaitEvent { target: 'qualys' | 'servicenow', reason: string, ms: number }
