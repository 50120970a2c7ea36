import { Type } from 'typebox'

/** Mirrors src/findings/model.ts and StoredFinding; the route's types check the two agree. */

const Text = (description: string) => Type.String({ description })
const Id = (description: string) => Type.String({ minLength: 1, maxLength: 200, description })

export const FindingSourceSchema = Type.Union([Type.Literal('pc'), Type.Literal('vm')], { description: 'pc: Policy Compliance posture; vm: VM detection' })
export const FindingStatusSchema = Type.Union([Type.Literal('failed'), Type.Literal('passed'), Type.Literal('error')])
export const RiskSchema = Type.Union([Type.Literal('High'), Type.Literal('Moderate'), Type.Literal('Low')])

export const FindingHostSchema = Type.Object({
  qualysHostId: Text('Qualys host ID'),
  ip: Type.Optional(Type.String()),
  ipv6: Type.Optional(Type.String()),
  dns: Type.Optional(Text('DNS name as Qualys reports it (case and trailing dot kept)')),
  fqdn: Type.Optional(Type.String()),
  netbios: Type.Optional(Type.String()),
  os: Type.Optional(Type.String()),
  trackingMethod: Type.Optional(Type.String())
})

export const CiMatchSchema = Type.Union([
  Type.Object({
    sysId: Text('sys_id of the matched CI'),
    rule: Text('The matching rule that found it (e.g. fqdn, name, ip)'),
    value: Text('The host value the rule matched on')
  }),
  Type.Object({
    reason: Type.Union([Type.Literal('unmatched'), Type.Literal('ambiguous'), Type.Literal('unsafe')], {
      description: 'unmatched: no CI; ambiguous: several CIs and nothing to choose; unsafe: identifiers could not be queried safely'
    }),
    candidates: Type.Optional(Type.Integer({ description: 'CIs found when ambiguous' }))
  })
], { description: 'How the host matched the CMDB' })

export const PoamLinkSchema = Type.Object({
  correlationId: Text('Deterministic correlation id stored on the POA&M'),
  sysId: Type.Optional(Text('sys_id of the POA&M record')),
  table: Text('ServiceNow table of the POA&M record')
}, { description: 'The POA&M record this finding maps to' })

const EXAMPLE_FINDING = {
  id: 'pc-3f1c0d9e5b7a4c2e8d6f0a1b2c3d4e5f',
  source: 'pc',
  status: 'failed',
  risk: 'Moderate',
  host: { qualysHostId: '100007', ip: '10.0.0.2', dns: 'db-00001.corp.example.com', fqdn: 'db-00001.corp.example.com' },
  policy: { id: '1001', title: 'CIS RHEL 8 Benchmark' },
  control: { id: '1071', statement: 'Status of the password minimum length', criticalityLabel: 'SERIOUS', criticalityValue: 3 },
  technology: { id: '190', name: 'Red Hat Enterprise Linux 8.x' },
  instance: 'os',
  firstDetected: '2025-01-15T08:00:00Z',
  evaluatedAt: '2025-03-01T06:00:00Z',
  ciMatch: { sysId: '9d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a', rule: 'fqdn', value: 'db-00001.corp.example.com' },
  poam: { correlationId: 'qss-pc-3f1c0d9e5b7a4c2e8d6f0a1b2c3d4e5f', sysId: '0a1b2c3d4e5f60718293a4b5c6d7e8f9', table: 'u_poam_table' },
  updatedAt: '2025-03-01T06:05:12.345Z'
}

export const FindingSchema = Type.Object({
  id: Text('Stable finding id (hash of the natural key)'),
  source: FindingSourceSchema,
  status: FindingStatusSchema,
  risk: RiskSchema,
  host: FindingHostSchema,
  policy: Type.Optional(Type.Object({ id: Type.String(), title: Type.Optional(Type.String()) })),
  control: Type.Optional(Type.Object({
    id: Type.String(),
    statement: Type.String(),
    criticalityLabel: Type.Optional(Type.String()),
    criticalityValue: Type.Optional(Type.Number()),
    rationale: Type.Optional(Type.String()),
    category: Type.Optional(Type.String())
  })),
  technology: Type.Optional(Type.Object({ id: Type.String(), name: Type.Optional(Type.String()) })),
  instance: Type.Optional(Type.String()),
  vuln: Type.Optional(Type.Object({
    qid: Type.String(),
    uniqueVulnId: Type.Optional(Type.String()),
    severity: Type.Number(),
    type: Type.Optional(Type.String()),
    port: Type.Optional(Type.String()),
    protocol: Type.Optional(Type.String()),
    title: Type.Optional(Type.String()),
    cves: Type.Optional(Type.Array(Type.String())),
    solution: Type.Optional(Type.String()),
    diagnosis: Type.Optional(Type.String()),
    results: Type.Optional(Type.String())
  })),
  firstDetected: Type.Optional(Text('ISO-8601 UTC')),
  lastDetected: Type.Optional(Text('ISO-8601 UTC')),
  lastPassed: Type.Optional(Text('ISO-8601 UTC')),
  evaluatedAt: Type.Optional(Text('ISO-8601 UTC: the evaluation or scan that produced this status')),
  evidence: Type.Optional(Type.String()),
  remediation: Type.Optional(Type.String()),
  ciMatch: Type.Optional(CiMatchSchema),
  poam: Type.Optional(PoamLinkSchema),
  updatedAt: Text('ISO-8601 UTC: when this version was stored')
}, { examples: [EXAMPLE_FINDING] })

export const FindingParamsSchema = Type.Object({ id: Id('Finding id') })

export const FINDINGS_DEFAULT_LIMIT = 100

export const FindingsQuerySchema = Type.Object({
  status: Type.Optional(FindingStatusSchema),
  source: Type.Optional(FindingSourceSchema),
  policyId: Type.Optional(Id('Qualys policy id')),
  controlId: Type.Optional(Id('Qualys control id (CID)')),
  hostId: Type.Optional(Id('Qualys host id')),
  host: Type.Optional(Type.String({
    minLength: 1,
    maxLength: 255,
    description: 'FQDN, DNS name, NetBIOS name or IP; case-insensitive, trailing dot ignored. A name without a dot also matches the first label of an FQDN or DNS name.'
  })),
  ciSysId: Type.Optional(Id('sys_id of the matched CI')),
  risk: Type.Optional(RiskSchema),
  matched: Type.Optional(Type.Boolean({ description: 'true: the host matched a CI; false: unmatched, ambiguous or unsafe' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: FINDINGS_DEFAULT_LIMIT })),
  cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 700, description: 'nextCursor of the previous page, unchanged' }))
}, { additionalProperties: false })

export const FindingsPageSchema = Type.Object({
  items: Type.Array(FindingSchema),
  nextCursor: Type.Optional(Type.String({
    description: 'Present while there may be more: pass it as `cursor`. A page can hold fewer than `limit` items (even none) when a sparse filter reached the scan cap; keep following until it is absent.'
  }))
}, { examples: [{ items: [EXAMPLE_FINDING], nextCursor: 'cGMtM2YxYzBkOWU1YjdhNGMyZThkNmYwYTFiMmMzZDRlNWY' }] })
