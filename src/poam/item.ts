import type { FindingSource, Risk } from '../findings/model.js'

/** One affected host, as shown in the asset identifier and exported to OSCAL. */
export interface PoamAsset {
  qualysHostId: string
  /** FQDN or DNS name, else NetBIOS, else IP; empty when Qualys gave none. */
  name: string
  ip?: string
  fqdn?: string
  ciSysId?: string
}

/**
 * A POA&M item independent of any ServiceNow table: what mapping produces, what profiles
 * render into a table payload and what the OSCAL export reads. Dates are `YYYY-MM-DD` (UTC).
 */
export interface PoamItem {
  correlationId: string
  source: FindingSource
  grouping: 'finding' | 'control'
  open: boolean
  risk: Risk
  /** Control statement (PC) or vulnerability title (VM). */
  title: string
  weaknessName: string
  weaknessDescription: string
  detectorSource: string
  /** Qualys control ID (PC) or QID (VM). */
  sourceIdentifier: string
  policy: string
  controls: string[]
  /** Sorted by label, one per affected host. */
  assets: PoamAsset[]
  /** The CI sys_id when exactly one CI is involved, else empty. */
  ciSysId: string
  summary: string
  remediationPlan: string
  originalDetectionDate: string
  scheduledCompletionDate: string
  statusDate: string
  /** Correlation id of the closed record a recreated record replaces. */
  supersedes?: string
}
