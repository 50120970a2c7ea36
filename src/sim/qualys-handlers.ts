import type { ComplianceWorld, SimPolicy, SimPosture, SimControl } from './compliance.js'
import type { SimDetection } from './qualys-detections.js'
import type { SimHost } from './hosts.js'
import { controlListXml, detectionChunks, kbXml, policyListXml, postureChunks, type XmlTraps } from './qualys-xml.js'

/**
 * The simulator's list endpoints: request parameters in, XML body (string or chunks)
 * out. Parameter problems throw `ParamError`, answered as Qualys does (400, 19xx).
 *
 *   handlers: Record<'policy'|'control'|'posture'|'detection'|'kb', Handler>
 */

export interface SimRequest {
  params: URLSearchParams
  traps: XmlTraps
  /** URL of the same call with `id_min` set, for the WARNING of a truncated page. */
  nextUrl: (idMin: string) => string
}

export type Handler = (world: ComplianceWorld, req: SimRequest) => string | Iterable<string>

export class ParamError extends Error {
  constructor (readonly qualysCode: string, message: string) { super(message) }
}

/** `ids`-style values: numbers and ranges (`160-165`), comma-separated. */
function idList (params: URLSearchParams, name: string): ((id: number) => boolean) | undefined {
  const raw = params.get(name)
  if (raw === null || raw.trim() === '') return undefined
  const ranges: Array<[number, number]> = []
  for (const part of raw.split(',').map((s) => s.trim())) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part)
    if (m === null) throw new ParamError('1905', `parameter ${name} has invalid value: ${part} (neither a positive integer nor a range: ${part})`)
    ranges.push([Number(m[1]), Number(m[2] ?? m[1])])
  }
  return (id) => ranges.some(([a, b]) => id >= a && id <= b)
}

function positiveInt (params: URLSearchParams, name: string, fallback: number): number {
  const raw = params.get(name)
  if (raw === null || raw === '') return fallback
  if (!/^\d+$/.test(raw)) throw new ParamError('1905', `parameter ${name} has invalid value: ${raw}`)
  return Number(raw)
}

function isoParam (params: URLSearchParams, name: string): number | undefined {
  const raw = params.get(name)
  if (raw === null || raw === '') return undefined
  const t = Date.parse(raw)
  if (!/^\d{4}-\d\d-\d\d/.test(raw) || Number.isNaN(t)) throw new ParamError('1905', `parameter ${name} has invalid value: ${raw} (expected YYYY-MM-DD[THH:MM:SSZ])`)
  return t
}

function requireList (params: URLSearchParams) {
  if (params.get('action') !== 'list') throw new ParamError('1903', 'Missing required parameter action, or action is not supported: use action=list')
}

/** The first `limit` items of `items` (0: all), and whether one more exists. */
function * truncated<T> (items: Iterable<T>, limit: number, onMore: (next: T) => void): Generator<T> {
  let n = 0
  for (const item of items) {
    if (limit > 0 && n === limit) { onMore(item); return }
    n++
    yield item
  }
}

const policyHandler: Handler = (world, req) => {
  requireList(req.params)
  const ids = idList(req.params, 'ids')
  const lastEvaluated = new Date(world.baseTime).toISOString().replace('.000Z', 'Z')
  return policyListXml(world.policies.filter((p) => ids === undefined || ids(Number(p.id))), lastEvaluated, req.traps)
}

const controlHandler: Handler = (world, req) => {
  requireList(req.params)
  const ids = idList(req.params, 'ids')
  const idMin = positiveInt(req.params, 'id_min', 0)
  const limit = positiveInt(req.params, 'truncation_limit', 1000)
  const all = world.policies.flatMap((p) => p.controls).filter((c) => Number(c.id) >= idMin && (ids === undefined || ids(Number(c.id))))
  let next: SimControl | undefined
  const page = [...truncated(all, limit, (c) => { next = c })]
  return controlListXml(page, req.traps, next === undefined ? undefined : req.nextUrl(next.id), limit)
}

/** Parameters are checked before the first byte is sent, so a bad one still gets its 400. */
function postureCandidates (world: ComplianceWorld, policy: SimPolicy, req: SimRequest): Generator<SimPosture> {
  const p = req.params
  const since = isoParam(p, 'status_changes_since')
  const statuses = p.get('status') === null ? undefined : new Set(String(p.get('status')).split(',').map((s) => s.trim().toLowerCase()))
  const hostIds = idList(p, 'host_ids')
  const controlIds = idList(p, 'control_ids')
  const idMin = positiveInt(p, 'id_min', 0)
  const start = Math.max(0, idMin - Number(world.postureId(policy, 0)))
  // Only rescanned records changed after the first scan: a delta pull reads the overrides alone.
  const indices: Iterable<number> = since !== undefined && since > world.baseTime
    ? world.changedIndices(policy).filter((i) => i >= start)
    : (function * () { for (let i = start; i < policy.postureCount; i++) yield i })()
  return (function * () {
    for (const index of indices) {
      const posture = world.posture(policy, index)
      if (since !== undefined && Date.parse(posture.modified) < since) continue
      if (statuses !== undefined && !statuses.has(posture.status.toLowerCase())) continue
      if (hostIds !== undefined && !hostIds(Number(world.estate.hosts[posture.hostIndex]?.qualysHostId))) continue
      if (controlIds !== undefined && !controlIds(Number(posture.control.id))) continue
      yield posture
    }
  })()
}

const postureHandler: Handler = (world, req) => {
  requireList(req.params)
  const p = req.params
  const single = p.get('policy_id')
  const several = p.get('policy_ids')
  if ((single === null) === (several === null)) throw new ParamError('1903', 'Exactly one of policy_id or policy_ids is required')
  const evidence = !['none', 'basic'].includes((p.get('details') ?? 'Basic').toLowerCase())
  const hosts = world.estate.hosts
  if (several !== null) {
    if (p.get('truncation_limit') !== null) throw new ParamError('1908', 'truncation_limit cannot be used with policy_ids')
    const ids = several.split(',').map((s) => s.trim())
    if (ids.length > 10) throw new ParamError('1905', 'parameter policy_ids has invalid value: at most 10 policies')
    const groups = ids.map((id) => {
      const policy = world.policy(id)
      if (policy === undefined) throw new ParamError('1905', `parameter policy_ids has invalid value: ${id} (no such policy)`)
      return { policy, postures: postureCandidates(world, policy, req) }
    })
    return postureChunks({ groups, nested: true, hosts, evidence, traps: req.traps, warningUrl: () => undefined, limit: 0 })
  }
  const policy = world.policy(String(single).trim())
  if (policy === undefined) throw new ParamError('1905', `parameter policy_id has invalid value: ${single} (no such policy)`)
  const limit = positiveInt(p, 'truncation_limit', 1000)
  let next: SimPosture | undefined
  const postures = truncated(postureCandidates(world, policy, req), limit, (x) => { next = x })
  return postureChunks({ groups: [{ policy, postures }], nested: false, hosts, evidence, traps: req.traps, warningUrl: () => next === undefined ? undefined : req.nextUrl(next.id), limit })
}

const SEVERITY = /^[1-5](-[1-5])?$/

function detectionCandidates (world: ComplianceWorld, req: SimRequest): Generator<{ host: SimHost, detections: SimDetection[] }> {
  const vm = world.vm
  const p = req.params
  const ids = idList(p, 'ids')
  const idMin = positiveInt(p, 'id_min', 0)
  const since = isoParam(p, 'vm_processed_after')
  const statuses = new Set((p.get('status') ?? 'New,Active,Re-Opened').split(',').map((s) => s.trim().toLowerCase()))
  const severityParts = (p.get('severities') ?? '1-5').split(',').map((s) => s.trim())
  if (!severityParts.every((s) => SEVERITY.test(s))) throw new ParamError('1905', `parameter severities has invalid value: ${p.get('severities') ?? ''}`)
  const severities = new Set(severityParts.flatMap((s) => { const [a, b] = s.split('-').map(Number) as [number, number?]; return Array.from({ length: (b ?? a) - a + 1 }, (_, i) => a + i) }))
  return (function * () {
    if (vm === undefined) return
    for (const host of world.estate.hosts) {
      const hostId = Number(host.qualysHostId)
      if (hostId < idMin || (ids !== undefined && !ids(hostId))) continue
      const all = vm.hostDetections(host.index)
      if (since !== undefined && !all.some((d) => Date.parse(d.lastProcessed) >= since)) continue
      const detections = all.filter((d) => statuses.has(d.status.toLowerCase()) && severities.has(d.severity))
      if (detections.length > 0) yield { host, detections }
    }
  })()
}

const detectionHandler: Handler = (world, req) => {
  requireList(req.params)
  const limit = positiveInt(req.params, 'truncation_limit', 1000)
  let next: { host: SimHost } | undefined
  const hosts = truncated(detectionCandidates(world, req), limit, (x) => { next = x })
  return detectionChunks({ hosts, traps: req.traps, warningUrl: () => next === undefined ? undefined : req.nextUrl(next.host.qualysHostId), limit })
}

const kbHandler: Handler = (world, req) => {
  requireList(req.params)
  const ids = idList(req.params, 'ids')
  const entries = [...(world.vm?.kb.values() ?? [])].filter((e) => ids === undefined || ids(Number(e.qid)))
  return kbXml(entries, req.traps)
}

export const ENDPOINTS: Array<{ name: string, path: RegExp, handler: Handler }> = [
  { name: 'policy', path: /^\/api\/2\.0\/fo\/compliance\/policy\/?$/, handler: policyHandler },
  { name: 'control', path: /^\/api\/2\.0\/fo\/compliance\/control\/?$/, handler: controlHandler },
  { name: 'posture', path: /^\/api\/2\.0\/fo\/compliance\/posture\/info\/?$/, handler: postureHandler },
  { name: 'detection', path: /^\/api\/[2-5]\.0\/fo\/asset\/host\/vm\/detection\/?$/, handler: detectionHandler },
  { name: 'kb', path: /^\/api\/2\.0\/fo\/knowledge_base\/vuln\/?$/, handler: kbHandler }
]
