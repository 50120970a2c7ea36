import { createHash } from 'node:crypto'
import type { Redis } from 'ioredis'
import { QssError } from '../errors.js'
import { createKbCache, type KbCache } from '../findings/kb-cache.js'
import type { Finding } from '../findings/model.js'
import type { Metrics } from '../metrics.js'
import { createConcurrencyLimiter } from '../store/concurrency-limiter.js'
import type { KvStore } from '../store/kv-store.js'
import { MemoryKvStore } from '../store/memory-kv-store.js'
import { parseDetectionPage } from './detection-parser.js'
import { LimitGovernor, type WaitEvent } from './governor.js'
import { parseKnowledgeBase, type KbEntry } from './kb-parser.js'
import { nextPageRequest, readWarning, type PageRequest } from './pagination.js'
import { parsePosturePage } from './posture-parser.js'
import { createTransport } from './transport.js'
import { asList, child, text, type ParsedXml } from './xml.js'

/**
 * The Qualys client the sync engine calls.
 *
 *   const qualys = createQualysClient({ baseUrl, username, password, requestedWith, timeoutMs, pageSize, kv?, redis?, metrics?, log?, onWait? })
 *   await qualys.listPolicies(): QualysPolicy[]
 *   for await (const page of qualys.postures(policyId, { since?, full? })) ...   // PosturePage
 *   for await (const page of qualys.detections({ since?, severities?, includeFixed? })) ...   // DetectionPage
 *   await qualys.knowledgeBase(qids): Map<qid, KbEntry>
 *   qualys.stats(): { calls, rejected409, retries, waits, waitMs }
 *
 * Pages come one at a time (memory bounded by one page). Delta pulls use
 * `status_changes_since` without a status filter, so Passed postures arrive and the engine
 * can close POA&Ms; detections include Fixed when asked. Errors are QssError with
 * QSS_QUALYS_* codes (see simple-return.ts, transport.ts, pagination.ts, xml.ts).
 * Limits are shared through `kv` (rate budget) and `redis` (concurrency slots).
 */

export interface QualysClientOptions {
  baseUrl: string
  username: string
  password: string
  requestedWith: string
  timeoutMs: number
  /** Records (posture) or hosts (detections) per page: `truncation_limit`. */
  pageSize: number
  kv?: KvStore
  /** Shares concurrency slots with every replica. */
  redis?: Redis
  keyPrefix?: string
  metrics?: Metrics
  log?: { debug: (obj: object, msg?: string) => void, warn: (obj: object, msg?: string) => void }
  onWait?: (event: { reason: string, ms: number }) => void
  kbCache?: KbCache
  /** QIDs per KnowledgeBase call (default 300). */
  kbBatchSize?: number
  /** Detection API path; newer subscriptions use /api/5.0/... (default 2.0). */
  detectionPath?: string
  retries?: number
  retryBaseMs?: number
  maxWaitMs?: number
}

export interface PosturePage {
  findings: Finding[]
  /** RESPONSE/DATETIME of this page; the first page's is the next delta checkpoint. */
  responseDatetime: string
  page: number
  invalidCharsStripped: number
}

export type DetectionPage = PosturePage

export interface QualysPolicy { id: string, title?: string, lastEvaluated?: string }

export const QUALYS_PATHS = {
  policy: '/api/2.0/fo/compliance/policy/',
  posture: '/api/2.0/fo/compliance/posture/info/',
  detection: '/api/2.0/fo/asset/host/vm/detection/',
  kb: '/api/2.0/fo/knowledge_base/vuln/'
} as const

/**
 * The parser's strings are slices of the page body, and a slice keeps its whole parent
 * alive: a caller holding a few findings would hold every page they came from. A JSON
 * round trip gives the findings strings of their own, so a page is freed once read.
 */
function detached (findings: Finding[]): Finding[] {
  return JSON.parse(JSON.stringify(findings)) as Finding[]
}

/** Qualys wants `YYYY-MM-DDTHH:MM:SSZ`: milliseconds dropped, anything unparsable refused. */
function qualysDate (iso: string): string {
  const t = Date.parse(iso)
  if (Number.isNaN(t)) throw new QssError('QSS_QUALYS_BAD_REQUEST', `Not an ISO-8601 date: ${iso}`, { statusCode: 400 })
  return new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z')
}

export function createQualysClient (options: QualysClientOptions) {
  const kv = options.kv ?? new MemoryKvStore()
  const subscription = createHash('sha256').update(`${new URL(options.baseUrl).origin}\u001f${options.username}`).digest('hex').slice(0, 16)
  const governor = new LimitGovernor({
    kv,
    subscription,
    maxWaitMs: options.maxWaitMs,
    limiter: (name) => createConcurrencyLimiter({ name, limit: 1, redis: options.redis, keyPrefix: options.keyPrefix }),
    onWait: (event: WaitEvent) => {
      options.metrics?.upstreamWaitSeconds.inc({ target: 'qualys', reason: event.reason }, event.ms / 1000)
      options.onWait?.({ reason: event.reason, ms: event.ms })
    }
  })
  const transport = createTransport({ ...options, governor })
  const kbCache = options.kbCache ?? createKbCache({ kv: options.kv })
  const titles = new Map<string, string>()

  /** Pages of one list call, following WARNING/URL on the configured origin only. */
  async function * pages (first: PageRequest, operation: string, expectedRoot: string): AsyncGenerator<ParsedXml & { page: number }> {
    let request: PageRequest | undefined = first
    const seen = new Set<string>()
    for (let page = 1; request !== undefined; page++) {
      const parsed = await transport.call({ ...request, operation, page })
      if (parsed.root !== expectedRoot) {
        throw new QssError('QSS_QUALYS_XML', `Qualys ${request.path} (page ${page}) answered <${parsed.root}> where <${expectedRoot}> was expected`, { statusCode: 502, details: { endpoint: request.path, page } })
      }
      const url = readWarning(parsed.body)?.url
      request = url === undefined ? undefined : nextPageRequest(url, options.baseUrl)
      if (url !== undefined) {
        // A digest, not the URL: the URL is a slice of the page body and would keep every page alive.
        const digest = createHash('sha256').update(url).digest('hex')
        if (seen.has(digest)) throw new QssError('QSS_QUALYS_XML', `Qualys ${first.path} (page ${page}) pointed back at a page already read`, { statusCode: 502, details: { endpoint: first.path, page } })
        seen.add(digest)
      }
      yield { ...parsed, page }
    }
  }

  async function listPolicies (): Promise<QualysPolicy[]> {
    const out: QualysPolicy[] = []
    const params = new URLSearchParams({ action: 'list', details: 'Basic' })
    for await (const { body } of pages({ path: QUALYS_PATHS.policy, params }, 'listPolicies', 'POLICY_LIST_OUTPUT')) {
      for (const node of asList(child(body, 'RESPONSE.POLICY_LIST.POLICY'))) {
        const id = text(node.ID)
        if (id === undefined) continue
        const policy: QualysPolicy = { id }
        const title = text(node.TITLE)
        const lastEvaluated = text(child(node, 'LAST_EVALUATED.DATETIME'))
        if (title !== undefined) { policy.title = title; titles.set(id, title) }
        if (lastEvaluated !== undefined) policy.lastEvaluated = lastEvaluated
        out.push(policy)
      }
    }
    return out
  }

  async function * postures (policyId: string, opts: { since?: string, full?: boolean } = {}): AsyncGenerator<PosturePage> {
    if (!/^\d+$/.test(policyId)) throw new QssError('QSS_QUALYS_BAD_REQUEST', `Policy ID must be numeric, got ${JSON.stringify(policyId)}`, { statusCode: 400 })
    const params = new URLSearchParams({
      action: 'list', policy_id: policyId, details: 'All', truncation_limit: String(options.pageSize), show_remediation_info: '1', cause_of_failure: '1'
    })
    // No status filter on a delta: Passed records are the evidence that closes POA&Ms.
    if (opts.since !== undefined && opts.full !== true) params.set('status_changes_since', qualysDate(opts.since))
    const policyTitle = titles.get(policyId)
    for await (const parsed of pages({ path: QUALYS_PATHS.posture, params }, 'postures', 'POSTURE_INFO_LIST_OUTPUT')) {
      const { findings, responseDatetime } = parsePosturePage(parsed.body, policyTitle === undefined ? { policyId } : { policyId, policyTitle })
      yield { findings: detached(findings), responseDatetime, page: parsed.page, invalidCharsStripped: parsed.invalidCharsStripped }
    }
  }

  async function knowledgeBase (qids: readonly string[]): Promise<Map<string, KbEntry>> {
    const wanted = [...new Set(qids)].filter((q) => /^\d+$/.test(q))
    const found = await kbCache.getMany(wanted)
    const missing = wanted.filter((q) => !found.has(q))
    const batch = options.kbBatchSize ?? 300
    for (let i = 0; i < missing.length; i += batch) {
      const params = new URLSearchParams({ action: 'list', details: 'All', ids: missing.slice(i, i + batch).join(',') })
      for await (const parsed of pages({ path: QUALYS_PATHS.kb, params }, 'knowledgeBase', 'KNOWLEDGE_BASE_VULN_LIST_OUTPUT')) {
        const entries = parseKnowledgeBase(parsed.body)
        await kbCache.setMany(entries.values())
        for (const [qid, entry] of entries) found.set(qid, entry)
      }
    }
    return found
  }

  async function * detections (opts: { since?: string, severities?: string, includeFixed?: boolean, enrich?: boolean } = {}): AsyncGenerator<DetectionPage> {
    const params = new URLSearchParams({
      action: 'list',
      truncation_limit: String(options.pageSize),
      show_results: '1',
      output_format: 'XML',
      status: opts.includeFixed === true ? 'New,Active,Re-Opened,Fixed' : 'New,Active,Re-Opened'
    })
    if (opts.severities !== undefined && opts.severities !== '') params.set('severities', opts.severities)
    if (opts.since !== undefined) params.set('vm_processed_after', qualysDate(opts.since))
    const path = options.detectionPath ?? QUALYS_PATHS.detection
    for await (const parsed of pages({ path, params }, 'detections', 'HOST_LIST_VM_DETECTION_OUTPUT')) {
      const { findings, responseDatetime } = parseDetectionPage(parsed.body)
      if (opts.enrich !== false && findings.length > 0) {
        const kb = await knowledgeBase(findings.map((f) => f.vuln?.qid ?? ''))
        for (const f of findings) {
          const entry = kb.get(f.vuln?.qid ?? '')
          if (entry === undefined || f.vuln === undefined) continue
          if (entry.title !== undefined) f.vuln.title = entry.title
          if (entry.solution !== undefined) f.vuln.solution = entry.solution
          if (entry.diagnosis !== undefined) f.vuln.diagnosis = entry.diagnosis
          f.vuln.cves = entry.cves
          if (entry.solution !== undefined) f.remediation = entry.solution
        }
      }
      yield { findings: detached(findings), responseDatetime, page: parsed.page, invalidCharsStripped: parsed.invalidCharsStripped }
    }
  }

  return {
    listPolicies,
    postures,
    detections,
    knowledgeBase,
    stats: () => ({ ...transport.counters, ...governor.counters })
  }
}

export type QualysClient = ReturnType<typeof createQualysClient>
