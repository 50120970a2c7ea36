/**
 * The normalized finding: what every Qualys source (PC posture, VM detection) becomes,
 * and what the sync engine, the findings API and POA&M mapping read. Scanner-specific
 * shapes stop at the parsers.
 */

export const FindingSource = { pc: 'pc', vm: 'vm' } as const
export type FindingSource = typeof FindingSource[keyof typeof FindingSource]

export const FindingStatus = { failed: 'failed', passed: 'passed', error: 'error' } as const
export type FindingStatus = typeof FindingStatus[keyof typeof FindingStatus]

export const Risk = { High: 'High', Moderate: 'Moderate', Low: 'Low' } as const
export type Risk = typeof Risk[keyof typeof Risk]

/** Ordering used wherever "the highest risk" is needed. */
export const RISK_RANK: Record<Risk, number> = { High: 3, Moderate: 2, Low: 1 }

/** The identifiers Qualys gives a host, the ones CMDB matching and coverage use. */
export interface HostIdentity {
  qualysHostId: string
  ip?: string
  ipv6?: string
  dns?: string
  fqdn?: string
  netbios?: string
}

/** Host identifiers as Qualys reports them. All optional but `qualysHostId`. */
export interface FindingHost extends HostIdentity {
  os?: string
  trackingMethod?: string
}

export interface FindingControl {
  id: string
  statement: string
  criticalityLabel?: string
  criticalityValue?: number
  rationale?: string
  category?: string
}

export interface FindingVuln {
  qid: string
  uniqueVulnId?: string
  severity: number
  type?: string
  port?: string
  protocol?: string
  title?: string
  cves?: string[]
  solution?: string
  diagnosis?: string
  results?: string
}

export interface Finding {
  /** Stable id: hash of the natural key (see `findingId`). Also the POA&M correlation id basis. */
  id: string
  source: FindingSource
  status: FindingStatus
  risk: Risk
  host: FindingHost
  /** PC: the policy evaluated. */
  policy?: { id: string, title?: string }
  /** PC: the control evaluated. */
  control?: FindingControl
  technology?: { id: string, name?: string }
  /** PC: instance string ("os", "Oracle 19c:1:ORCL", ...). */
  instance?: string
  /** VM: the detection. */
  vuln?: FindingVuln
  /** ISO-8601 UTC. First time the weakness was seen failing (PC FIRST_FAIL_DATE / VM FIRST_FOUND_DATETIME). */
  firstDetected?: string
  lastDetected?: string
  /** When Qualys last saw it passing (PC LAST_PASS_DATE) or fixed (VM LAST_FIXED_DATETIME). */
  lastPassed?: string
  /** The evaluation (PC) or scan (VM) that produced this status: orders evidence in time. */
  evaluatedAt?: string
  /** Human-readable evidence (PC: glossary tokens expanded; VM: RESULTS). */
  evidence?: string
  remediation?: string
}

/** A CMDB match outcome recorded on each finding. */
export type CiMatch =
  | { sysId: string, rule: string, value: string }
  | { reason: 'unmatched' | 'ambiguous' | 'unsafe', candidates?: number }
