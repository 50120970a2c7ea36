import { postureFindingId } from '../findings/finding-id.js'
import type { Finding, FindingControl, FindingHost, FindingStatus } from '../findings/model.js'
import { riskFromCriticality } from '../poam/risk.js'
import { buildEvidenceGlossary, renderEvidence } from './evidence.js'
import { asList, child, text, type XmlNode } from './xml.js'

/**
 * Policy Compliance posture page (POSTURE_INFO_LIST_OUTPUT) -> normalized findings.
 *
 *   parsePosturePage(body, { policyId, policyTitle? }): PostureParse
 *
 * Handles the flat form (RESPONSE/INFO_LIST/INFO, one policy) and the nested form used
 * with `policy_ids` (RESPONSE/POLICY_LIST/POLICY/{ID, INFO_LIST/INFO}). Hosts, controls
 * and technologies come from the page's GLOSSARY; a record whose host is missing from
 * the glossary still becomes a finding with the Qualys host ID only.
 */

export interface PostureParse {
  findings: Finding[]
  /** RESPONSE/DATETIME: the checkpoint for the next delta pull. */
  responseDatetime: string
}

interface Glossary {
  hosts: Map<string, FindingHost>
  controls: Map<string, { control: FindingControl, rationale: Map<string, string> }>
  technologies: Map<string, string>
}

export function hostFromXml (node: XmlNode): FindingHost {
  const host: FindingHost = { qualysHostId: text(node.ID) ?? '' }
  const dns = text(node.DNS)
  const fqdn = text(child(node, 'DNS_DATA.FQDN')) ?? (dns !== undefined && dns.includes('.') ? dns : undefined)
  const fields: Array<[keyof FindingHost, string | undefined]> = [
    ['ip', text(node.IP)], ['ipv6', text(node.IPV6)], ['dns', dns], ['fqdn', fqdn],
    ['netbios', text(node.NETBIOS)], ['os', text(node.OS)], ['trackingMethod', text(node.TRACKING_METHOD)]
  ]
  for (const [key, value] of fields) if (value !== undefined) host[key] = value
  return host
}

function readGlossary (glossary: XmlNode | undefined): Glossary {
  const hosts = new Map<string, FindingHost>()
  for (const node of asList(child(glossary, 'HOST_LIST.HOST'))) {
    const host = hostFromXml(node)
    hosts.set(host.qualysHostId, host)
  }
  const controls: Glossary['controls'] = new Map()
  for (const node of asList(child(glossary, 'CONTROL_LIST.CONTROL'))) {
    const id = text(node.ID)
    if (id === undefined) continue
    const value = Number(text(child(node, 'CRITICALITY.VALUE')))
    const control: FindingControl = { id, statement: text(node.STATEMENT) ?? '' }
    const label = text(child(node, 'CRITICALITY.LABEL'))
    if (label !== undefined) control.criticalityLabel = label
    if (Number.isFinite(value) && text(child(node, 'CRITICALITY.VALUE')) !== undefined) control.criticalityValue = value
    const category = text(child(node, 'CATEGORY.NAME')) ?? text(node.CATEGORY)
    if (category !== undefined) control.category = category
    const rationale = new Map<string, string>()
    for (const r of asList(child(node, 'RATIONALE_LIST.RATIONALE'))) {
      const t = text(r.TEXT)
      if (t !== undefined) rationale.set(text(r.TECHNOLOGY_ID) ?? '', t)
    }
    controls.set(id, { control, rationale })
  }
  const technologies = new Map<string, string>()
  for (const node of asList(child(glossary, 'TECHNOLOGY_LIST.TECHNOLOGY'))) {
    const id = text(node.ID)
    const name = text(node.NAME)
    if (id !== undefined && name !== undefined) technologies.set(id, name)
  }
  return { hosts, controls, technologies }
}

const STATUS: Record<string, FindingStatus> = { passed: 'passed', failed: 'failed', error: 'error' }

function postureStatus (value: string | undefined): FindingStatus {
  // An unknown status is reported as an error rather than guessed as pass or fail.
  return STATUS[(value ?? '').toLowerCase()] ?? 'error'
}

function toFinding (info: XmlNode, policy: { id: string, title?: string }, glossary: Glossary, evidenceGlossary: ReturnType<typeof buildEvidenceGlossary>): Finding {
  const hostId = text(info.HOST_ID) ?? ''
  const controlId = text(info.CONTROL_ID) ?? ''
  const technologyId = text(info.TECHNOLOGY_ID) ?? ''
  const instance = text(info.INSTANCE) ?? ''
  const known = glossary.controls.get(controlId)
  const control: FindingControl = known === undefined ? { id: controlId, statement: '' } : { ...known.control }
  const rationale = known?.rationale.get(technologyId) ?? known?.rationale.get('')
  if (rationale !== undefined) control.rationale = rationale
  const technologyName = glossary.technologies.get(technologyId)
  const finding: Finding = {
    id: postureFindingId({ policyId: policy.id, hostId, controlId, technologyId, instance }),
    source: 'pc',
    status: postureStatus(text(info.STATUS)),
    risk: riskFromCriticality(control.criticalityLabel, control.criticalityValue),
    host: glossary.hosts.get(hostId) ?? { qualysHostId: hostId },
    policy: policy.title === undefined ? { id: policy.id } : { id: policy.id, title: policy.title },
    control,
    technology: technologyName === undefined ? { id: technologyId } : { id: technologyId, name: technologyName },
    instance
  }
  const optional: Array<[keyof Finding, string | undefined]> = [
    ['firstDetected', text(info.FIRST_FAIL_DATE)],
    ['lastDetected', text(info.LAST_FAIL_DATE)],
    ['lastPassed', text(info.LAST_PASS_DATE)],
    ['evaluatedAt', text(info.EVALUATION_DATE) ?? text(info.POSTURE_MODIFIED_DATE)],
    ['evidence', renderEvidence(info, evidenceGlossary)],
    ['remediation', text(info.REMEDIATION)]
  ]
  for (const [key, value] of optional) if (value !== undefined) (finding as unknown as Record<string, string>)[key] = value
  return finding
}

export function parsePosturePage (body: XmlNode, policy: { policyId: string, policyTitle?: string }): PostureParse {
  const response = body.RESPONSE as XmlNode | undefined
  const glossaryNode = child(response, 'GLOSSARY') as XmlNode | undefined
  const glossary = readGlossary(glossaryNode)
  const evidenceGlossary = buildEvidenceGlossary(glossaryNode)
  const findings: Finding[] = []
  const defaultPolicy = { id: policy.policyId, ...(policy.policyTitle === undefined ? {} : { title: policy.policyTitle }) }
  const add = (infos: XmlNode[], fallback: { id: string, title?: string }) => {
    for (const info of infos) {
      const ownPolicy = text(info.POLICY_ID)
      findings.push(toFinding(info, ownPolicy === undefined || ownPolicy === fallback.id ? fallback : { id: ownPolicy }, glossary, evidenceGlossary))
    }
  }
  add(asList(child(response, 'INFO_LIST.INFO')), defaultPolicy)
  for (const p of [...asList(child(response, 'POLICY_LIST.POLICY')), ...asList(child(response, 'POLICY'))]) {
    const id = text(p.ID) ?? policy.policyId
    add(asList(child(p, 'INFO_LIST.INFO')), id === defaultPolicy.id ? defaultPolicy : { id })
  }
  return { findings, responseDatetime: text(child(response, 'DATETIME')) ?? '' }
}
