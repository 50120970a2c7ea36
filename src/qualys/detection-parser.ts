import { detectionFindingId } from '../findings/finding-id.js'
import type { Finding, FindingStatus, FindingVuln } from '../findings/model.js'
import { riskFromSeverity } from '../poam/risk.js'
import { hostFromXml } from './posture-parser.js'
import { asList, child, text, type XmlNode } from './xml.js'

/**
 * VM Host List Detection page (HOST_LIST_VM_DETECTION_OUTPUT) -> normalized findings.
 *
 *   parseDetectionPage(body): DetectionParse
 *
 * One finding per DETECTION. New, Active and Re-Opened are failing; Fixed is passing, so
 * the engine can close the POA&M. KB text (title, CVEs, solution) is added later from the
 * QID cache, not here.
 */

export interface DetectionParse {
  findings: Finding[]
  responseDatetime: string
  /** Hosts on this page: truncation counts hosts, not detections. */
  hosts: number
}

function detectionStatus (value: string | undefined): FindingStatus {
  switch ((value ?? '').toLowerCase()) {
    case 'fixed': return 'passed'
    case 'new':
    case 'active':
    case 're-opened':
    case 'reopened':
      return 'failed'
    default: return 'error'
  }
}

function toFinding (detection: XmlNode, hostNode: XmlNode, host: ReturnType<typeof hostFromXml>): Finding {
  const qid = text(detection.QID) ?? ''
  const severity = Number(text(detection.SEVERITY))
  const vuln: FindingVuln = { qid, severity: Number.isInteger(severity) ? severity : 0 }
  const vulnFields: Array<[keyof FindingVuln, string | undefined]> = [
    ['uniqueVulnId', text(detection.UNIQUE_VULN_ID)], ['type', text(detection.TYPE)],
    ['port', text(detection.PORT)], ['protocol', text(detection.PROTOCOL)], ['results', text(detection.RESULTS)]
  ]
  for (const [key, value] of vulnFields) if (value !== undefined) (vuln as unknown as Record<string, string>)[key] = value
  const detectionFqdn = text(detection.FQDN)
  const finding: Finding = {
    id: detectionFindingId({ uniqueVulnId: vuln.uniqueVulnId, hostId: host.qualysHostId, qid, port: vuln.port, protocol: vuln.protocol }),
    source: 'vm',
    status: detectionStatus(text(detection.STATUS)),
    risk: riskFromSeverity(vuln.severity),
    host: detectionFqdn === undefined || host.fqdn !== undefined ? host : { ...host, fqdn: detectionFqdn },
    vuln
  }
  const optional: Array<[keyof Finding, string | undefined]> = [
    ['firstDetected', text(detection.FIRST_FOUND_DATETIME)],
    ['lastDetected', text(detection.LAST_FOUND_DATETIME)],
    ['lastPassed', text(detection.LAST_FIXED_DATETIME)],
    ['evaluatedAt', text(detection.LAST_TEST_DATETIME) ?? text(detection.LAST_FOUND_DATETIME) ?? text(hostNode.LAST_VM_SCANNED_DATE)],
    ['evidence', vuln.results]
  ]
  for (const [key, value] of optional) if (value !== undefined) (finding as unknown as Record<string, string>)[key] = value
  return finding
}

export function parseDetectionPage (body: XmlNode): DetectionParse {
  const response = body.RESPONSE as XmlNode | undefined
  const findings: Finding[] = []
  const hosts = asList(child(response, 'HOST_LIST.HOST'))
  for (const hostNode of hosts) {
    const host = hostFromXml(hostNode)
    for (const detection of asList(child(hostNode, 'DETECTION_LIST.DETECTION'))) {
      findings.push(toFinding(detection, hostNode, host))
    }
  }
  return { findings, responseDatetime: text(child(response, 'DATETIME')) ?? '', hosts: hosts.length }
}
