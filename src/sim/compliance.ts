import { generateEstate, type SimEstate } from './hosts.js'
import { SeededRandom, hashSeed } from './random.js'
import { createDetectionWorld, type DetectionWorld, type DetectionRescan } from './qualys-detections.js'

/**
 * The Policy Compliance (and VM) data behind the Qualys simulator, built on the shared
 * estate so the ServiceNow simulator describes the same hosts.
 *
 *   createComplianceWorld(options): ComplianceWorld
 *   world.posture(policyId, index)      // derived from the seed, never stored
 *   world.rescan({ policyId?, fix, regress, vm? })
 *
 * A policy evaluates every host against each (control, technology) pair, so posture
 * `index` maps to (host, control, technology) by arithmetic and a policy of a million
 * records costs nothing until it is served. Only rescan overrides are kept in memory.
 */

export interface ComplianceWorldOptions {
  seed: number
  hosts: number
  policies: number
  controlsPerPolicy: number
  /** Technologies each control is evaluated for (1..4). */
  technologiesPerControl?: number
  /** Share of postures failing at the first scan. */
  failRate?: number
  /** Generate VM detections and the KnowledgeBase too. */
  vm?: boolean
}

export interface SimTechnology { id: string, name: string, instance: string }

export interface SimControl {
  id: string
  statement: string
  /** The setting the control checks, as the data point glossary names it. */
  setting: string
  category: string
  criticality?: { label: string, value: number }
  expected: string
  /** What a failing host reports. */
  failingValue: string
  technologies: SimTechnology[]
}

export interface SimPolicy {
  id: string
  title: string
  ordinal: number
  controls: SimControl[]
  /** (control, technology) pairs evaluated on every host, in posture order. */
  pairs: Array<{ control: SimControl, technology: SimTechnology }>
  postureCount: number
}

export type PostureStatus = 'Passed' | 'Failed' | 'Error'

export interface SimPosture {
  id: string
  index: number
  policyId: string
  hostIndex: number
  control: SimControl
  technology: SimTechnology
  status: PostureStatus
  previousStatus?: PostureStatus
  modified: string
  evaluated: string
  firstFail?: string
  lastFail?: string
  firstPass?: string
  lastPass?: string
  /** The value the host reported. */
  actual: string
}

type PostureOverride = Pick<SimPosture, 'status' | 'previousStatus' | 'modified' | 'evaluated' | 'firstFail' | 'lastFail' | 'firstPass' | 'lastPass' | 'actual'>

/** A fraction of the eligible records, or explicit record IDs (posture IDs / unique vuln IDs). */
export type Selection = number | string[]

export interface RescanRequest {
  policyId?: string
  fix?: Selection
  regress?: Selection
  vm?: DetectionRescan
  /** Evaluation time; default now. */
  at?: string
}

export interface RescanResult {
  at: string
  fixed: number
  regressed: number
  /** Up to 1000 IDs of each kind, for tests to follow. */
  fixedIds: string[]
  regressedIds: string[]
  vm?: { fixed: number, reopened: number, fixedIds: string[], reopenedIds: string[] }
}

export const TECHNOLOGIES: SimTechnology[] = [
  { id: '1', name: 'Windows Server 2019', instance: 'os' },
  { id: '2', name: 'Red Hat Enterprise Linux 8.x', instance: 'os' },
  { id: '3', name: 'Oracle 19c', instance: 'Oracle 19c:1:ORCL' },
  { id: '4', name: 'Apache HTTP Server 2.4', instance: 'Apache 2.4:/etc/httpd' }
]

const LABELS = ['MINIMAL', 'MEDIUM', 'SERIOUS', 'CRITICAL', 'URGENT']
const CATEGORIES = ['Access Control', 'Audit & Accountability', 'Configuration Management', 'System <Integrity>']
const SETTINGS = ['Minimum password length', 'Audit logon events', 'Remote root login', 'TLS 1.0 enabled', 'Account lockout threshold', 'SNMP community "public"']
const EXPECTED = ['14', 'Success and Failure', 'no', 'Disabled', '5', 'absent']
const ACTUAL_BAD = ['8', 'No Auditing', 'yes', 'Enabled', '0', 'present']

/** Fixed epoch of the first scan: everything before any rescan is older than a test's first checkpoint. */
const BASE_TIME = Date.parse('2025-06-01T00:00:00Z')
const DAY = 86400000

export function isoSeconds (ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z')
}

function buildPolicy (options: ComplianceWorldOptions, ordinal: number): SimPolicy {
  const techPerControl = Math.min(Math.max(options.technologiesPerControl ?? 1, 1), TECHNOLOGIES.length)
  const controls: SimControl[] = []
  for (let k = 0; k < options.controlsPerPolicy; k++) {
    const n = ordinal * options.controlsPerPolicy + k
    const rnd = new SeededRandom(hashSeed(options.seed, 'control', n))
    const setting = n % SETTINGS.length
    const control: SimControl = {
      id: String(1000 + n),
      statement: `Status of the '${SETTINGS[setting]}' setting & its value (control ${1000 + n})`,
      setting: SETTINGS[setting] as string,
      category: CATEGORIES[n % CATEGORIES.length] as string,
      expected: EXPECTED[setting] as string,
      failingValue: ACTUAL_BAD[setting] as string,
      technologies: Array.from({ length: techPerControl }, (_, i) => TECHNOLOGIES[(n + i) % TECHNOLOGIES.length] as SimTechnology)
    }
    // Every seventh control has no criticality at all, as real custom controls do.
    if (n % 7 !== 6) {
      const value = rnd.int(1, 5)
      control.criticality = { label: LABELS[value - 1] as string, value }
    }
    controls.push(control)
  }
  const pairs = controls.flatMap((control) => control.technologies.map((technology) => ({ control, technology })))
  return {
    id: String(5000 + ordinal),
    title: `Sim Baseline ${ordinal + 1} & Hardening <${pairs.length} checks>`,
    ordinal,
    controls,
    pairs,
    postureCount: pairs.length * options.hosts
  }
}

export interface ComplianceWorld {
  options: ComplianceWorldOptions
  estate: SimEstate
  policies: SimPolicy[]
  vm: DetectionWorld | undefined
  policy (id: string): SimPolicy | undefined
  posture (policy: SimPolicy, index: number): SimPosture
  postureId (policy: SimPolicy, index: number): string
  /** Index of a posture ID within its policy, or -1. */
  postureIndex (policy: SimPolicy, id: string): number
  /** Indices with a rescan override, ascending: the only records newer than the first scan. */
  changedIndices (policy: SimPolicy): number[]
  /** Time of the first scan: postures never rescanned were modified at or before it. */
  baseTime: number
  rescan (request: RescanRequest): RescanResult
}

export function createComplianceWorld (options: ComplianceWorldOptions): ComplianceWorld {
  const estate = generateEstate({ seed: options.seed, hosts: options.hosts })
  const policies = Array.from({ length: options.policies }, (_, i) => buildPolicy(options, i))
  const byId = new Map(policies.map((p) => [p.id, p]))
  const overrides = new Map<string, Map<number, PostureOverride>>()
  const failRate = options.failRate ?? 0.3
  let rescans = 0

  const idBase = (policy: SimPolicy) => (policy.ordinal + 1) * 1_000_000_000

  function initial (policy: SimPolicy, index: number): PostureOverride {
    const rnd = new SeededRandom(hashSeed(options.seed, 'posture', policy.id, index))
    const roll = rnd.next()
    const status: PostureStatus = roll < failRate ? 'Failed' : roll < failRate + 0.005 ? 'Error' : 'Passed'
    const evaluated = BASE_TIME - rnd.int(0, 20) * DAY - rnd.int(0, 86399) * 1000
    const everFailed = status === 'Failed' || rnd.chance(0.2)
    const firstFail = everFailed ? evaluated - rnd.int(1, 300) * DAY : undefined
    const pair = policy.pairs[index % policy.pairs.length] as SimPolicy['pairs'][number]
    const state: PostureOverride = {
      status,
      modified: isoSeconds(evaluated),
      evaluated: isoSeconds(evaluated),
      actual: status === 'Passed' ? pair.control.expected : pair.control.failingValue
    }
    if (firstFail !== undefined) {
      state.firstFail = isoSeconds(firstFail)
      state.lastFail = isoSeconds(status === 'Failed' ? evaluated : firstFail + DAY)
    }
    if (status === 'Passed') { state.lastPass = isoSeconds(evaluated); state.firstPass = isoSeconds(firstFail === undefined ? evaluated - 30 * DAY : firstFail + DAY) }
    return state
  }

  function posture (policy: SimPolicy, index: number): SimPosture {
    const pair = policy.pairs[index % policy.pairs.length] as SimPolicy['pairs'][number]
    const state = overrides.get(policy.id)?.get(index) ?? initial(policy, index)
    return {
      ...state,
      id: String(idBase(policy) + index),
      index,
      policyId: policy.id,
      hostIndex: Math.floor(index / policy.pairs.length),
      control: pair.control,
      technology: pair.technology
    }
  }

  function select (policy: SimPolicy, selection: Selection | undefined, from: PostureStatus, salt: string): number[] {
    if (selection === undefined) return []
    if (Array.isArray(selection)) {
      return selection.map((id) => Number(id) - idBase(policy))
        .filter((i) => Number.isInteger(i) && i >= 0 && i < policy.postureCount && posture(policy, i).status === from)
    }
    const picked: number[] = []
    for (let i = 0; i < policy.postureCount; i++) {
      if (posture(policy, i).status !== from) continue
      if (new SeededRandom(hashSeed(options.seed, salt, rescans, policy.id, i)).next() < selection) picked.push(i)
    }
    return picked
  }

  function rescan (request: RescanRequest): RescanResult {
    rescans++
    const atMs = request.at === undefined ? Date.now() : Date.parse(request.at)
    const at = isoSeconds(atMs)
    const result: RescanResult = { at, fixed: 0, regressed: 0, fixedIds: [], regressedIds: [] }
    const targets = request.policyId === undefined ? policies : [byId.get(request.policyId)].filter((p): p is SimPolicy => p !== undefined)
    for (const policy of targets) {
      const changes = overrides.get(policy.id) ?? new Map<number, PostureOverride>()
      overrides.set(policy.id, changes)
      for (const index of select(policy, request.fix, 'Failed', 'fix')) {
        const before = posture(policy, index)
        changes.set(index, { ...before, status: 'Passed', previousStatus: 'Failed', modified: at, evaluated: at, lastPass: at, firstPass: before.firstPass ?? at, actual: policy.pairs[index % policy.pairs.length]?.control.expected ?? '' })
        result.fixed++
        if (result.fixedIds.length < 1000) result.fixedIds.push(before.id)
      }
      const justFixed = new Set(changes.size === 0 ? [] : [...changes.entries()].filter(([, o]) => o.modified === at && o.status === 'Passed').map(([i]) => i))
      for (const index of select(policy, request.regress, 'Passed', 'regress').filter((i) => !justFixed.has(i))) {
        const before = posture(policy, index)
        changes.set(index, { ...before, status: 'Failed', previousStatus: 'Passed', modified: at, evaluated: at, lastFail: at, firstFail: before.firstFail ?? at, actual: 'changed by rescan' })
        result.regressed++
        if (result.regressedIds.length < 1000) result.regressedIds.push(before.id)
      }
    }
    if (request.vm !== undefined && vm !== undefined) result.vm = vm.rescan(request.vm, at, rescans)
    return result
  }

  const vm = options.vm === true ? createDetectionWorld(options.seed, estate) : undefined

  return {
    options,
    estate,
    policies,
    vm,
    baseTime: BASE_TIME,
    policy: (id) => byId.get(id),
    posture,
    postureId: (policy, index) => String(idBase(policy) + index),
    postureIndex: (policy, id) => {
      const index = Number(id) - idBase(policy)
      return Number.isInteger(index) && index >= 0 && index < policy.postureCount ? index : -1
    },
    changedIndices: (policy) => [...(overrides.get(policy.id)?.keys() ?? [])].sort((a, b) => a - b),
    rescan
  }
}
