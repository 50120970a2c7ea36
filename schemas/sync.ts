import { Type } from 'typebox'

const ActionCountsSchema = Type.Object({
  create: Type.Integer(),
  update: Type.Integer(),
  close: Type.Integer(),
  reopen: Type.Integer(),
  noop: Type.Integer()
})

export const SyncRequestSchema = Type.Object({
  policyIds: Type.Optional(Type.Array(Type.String({ pattern: '^[0-9]{1,12}$' }), {
    maxItems: 500,
    description: 'Policy Compliance policies to sync; default QUALYS_POLICY_IDS'
  })),
  sources: Type.Optional(Type.Array(Type.Enum(['pc', 'vm']), {
    minItems: 1,
    uniqueItems: true,
    description: 'pc = Policy Compliance posture, vm = VM host detections; default pc (plus vm when QUALYS_VM_ENABLED)'
  })),
  dryRun: Type.Optional(Type.Boolean({ description: 'Plan only: write nothing to ServiceNow and store the full plan in the job result' })),
  full: Type.Optional(Type.Boolean({ description: 'Reconcile everything instead of a delta from the last checkpoint' }))
}, {
  additionalProperties: false,
  examples: [{ policyIds: ['4015361'], dryRun: true }, { sources: ['pc', 'vm'], full: true }]
})

export const SyncQuerySchema = Type.Object({
  wait: Type.Optional(Type.Integer({
    minimum: 0,
    maximum: 110,
    description: 'Seconds to wait for the job to finish: 200 with the finished job, or 202 if still running (for `curl -f` in CI pipelines)'
  }))
})

export const SyncHeadersSchema = Type.Object({
  'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'The same key returns the same job for 24 h' }))
})

export const JobIdParamsSchema = Type.Object({
  id: Type.String({ format: 'uuid', description: 'Job id' })
})

const RecordErrorSchema = Type.Object({
  correlationId: Type.String(),
  action: Type.String(),
  code: Type.String(),
  message: Type.String()
})

const FieldChangeSchema = Type.Object({
  field: Type.String(),
  before: Type.Union([Type.String(), Type.Null()]),
  after: Type.String()
})

const PlannedActionSchema = Type.Object({
  action: Type.Enum(['create', 'update', 'close', 'reopen']),
  correlationId: Type.String(),
  table: Type.String(),
  sysId: Type.Optional(Type.String()),
  reason: Type.String(),
  changes: Type.Array(FieldChangeSchema)
})

export const JobSchema = Type.Object({
  id: Type.String(),
  scope: Type.String({ description: 'Syncs run one at a time per scope (the POA&M table)' }),
  status: Type.Enum(['queued', 'running', 'succeeded', 'partial', 'failed', 'cancelled'], {
    description: 'partial: finished, but closures were withheld by the guardrail or some records failed (see result)'
  }),
  request: Type.Object({
    policyIds: Type.Array(Type.String()),
    sources: Type.Array(Type.String()),
    dryRun: Type.Boolean(),
    full: Type.Boolean()
  }),
  createdAt: Type.String({ format: 'date-time' }),
  startedAt: Type.Optional(Type.String({ format: 'date-time' })),
  finishedAt: Type.Optional(Type.String({ format: 'date-time' })),
  attempts: Type.Integer({ description: 'Greater than 1 when another worker resumed the job' }),
  progress: Type.Object({
    phase: Type.String(),
    current: Type.Optional(Type.String()),
    pages: Type.Integer(),
    findings: Type.Integer(),
    actions: ActionCountsSchema,
    errors: Type.Integer(),
    waits: Type.Object({ qualysMs: Type.Number(), serviceNowMs: Type.Number(), count: Type.Integer() }),
    updatedAt: Type.String({ format: 'date-time' })
  }),
  result: Type.Optional(Type.Object({
    actions: ActionCountsSchema,
    tags: Type.Object({ created: Type.Integer(), updated: Type.Integer(), deleted: Type.Integer(), unchanged: Type.Integer() }),
    coverage: Type.Object({ hosts: Type.Integer(), matched: Type.Integer(), unmatched: Type.Integer(), ambiguous: Type.Integer() }),
    errors: Type.Array(RecordErrorSchema),
    errorsOmitted: Type.Integer(),
    closureGuard: Type.Optional(Type.Object({
      code: Type.Literal('QSS_CLOSURE_GUARD'),
      limit: Type.Integer(),
      withheld: Type.Array(Type.String(), { description: 'Correlation ids of the closures held back' }),
      withheldOmitted: Type.Integer(),
      message: Type.String()
    })),
    plan: Type.Optional(Type.Array(PlannedActionSchema, { description: 'Dry runs: every write a real run would make' })),
    planOmitted: Type.Optional(Type.Integer()),
    checkpoints: Type.Record(Type.String(), Type.String())
  })),
  error: Type.Optional(Type.Object({ code: Type.String(), message: Type.String() })),
  completedSources: Type.Array(Type.String()),
  links: Type.Object({ self: Type.String(), events: Type.String() })
}, {
  examples: [{
    id: '0b8f6c1e-8d7a-4a57-9c41-3f0f5b1d2a10',
    scope: 'u_poam_table',
    status: 'succeeded',
    request: { policyIds: ['4015361'], sources: ['pc'], dryRun: false, full: false },
    createdAt: '2026-12-04T10:00:00.000Z',
    startedAt: '2026-12-04T10:00:00.050Z',
    finishedAt: '2026-12-04T10:00:41.200Z',
    attempts: 1,
    progress: {
      phase: 'done',
      pages: 12,
      findings: 11840,
      actions: { create: 412, update: 9, close: 17, reopen: 2, noop: 3110 },
      errors: 0,
      waits: { qualysMs: 0, serviceNowMs: 1200, count: 3 },
      updatedAt: '2026-12-04T10:00:41.200Z'
    },
    result: {
      actions: { create: 412, update: 9, close: 17, reopen: 2, noop: 3110 },
      tags: { created: 120, updated: 14, deleted: 3, unchanged: 410 },
      coverage: { hosts: 980, matched: 941, unmatched: 35, ambiguous: 4 },
      errors: [],
      errorsOmitted: 0,
      checkpoints: { 'pc:4015361': '2026-12-04T10:00:00Z' }
    },
    completedSources: ['pc:4015361'],
    links: { self: '/sync/0b8f6c1e-8d7a-4a57-9c41-3f0f5b1d2a10', events: '/sync/0b8f6c1e-8d7a-4a57-9c41-3f0f5b1d2a10/events' }
  }]
})

export const JobListSchema = Type.Object({
  items: Type.Array(JobSchema)
})

export const JobListQuerySchema = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 }))
})
