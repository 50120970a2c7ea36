import type { Finding, FindingHost } from '../findings/model.js'
import type { PoamAsset, PoamItem } from './item.js'

/**
 * The human-readable texts of a POA&M. Everything here is a pure function of the
 * findings' stable attributes: no evaluation times or counters, so an unchanged weakness
 * renders byte-identical text and re-runs write nothing.
 */

/** ServiceNow's default `short_description` length; longer text would be cut and never match again. */
export const SHORT_DESCRIPTION_MAX = 160

export const DETECTOR = { pc: 'Qualys Policy Compliance', vm: 'Qualys VM' } as const

function clip (value: string, max: number): string {
  return value.length <= max ? value : `${value.slice(0, max - 1)}…`
}

function oneLine (value: string): string {
  return value.replace(/\s+/g, ' ').trim()
}

export function shortDescription (item: PoamItem): string {
  const prefix = item.source === 'vm' ? 'Qualys Vulnerability: ' : 'Qualys Policy Compliance Failure: '
  return clip(prefix + oneLine(item.title), SHORT_DESCRIPTION_MAX)
}

/** Best host name: FQDN or DNS, else NetBIOS, else IP. */
export function hostName (host: FindingHost): string {
  for (const value of [host.fqdn, host.dns, host.netbios, host.ip, host.ipv6]) {
    if (value !== undefined && value.trim() !== '') return value.trim()
  }
  return ''
}

export function assetLabel (asset: PoamAsset): string {
  return asset.name === '' ? `Qualys host ID ${asset.qualysHostId}` : `${asset.name} (Qualys host ID ${asset.qualysHostId})`
}

export function assetIdentifier (assets: readonly PoamAsset[]): string {
  return assets.map(assetLabel).join('\n')
}

/** The finding's weakness title: the control statement (PC) or the vulnerability title (VM). */
export function weaknessTitle (finding: Finding): string {
  if (finding.source === 'vm') {
    const title = finding.vuln?.title?.trim() ?? ''
    return title === '' ? `QID ${finding.vuln?.qid ?? ''}` : title
  }
  const statement = finding.control?.statement?.trim() ?? ''
  return statement === '' ? `Control ${finding.control?.id ?? ''}` : statement
}

/** What the weakness is, independent of any host. */
export function weaknessDescription (finding: Finding): string {
  const lines: string[] = []
  if (finding.source === 'vm') {
    const v = finding.vuln
    lines.push(`QID ${v?.qid ?? ''}: ${weaknessTitle(finding)} (severity ${v?.severity ?? '?'})`)
    if (v?.cves !== undefined && v.cves.length > 0) lines.push(`CVEs: ${[...v.cves].sort().join(', ')}`)
    if (v?.diagnosis !== undefined && v.diagnosis.trim() !== '') lines.push(v.diagnosis.trim())
  } else {
    const c = finding.control
    lines.push(`Control ${c?.id ?? ''}: ${weaknessTitle(finding)}`)
    if (c?.criticalityLabel !== undefined) lines.push(`Criticality: ${c.criticalityLabel}`)
    if (c?.category !== undefined && c.category !== '') lines.push(`Category: ${c.category}`)
    if (c?.rationale !== undefined && c.rationale.trim() !== '') lines.push(`Rationale: ${c.rationale.trim()}`)
  }
  return lines.join('\n')
}

export function remediationPlan (finding: Finding): string {
  const plan = finding.remediation?.trim() || finding.vuln?.solution?.trim() || ''
  if (plan !== '') return plan
  return finding.source === 'vm'
    ? 'Apply the vendor fix for this vulnerability, then rescan with Qualys VM to verify.'
    : 'Bring the setting into line with the policy control, then re-evaluate with Qualys Policy Compliance to verify.'
}

function where (finding: Finding): string {
  const parts: string[] = []
  if (finding.technology?.name !== undefined) parts.push(`technology ${finding.technology.name}`)
  if (finding.instance !== undefined && finding.instance !== '' && finding.instance !== 'os') parts.push(`instance ${finding.instance}`)
  if (finding.vuln?.port !== undefined && finding.vuln.port !== '') parts.push(`port ${finding.vuln.port}/${finding.vuln.protocol ?? ''}`)
  return parts.length === 0 ? '' : ` (${parts.join(', ')})`
}

/** Summary of one finding on one host, with its evidence. */
export function findingSummary (finding: Finding, asset: PoamAsset): string {
  const verb = finding.source === 'vm' ? 'detected' : 'failed'
  const what = finding.source === 'vm' ? `QID ${finding.vuln?.qid ?? ''}` : `control ${finding.control?.id ?? ''}`
  const lines = [`${DETECTOR[finding.source]} ${verb} ${what} on ${assetLabel(asset)}${where(finding)}.`]
  const evidence = finding.evidence?.trim() ?? ''
  if (evidence !== '') lines.push(`Evidence: ${evidence}`)
  return lines.join('\n')
}

/** Summary of one weakness over several hosts; per-host evidence stays in Qualys. */
export function groupSummary (finding: Finding, assets: readonly PoamAsset[]): string {
  const what = finding.source === 'vm' ? `QID ${finding.vuln?.qid ?? ''}` : `control ${finding.control?.id ?? ''}`
  const verb = finding.source === 'vm' ? 'detected' : 'failed'
  return `${DETECTOR[finding.source]} ${verb} ${what} on ${assets.length} asset(s):\n${assetIdentifier(assets)}`
}

/**
 * The record's description. A recreated record starts by naming the closed record it
 * replaces. `withDetails` adds what profiles without dedicated columns (GRC) would lose.
 */
export function fullDescription (item: PoamItem, options: { withDetails?: boolean } = {}): string {
  const parts: string[] = []
  if (item.supersedes !== undefined) parts.push(`Recurrence of closed POA&M ${item.supersedes}.`)
  parts.push(item.summary)
  if (options.withDetails === true) {
    parts.push([
      `Detector: ${item.detectorSource} (${item.sourceIdentifier})`,
      ...(item.policy === '' ? [] : [`Policy: ${item.policy}`]),
      `Controls: ${item.controls.join(', ')}`,
      `Assets:\n${assetIdentifier(item.assets)}`,
      `Remediation plan: ${item.remediationPlan}`
    ].join('\n'))
  }
  return parts.join('\n\n')
}
