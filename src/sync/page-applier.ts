import type { Config } from '../config.js'
import { isQssError } from '../errors.js'
import type { CiMatch, Finding } from '../findings/model.js'
import type { FindingsStore, PoamLinkUpdate, StoredFinding } from '../findings/store.js'
import type { Metrics } from '../metrics.js'
import { buildDesiredRecords } from '../poam/mapping.js'
import { baseCorrelationId } from '../poam/correlation.js'
import type { PoamProfile } from '../poam/profiles.js'
import type { JobResult, PlannedAction, RecordError } from './job-model.js'
import { applyClosureGuard, plan, type PlanAction } from './planner.js'
import type { PoamRecordsPort } from './ports.js'

/** Upstream failures that stop the run (retrying record by record would only repeat them). */
const FATAL_CODES = new Set([
  'QSS_SERVICENOW_AUTH', 'QSS_SERVICENOW_UNAVAILABLE', 'QSS_SERVICENOW_TIMEOUT', 'QSS_SERVICENOW_RATE_LIMIT'
])

const MAX_WITHHELD_KEPT = 500
/** Findings planned together in control grouping: whole groups, about this many findings. */
const GROUP_BATCH_FINDINGS = 2000

export interface PageApplierOptions {
  config: Config
  profile: PoamProfile
  records: PoamRecordsPort
  findings: FindingsStore
  metrics?: Metrics | undefined
  dryRun: boolean
  /** Open records when the run started, for the closure guardrail's percentage. */
  openAtStart: number
  /** Base correlation ids of the records open when the run started, when known. */
  openBases?: Set<string> | undefined
  now: () => Date
  /** The job's result, filled in place so progress shows it as it grows. */
  result: JobResult
  maxErrors: number
  maxPlan: number
}

/**
 * Plans and applies one batch of findings against ServiceNow: map to desired records,
 * load the existing ones in one query, plan, hold back closures past the guardrail,
 * write with the client's bounded concurrency, and link the findings to their records.
 * A failed record is recorded and the batch goes on; an outage stops the run.
 */
export class PageApplier {
  private withheld: string[] = []
  private withheldCount = 0
  private closuresAllowed: number
  private readonly groups = new Set<string>()

  constructor (private readonly opts: PageApplierOptions) {
    // A resumed job already closed some records in its earlier attempt.
    this.closuresAllowed = opts.result.actions.close
  }

  /** Plans and applies a batch (the two steps of `prepare` and `execute` back to back). */
  async applyFindings (findings: readonly Finding[], matches: Map<string, CiMatch>): Promise<void> {
    await this.execute(await this.prepare(findings, matches))
  }

  /**
   * Reads and plans: desired records, the existing ones (one lookup), the plan, and the
   * guardrail's verdict. Writes nothing, so the engine can prepare page N+1 while page N
   * is still being written.
   */
  async prepare (findings: readonly Finding[], matches: Map<string, CiMatch>): Promise<PlanAction[]> {
    const { config, profile, records, now } = this.opts
    const grouping = findings.some((f) => f.source === 'vm') ? 'finding' : config.POAM_GROUPING
    const { records: desired } = buildDesiredRecords(findings, matches, { profile, grouping, unmatched: config.POAM_UNMATCHED, now: now() })
    if (desired.size === 0) return []
    // Failing findings may meet a closed record (reopen); passed ones matter only where a record is open.
    const { openBases } = this.opts
    const wanted = [...desired.values()]
      .filter((d) => d.open || openBases === undefined || openBases.has(baseCorrelationId(d.correlationId)))
      .map((d) => d.correlationId)
    const existing = wanted.length === 0 ? new Map() : await records.findByCorrelationIds(wanted)
    const actions = plan(desired, existing, { reopen: config.POAM_REOPEN, profile, now: now() })
    const guard = applyClosureGuard(actions, {
      openCount: this.opts.openAtStart,
      maxPerRun: config.CLOSE_MAX_PER_RUN,
      maxPercent: config.CLOSE_MAX_PERCENT,
      closedSoFar: this.closuresAllowed
    })
    // Counted when allowed, not when written: the next page is planned before this one is written.
    this.closuresAllowed += guard.allowed.filter((a) => a.kind === 'close').length
    for (const action of guard.withheld) {
      this.withheldCount++
      if (this.withheld.length < MAX_WITHHELD_KEPT) this.withheld.push(action.correlationId)
    }
    return guard.allowed
  }

  /** Writes a prepared plan; per-record failures are recorded, an outage is thrown once all writes settled. */
  async execute (actions: readonly PlanAction[]): Promise<void> {
    const outcomes = await Promise.allSettled(actions.map((action) => this.applyOne(action)))
    const links: PoamLinkUpdate[] = []
    let fatal: unknown
    outcomes.forEach((outcome, i) => {
      const action = actions[i] as PlanAction
      if (outcome.status === 'fulfilled') {
        const sysId = outcome.value
        for (const findingId of action.findingIds) {
          links.push({ findingId, correlationId: action.correlationId, table: action.table, ...(sysId === undefined ? {} : { sysId }) })
        }
        return
      }
      const err = outcome.reason
      if (isQssError(err) && !FATAL_CODES.has(err.code)) this.recordError(action, err.code, err.message)
      else fatal ??= err
    })
    if (!this.opts.dryRun && links.length > 0) await this.opts.findings.setPoamLinks(links)
    if (fatal !== undefined) throw fatal
  }

  /** Applies one action; answers the sys_id of the record it wrote (undefined in dry runs and noops). */
  private async applyOne (action: PlanAction): Promise<string | undefined> {
    const { result, records, metrics } = this.opts
    if (action.kind === 'noop') {
      result.actions.noop++
      metrics?.syncRecords.inc({ action: 'noop' })
      return action.sysId
    }
    if (this.opts.dryRun) {
      this.recordPlan(action)
    } else if (action.kind === 'create') {
      const { sysId } = await records.create(action.payload)
      result.actions.create++
      metrics?.syncRecords.inc({ action: 'create' })
      return sysId
    } else {
      await records.update(action.sysId as string, action.payload)
    }
    result.actions[action.kind]++
    metrics?.syncRecords.inc({ action: action.kind })
    return action.sysId
  }

  private recordPlan (action: PlanAction) {
    const { result } = this.opts
    const plan = result.plan ?? (result.plan = [])
    if (plan.length >= this.opts.maxPlan) {
      result.planOmitted = (result.planOmitted ?? 0) + 1
      return
    }
    const planned: PlannedAction = {
      action: action.kind as PlannedAction['action'],
      correlationId: action.correlationId,
      table: action.table,
      reason: action.reason,
      changes: action.kind === 'create'
        ? Object.entries(action.payload).map(([field, after]) => ({ field, before: null, after }))
        : action.changes
    }
    if (action.sysId !== undefined) planned.sysId = action.sysId
    plan.push(planned)
  }

  private recordError (action: PlanAction, code: string, message: string) {
    this.pushError({ correlationId: action.correlationId, action: action.kind, code, message })
  }

  recordTagError (target: string, code: string, message: string) {
    this.pushError({ correlationId: target, action: 'tag', code, message })
  }

  private pushError (error: RecordError) {
    const { result, metrics } = this.opts
    metrics?.syncRecords.inc({ action: 'error' })
    if (result.errors.length >= this.opts.maxErrors) result.errorsOmitted++
    else result.errors.push(error)
  }

  /** Control grouping: a record covers hosts on many pages, so it is planned once the policy is read. */
  rememberGroups (findings: readonly Finding[]) {
    for (const f of findings) {
      if (f.policy !== undefined && f.control !== undefined) this.groups.add(`${f.policy.id}\u001f${f.control.id}`)
    }
  }

  /** Plans every remembered group from all of its findings in the store. */
  async applyRememberedGroups (): Promise<void> {
    const keys = [...this.groups].sort()
    this.groups.clear()
    let batch: StoredFinding[] = []
    const flush = async () => {
      const matches = new Map<string, CiMatch>()
      for (const f of batch) if (f.ciMatch !== undefined) matches.set(f.host.qualysHostId, f.ciMatch)
      await this.applyFindings(batch, matches)
      batch = []
    }
    for (const key of keys) {
      const [policyId, controlId] = key.split('\u001f') as [string, string]
      let cursor: string | undefined
      do {
        const page = await this.opts.findings.query({ policyId, controlId }, cursor === undefined ? { limit: 500 } : { limit: 500, cursor })
        batch.push(...page.items)
        cursor = page.nextCursor
      } while (cursor !== undefined)
      // Only whole groups go into a batch: a group planned from part of its hosts would be wrong.
      if (batch.length >= GROUP_BATCH_FINDINGS) await flush()
    }
    if (batch.length > 0) await flush()
  }

  /** Records the guardrail's verdict on the job result. */
  finalizeGuard () {
    if (this.withheldCount === 0) return
    const { config, result } = this.opts
    const limit = Math.min(config.CLOSE_MAX_PER_RUN, Math.floor(this.opts.openAtStart * config.CLOSE_MAX_PERCENT / 100))
    result.closureGuard = {
      code: 'QSS_CLOSURE_GUARD',
      limit,
      withheld: this.withheld,
      withheldOmitted: this.withheldCount - this.withheld.length,
      message: `${this.withheldCount} closures withheld: this run may close at most ${limit} records ` +
        `(CLOSE_MAX_PER_RUN=${config.CLOSE_MAX_PER_RUN}, CLOSE_MAX_PERCENT=${config.CLOSE_MAX_PERCENT}% of ${this.opts.openAtStart} open). ` +
        'Check the Qualys data; the next run closes the rest within the same limits, or raise the limits.'
    }
  }
}
