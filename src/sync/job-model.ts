/**
 * The sync job as callers see it (`GET /sync/{id}`) and as the worker records it. Kept
 * as plain JSON so any replica can read what another one wrote.
 */

export const JobStatus = {
  queued: 'queued',
  running: 'running',
  succeeded: 'succeeded',
  /** Finished, but something was held back or failed per record: read `result`. */
  partial: 'partial',
  failed: 'failed',
  cancelled: 'cancelled'
} as const
export type JobStatus = typeof JobStatus[keyof typeof JobStatus]

export const TERMINAL_STATUSES: ReadonlySet<JobStatus> = new Set([JobStatus.succeeded, JobStatus.partial, JobStatus.failed, JobStatus.cancelled])

export type SyncSource = 'pc' | 'vm'

export interface SyncRequest {
  policyIds: string[]
  sources: SyncSource[]
  dryRun: boolean
  full: boolean
}

export const ACTION_KINDS = ['create', 'update', 'close', 'reopen', 'noop'] as const
export type ActionKind = typeof ACTION_KINDS[number]

export interface JobProgress {
  phase: 'queued' | 'fetching' | 'tagging' | 'done'
  /** The policy (or `vm`) being read now. */
  current?: string
  pages: number
  findings: number
  actions: Record<ActionKind, number>
  errors: number
  waits: { qualysMs: number, serviceNowMs: number, count: number }
  updatedAt: string
}

export interface RecordError {
  correlationId: string
  action: ActionKind | 'tag'
  code: string
  message: string
}

/** A field-level change in a dry-run plan. */
export interface FieldChange { field: string, before: string | null, after: string }

export interface PlannedAction {
  action: Exclude<ActionKind, 'noop'>
  correlationId: string
  table: string
  sysId?: string
  reason: string
  changes: FieldChange[]
}

export interface JobResult {
  actions: Record<ActionKind, number>
  tags: { created: number, updated: number, deleted: number, unchanged: number }
  coverage: { hosts: number, matched: number, unmatched: number, ambiguous: number }
  errors: RecordError[]
  /** Errors beyond the first ones kept in `errors`. */
  errorsOmitted: number
  closureGuard?: { code: 'QSS_CLOSURE_GUARD', limit: number, withheld: string[], withheldOmitted: number, message: string }
  /** Dry runs: what a real run would do. */
  plan?: PlannedAction[]
  planOmitted?: number
  /** Qualys RESPONSE/DATETIME of the first page, per source key: the next delta starts here. */
  checkpoints: Record<string, string>
}

export interface SyncJob {
  id: string
  scope: string
  status: JobStatus
  request: SyncRequest
  createdAt: string
  startedAt?: string
  finishedAt?: string
  /** Set when a worker resumed the job after the previous one stopped. */
  attempts: number
  progress: JobProgress
  result?: JobResult
  error?: { code: string, message: string }
  /** Source keys (`pc:<policyId>`, `vm`) already finished: a resumed job skips them. */
  completedSources: string[]
}

export function emptyActionCounts (): Record<ActionKind, number> {
  return { create: 0, update: 0, close: 0, reopen: 0, noop: 0 }
}

export function emptyJobResult (dryRun: boolean): JobResult {
  return {
    actions: emptyActionCounts(),
    tags: { created: 0, updated: 0, deleted: 0, unchanged: 0 },
    coverage: { hosts: 0, matched: 0, unmatched: 0, ambiguous: 0 },
    errors: [],
    errorsOmitted: 0,
    checkpoints: {},
    ...(dryRun ? { plan: [], planOmitted: 0 } : {})
  }
}

export function newJob (id: string, scope: string, request: SyncRequest, now: Date): SyncJob {
  return {
    id,
    scope,
    status: JobStatus.queued,
    request,
    createdAt: now.toISOString(),
    attempts: 0,
    completedSources: [],
    progress: {
      phase: 'queued',
      pages: 0,
      findings: 0,
      actions: emptyActionCounts(),
      errors: 0,
      waits: { qualysMs: 0, serviceNowMs: 0, count: 0 },
      updatedAt: now.toISOString()
    }
  }
}
