import type { CiMatch, Finding, FindingHost } from '../../src/findings/model.js'
import type { FindingsFilter, StoredFinding } from '../../src/findings/store.js'

/** Six hosts covering every way CI matching ends, and the awkward names scanners report. */
export const HOSTS: FindingHost[] = [
  { qualysHostId: '1001', ip: '10.0.0.1', dns: 'WEB-01.corp.example.com.', fqdn: 'web-01.corp.example.com', os: 'Linux' },
  { qualysHostId: '1002', ip: '10.0.0.2', dns: 'db-01.corp.example.com', netbios: 'DB-01' },
  { qualysHostId: '1003', ip: '10.0.0.3', dns: 'app-01.corp.example.com', ipv6: 'FE80::3' },
  { qualysHostId: '1004', ip: '10.0.0.4', netbios: 'FILES-01' },
  { qualysHostId: '1005', ip: '10.0.0.5', dns: 'x,y=z.corp.example.com', netbios: 'X,Y=Z' },
  { qualysHostId: '1006', ip: '10.0.0.6', fqdn: 'mq-01.other.example.com' }
]

export const MATCHES = new Map<string, CiMatch>([
  ['1001', { sysId: 'ci-web', rule: 'fqdn', value: 'web-01.corp.example.com' }],
  ['1002', { sysId: 'ci-db', rule: 'name', value: 'db-01' }],
  ['1003', { reason: 'ambiguous', candidates: 2 }],
  ['1004', { reason: 'unmatched' }],
  ['1005', { reason: 'unsafe' }],
  ['1006', { sysId: 'ci-mq', rule: 'ip', value: '10.0.0.6' }]
])

const STATUSES = ['failed', 'passed', 'error'] as const
const RISKS = ['High', 'Moderate', 'Low'] as const

/** Finding n (0-based): 60 of them spread over hosts, policies, controls, statuses and risks. */
export function makeFinding (n: number): Finding {
  const host = HOSTS[n % HOSTS.length] as FindingHost
  const id = `f-${String(n).padStart(3, '0')}`
  if (n % 5 === 4) {
    return {
      id,
      source: 'vm',
      status: STATUSES[Math.floor(n / 5) % 2] as Finding['status'],
      risk: RISKS[n % 3] as Finding['risk'],
      host,
      vuln: { qid: String(38000 + n), severity: 1 + (n % 5), port: '443', protocol: 'tcp', cves: ['CVE-2024-0001'] },
      firstDetected: '2024-01-02T03:04:05Z'
    }
  }
  return {
    id,
    source: 'pc',
    status: STATUSES[Math.floor(n / 6) % 3] as Finding['status'],
    risk: RISKS[(n >> 1) % 3] as Finding['risk'],
    host,
    policy: { id: n % 2 === 0 ? 'P1' : 'P2', title: 'Baseline' },
    control: { id: `C${n % 4}`, statement: `Control ${n % 4}`, criticalityLabel: 'SERIOUS', criticalityValue: 3 },
    technology: { id: '190', name: 'RHEL 8' },
    instance: 'os',
    firstDetected: '2024-01-02T03:04:05Z',
    evidence: 'value is 0'
  }
}

export const FINDINGS: Finding[] = Array.from({ length: 60 }, (_, n) => makeFinding(n))

const norm = (v: string) => v.trim().toLowerCase().replace(/\.$/, '')

/** An independent statement of the filter semantics, to check the stores against. */
export function matchesFilter (f: Finding, match: CiMatch | undefined, filter: FindingsFilter): boolean {
  const sysId = match !== undefined && 'sysId' in match ? match.sysId : undefined
  if (filter.status !== undefined && f.status !== filter.status) return false
  if (filter.source !== undefined && f.source !== filter.source) return false
  if (filter.risk !== undefined && f.risk !== filter.risk) return false
  if (filter.policyId !== undefined && f.policy?.id !== filter.policyId) return false
  if (filter.controlId !== undefined && f.control?.id !== filter.controlId) return false
  if (filter.hostId !== undefined && f.host.qualysHostId !== filter.hostId) return false
  if (filter.ciSysId !== undefined && sysId !== filter.ciSysId) return false
  if (filter.matched !== undefined && (sysId !== undefined) !== filter.matched) return false
  if (filter.host !== undefined) {
    const q = norm(filter.host)
    const names = [f.host.fqdn, f.host.dns, f.host.netbios, f.host.ip, f.host.ipv6].filter((v): v is string => v !== undefined).map(norm)
    const firstLabels = [f.host.fqdn, f.host.dns].filter((v): v is string => v !== undefined).map((v) => norm(v).split('.')[0])
    if (!names.includes(q) && (q.includes('.') || !firstLabels.includes(q))) return false
  }
  return true
}

export function expectedIds (findings: readonly Finding[], matches: ReadonlyMap<string, CiMatch>, filter: FindingsFilter): string[] {
  return findings.filter((f) => matchesFilter(f, matches.get(f.host.qualysHostId), filter)).map((f) => f.id).sort()
}

export const ids = (items: readonly StoredFinding[]) => items.map((f) => f.id)
