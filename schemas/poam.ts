import { Type } from 'typebox'
import { FindingsQuerySchema } from './findings.js'

const { limit: _limit, cursor: _cursor, ...filterProperties } = FindingsQuerySchema.properties

export const PoamPreviewRequestSchema = Type.Object({
  findingIds: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { minItems: 1, maxItems: 500, description: 'Findings to preview' })),
  filter: Type.Optional(Type.Object(filterProperties, { additionalProperties: false, description: 'Or a findings filter (first 500 findings)' }))
}, {
  additionalProperties: false,
  examples: [{ filter: { status: 'failed', risk: 'High' } }, { findingIds: ['pc-3f1c0d9e5b7a4c2e8d6f0a1b2c3d4e5f'] }]
})

const FieldChangeSchema = Type.Object({ field: Type.String(), before: Type.String(), after: Type.String() })

export const PoamPreviewItemSchema = Type.Object({
  correlationId: Type.String(),
  action: Type.Enum(['create', 'update', 'close', 'reopen', 'noop']),
  reason: Type.String({ description: 'Why: new-weakness, fields-changed, resolved-on-newer-evaluation, failed-again-after-close, unchanged, ...' }),
  table: Type.String(),
  sysId: Type.Optional(Type.String({ description: 'The existing record the action writes or looked at' })),
  send: Type.Record(Type.String(), Type.String(), { description: 'Exactly the body the next sync would send (whole record on create, changed fields otherwise)' }),
  changes: Type.Array(FieldChangeSchema),
  record: Type.Record(Type.String(), Type.String(), { description: 'The record as Qualys describes it now, every mapped field' }),
  findingIds: Type.Array(Type.String())
}, {
  examples: [{
    correlationId: 'qss-pc-3f1c0d9e5b7a4c2e8d6f0a1b2c3d4e5f',
    action: 'create',
    reason: 'new-weakness',
    table: 'u_poam_table',
    send: { short_description: 'Qualys Policy Compliance Failure: Minimum password length', status: 'Open', risk_rating: 'High' },
    changes: [],
    record: { short_description: 'Qualys Policy Compliance Failure: Minimum password length', status: 'Open', risk_rating: 'High' },
    findingIds: ['pc-3f1c0d9e5b7a4c2e8d6f0a1b2c3d4e5f']
  }]
})

export const PoamPreviewSchema = Type.Object({
  items: Type.Array(PoamPreviewItemSchema),
  skipped: Type.Array(Type.Object({ findingId: Type.String(), reason: Type.String({ description: 'unmatched-host (POAM_UNMATCHED=skip) or no-verdict (status error)' }) })),
  findingsConsidered: Type.Integer({ description: 'With control grouping, every finding of a touched group is read' })
})

export const OscalQuerySchema = Type.Object({
  systemId: Type.String({ minLength: 1, maxLength: 200, pattern: '^[A-Za-z0-9._:-]+$', description: 'The system the POA&M belongs to (FedRAMP: the package ID)' }),
  policyId: Type.Optional(filterProperties.policyId),
  source: Type.Optional(filterProperties.source),
  risk: Type.Optional(filterProperties.risk)
}, { additionalProperties: false })

export const OscalDocumentSchema = Type.Object({
  'plan-of-action-and-milestones': Type.Record(Type.String(), Type.Unknown(), { description: 'uuid, metadata, system-id, local-definitions, observations, risks, poam-items' })
}, { description: 'An OSCAL 1.1.2 POA&M document' })
