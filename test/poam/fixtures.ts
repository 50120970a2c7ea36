import type { CiMatch, Finding, Risk } from '../../src/findings/model.js'
import { detectionFindingId, postureFindingId } from '../../src/findings/finding-id.js'

/** A PC finding on `hostId` for `controlId`; every attribute can be overridden. */
export function pcFinding (hostId: string, controlId: string, over: Partial<Finding> = {}): Finding {
  return {
    id: postureFindingId({ policyId: '42', hostId, controlId, technologyId: '1', instance: 'os' }),
    source: 'pc',
    status: 'failed',
    risk: 'Moderate' as Risk,
    host: { qualysHostId: hostId, fqdn: `host${hostId}.example.com`, ip: `10.0.0.${hostId}` },
    policy: { id: '42', title: 'CIS Linux' },
    control: { id: controlId, statement: `Ensure setting ${controlId} is configured`, criticalityLabel: 'SERIOUS', rationale: 'Because.' },
    technology: { id: '1', name: 'RHEL 9' },
    instance: 'os',
    firstDetected: '2024-03-01T08:00:00Z',
    lastDetected: '2024-05-01T08:00:00Z',
    evaluatedAt: '2024-05-01T08:00:00Z',
    evidence: 'value=0',
    ...over
  }
}

export function vmFinding (hostId: string, qid: string, over: Partial<Finding> = {}): Finding {
  return {
    id: detectionFindingId({ hostId, qid, port: '443', protocol: 'tcp' }),
    source: 'vm',
    status: 'failed',
    risk: 'High' as Risk,
    host: { qualysHostId: hostId, dns: `vm${hostId}.example.com`, ip: `10.1.0.${hostId}` },
    vuln: { qid, severity: 5, title: `OpenSSL flaw ${qid}`, port: '443', protocol: 'tcp', cves: ['CVE-2024-2', 'CVE-2024-1'], solution: 'Upgrade OpenSSL.' },
    firstDetected: '2024-04-10T00:00:00Z',
    lastDetected: '2024-05-01T00:00:00Z',
    evaluatedAt: '2024-05-01T00:00:00Z',
    ...over
  }
}

export const NOW = '2024-06-01T12:00:00Z'

export function matches (entries: Record<string, string | 'unmatched'>): Map<string, CiMatch> {
  return new Map(Object.entries(entries).map(([host, ci]) => [host, ci === 'unmatched' ? { reason: 'unmatched' } : { sysId: ci, rule: 'fqdn', value: `host${host}` }]))
}
