import type { Config } from '../config.js'
import { isQssError } from '../errors.js'
import type { CiMatch, Finding, FindingHost } from '../findings/model.js'
import type { FindingsStore } from '../findings/store.js'
import type { Metrics } from '../metrics.js'
import type { PoamProfile } from '../poam/profiles.js'
import { baseCorrelationId } from '../poam/correlation.js'
import type { KvStore } from '../store/kv-store.js'
import { JobInterrupted } from './job-queue.js'
import { emptyJobResult, type JobResult, type SyncJob } from './job-model.js'
import type { JobControl } from './jobs.js'
import { PageApplier } from './page-applier.js'
import type { CiMatcherPort, CiTaggerPort, FindingPage, FindingSourcePort, PoamRecordsPort, WaitEvent } from './ports.js'
import { computeCiTags } from './ci-tags.js'
import { readAhead } from './prefetch.js'

export interface EngineDeps {
  config: Config
  source: FindingSourcePort
  ciMatcher: CiMatcherPort
  records: PoamRecordsPort
  tagger: CiTaggerPort
  findings: FindingsStore
  kv: KvStore
  profile: PoamProfile
  metrics?: Metrics
  /** Upstream waits are reported here; the engine points it at the running job. */
  waits: { listener?: (event: WaitEvent) => void }
  now?: () => Date
}

/** Keeps the job result small enough to store and return: the rest is counted. */
const MAX_ERRORS_KEPT = 200
const MAX_PLAN_KEPT = 5000
/** Open records up to which their ids are kept in memory for the run (about 100 bytes each). */
const MAX_OPEN_SET = 500_000

/**
 * One sync, page by page (design.md, "Data flow of one sync"): each page is parsed,
 * matched to CIs, stored, planned against the existing POA&Ms and applied before the next
 * one is read, so memory is bounded by a page. Sources already finished by an earlier
 * attempt of the same job are skipped; an interrupted job resumes from there.
 */
export class SyncEngine {
  private readonly now: () => Date

  constructor (private readonly deps: EngineDeps) {
    this.now = deps.now ?? (() => new Date())
  }

  private checkpointKey (sourceKey: string) { return `checkpoint:v1:${this.deps.profile.table}:${sourceKey}` }

  /** The `since` of a delta pull: the last checkpoint minus an overlap, or a full pull. */
  private async since (sourceKey: string, full: boolean): Promise<string | undefined> {
    if (full) return undefined
    const checkpoint = await this.deps.kv.get(this.checkpointKey(sourceKey))
    if (checkpoint === undefined) return undefined
    const ms = Date.parse(checkpoint) - this.deps.config.DELTA_OVERLAP_SEC * 1000
    return Number.isNaN(ms) ? undefined : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z')
  }

  async run (job: SyncJob, control: JobControl): Promise<{ result: JobResult, cancelled: boolean }> {
    const { config, records } = this.deps
    const dryRun = job.request.dryRun
    const result: JobResult = job.result ?? emptyJobResult(dryRun)
    job.result = result
    const openAtStart = await records.countOpen()
    const openBases = await this.openBases(openAtStart)
    const applier = new PageApplier({
      config,
      profile: this.deps.profile,
      records,
      findings: this.deps.findings,
      metrics: this.deps.metrics,
      dryRun,
      openAtStart,
      openBases,
      now: this.now,
      result,
      maxErrors: MAX_ERRORS_KEPT,
      maxPlan: MAX_PLAN_KEPT
    })
    const touchedCis = new Set<string>()
    const seenHosts = new Map<string, CiMatch>()
    this.deps.waits.listener = (event) => {
      job.progress.waits.count += 1
      if (event.target === 'qualys') job.progress.waits.qualysMs += event.ms
      else job.progress.waits.serviceNowMs += event.ms
    }
    try {
      for (const sourceKey of this.sourceKeys(job)) {
        if (job.completedSources.includes(sourceKey)) continue
        if (await control.cancelRequested()) return { result: this.finish(result, applier, seenHosts), cancelled: true }
        await control.update((j) => { j.progress.phase = 'fetching'; j.progress.current = sourceKey })
        const since = await this.since(sourceKey, job.request.full)
        let firstDatetime: string | undefined
        // Page N is written while page N+1 is matched, planned and starts writing; at most two pages in flight.
        let writing: Promise<void> | undefined
        for await (const { page, matching } of readAhead(this.withCiMatching(this.pages(sourceKey, since)))) {
          firstDatetime ??= page.responseDatetime
          const matches = await matching
          for (const [hostId, match] of matches) {
            seenHosts.set(hostId, match)
            if ('sysId' in match) touchedCis.add(match.sysId)
          }
          await this.deps.findings.upsertPage(page.findings, matches)
          const perFinding = config.POAM_GROUPING === 'finding' || sourceKey === 'vm'
          const prepared = perFinding ? await applier.prepare(page.findings, matches) : []
          if (!perFinding) applier.rememberGroups(page.findings)
          // This page's writes start as soon as it is planned, while the previous page's last
          // writes drain: the ServiceNow lanes never idle at a page boundary.
          const previous = writing
          writing = applier.execute(prepared)
          // Keep a failed write from surfacing as unhandled before it is awaited.
          writing.catch(() => {})
          try {
            await previous
          } catch (err) {
            await writing.catch(() => {})
            throw err
          }
          await control.update((j) => {
            j.progress.pages += 1
            j.progress.findings += page.findings.length
            j.progress.actions = { ...result.actions }
            j.progress.errors = result.errors.length + result.errorsOmitted
          })
          // Page boundary: the only place a sync stops, and only once its writes are done,
          // so nothing is ever half-applied.
          if (control.signal.aborted || await control.cancelRequested()) {
            await writing
            if (control.signal.aborted) throw new JobInterrupted()
            return { result: this.finish(result, applier, seenHosts), cancelled: true }
          }
        }
        await writing
        await applier.applyRememberedGroups()
        if (firstDatetime !== undefined) {
          result.checkpoints[sourceKey] = firstDatetime
          if (!dryRun) await this.deps.kv.set(this.checkpointKey(sourceKey), firstDatetime)
        }
        await control.update((j) => { j.completedSources.push(sourceKey) })
      }
      await control.update((j) => { j.progress.phase = 'tagging'; j.progress.current = undefined })
      if (!dryRun && touchedCis.size > 0) {
        const desired = await computeCiTags(this.deps.findings, [...touchedCis])
        const counts = await this.deps.tagger.apply(desired)
        for (const key of ['created', 'updated', 'deleted', 'unchanged'] as const) result.tags[key] += counts[key]
        for (const e of counts.errors) applier.recordTagError(`ci:${e.ciSysId}:${e.key}`, e.code, e.message)
      }
      if (!dryRun) await this.recordOpenByRisk()
      return { result: this.finish(result, applier, seenHosts), cancelled: false }
    } catch (err) {
      // An upstream failure still leaves a coherent partial result (counts, coverage, guardrail) on the job.
      if (isQssError(err)) this.finish(result, applier, seenHosts)
      throw err
    } finally {
      this.deps.waits.listener = undefined
    }
  }

  /**
   * The base correlation ids of the open records, read once per run (one column, paged):
   * a passed finding without an open record can only be a noop, so it needs no lookup.
   * Above MAX_OPEN_SET records the set would cost more memory than the lookups it saves.
   */
  private async openBases (openCount: number): Promise<Set<string> | undefined> {
    if (openCount > MAX_OPEN_SET) return undefined
    const bases = new Set<string>()
    for await (const ids of this.deps.records.openCorrelationIds()) for (const id of ids) bases.add(baseCorrelationId(id))
    return bases
  }

  /** The open-POA&M gauge; a failed count only leaves the gauge as it was. */
  private async recordOpenByRisk () {
    const counts = await this.deps.records.countOpenByRisk().catch(() => undefined)
    if (counts === undefined) return
    for (const [risk, n] of Object.entries(counts)) this.deps.metrics?.openPoams.set({ risk }, n)
  }

  private sourceKeys (job: SyncJob): string[] {
    const keys: string[] = []
    if (job.request.sources.includes('pc')) keys.push(...job.request.policyIds.map((id) => `pc:${id}`))
    if (job.request.sources.includes('vm')) keys.push('vm')
    return keys
  }

  /**
   * Starts matching a page's hosts to CIs as soon as the page is read: with the read-ahead,
   * page N+1's CMDB lookups run while page N is planned and written, instead of holding
   * up the ServiceNow lanes at each page boundary.
   */
  private async * withCiMatching (pages: AsyncIterable<FindingPage>): AsyncGenerator<{ page: FindingPage, matching: Promise<Map<string, CiMatch>> }> {
    for await (const page of pages) {
      const matching = this.deps.ciMatcher.resolve(uniqueHosts(page.findings))
      // Awaited when the engine reaches the page; a stop before that must not leave it unhandled.
      matching.catch(() => {})
      yield { page, matching }
    }
  }

  private pages (sourceKey: string, since: string | undefined): AsyncIterable<FindingPage> {
    const opts = since === undefined ? {} : { since }
    return sourceKey === 'vm' ? this.deps.source.detections(opts) : this.deps.source.postures(sourceKey.slice(3), opts)
  }

  private finish (result: JobResult, applier: PageApplier, seenHosts: Map<string, CiMatch>): JobResult {
    applier.finalizeGuard()
    result.coverage = { hosts: seenHosts.size, matched: 0, unmatched: 0, ambiguous: 0 }
    for (const match of seenHosts.values()) {
      if ('sysId' in match) result.coverage.matched++
      else if (match.reason === 'ambiguous') result.coverage.ambiguous++
      else result.coverage.unmatched++
    }
    return result
  }
}

function uniqueHosts (findings: Finding[]): FindingHost[] {
  const hosts = new Map<string, FindingHost>()
  for (const f of findings) if (!hosts.has(f.host.qualysHostId)) hosts.set(f.host.qualysHostId, f.host)
  return [...hosts.values()]
}
