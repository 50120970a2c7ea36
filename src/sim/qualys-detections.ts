import type { SimEstate } from './hosts.js'
import { SeededRandom, hashSeed } from './random.js'
import type { Selection } from './compliance.js'

/**
 * VM detections and the KnowledgeBase of the simulated world, derived per host from the
 * seed. A rescan fixes or reopens detections; only those changes are stored.
 *
 *   createDetectionWorld(seed, estate): DetectionWorld
 *   vm.hostDetections(hostIndex), vm.kb, vm.rescan({ fix, reopen }, at, salt)
 */

export interface SimKbEntry { qid: string, title: string, severity: number, cves: string[], diagnosis: string, solution: string }

export type DetectionStatus = 'New' | 'Active' | 'Re-Opened' | 'Fixed'

export interface SimDetection {
  /** Absent on some records, as on older subscriptions: the finding id falls back to host+QID+port+protocol. */
  uniqueVulnId?: string
  /** Stable handle for rescans, whether or not UNIQUE_VULN_ID is sent. */
  key: string
  qid: string
  type: 'Confirmed' | 'Potential'
  severity: number
  port?: string
  protocol?: string
  results: string
  status: DetectionStatus
  firstFound: string
  lastFound: string
  lastFixed?: string
  lastTest: string
  lastProcessed: string
  timesFound: number
}

export interface DetectionRescan { fix?: Selection, reopen?: Selection }

export interface DetectionWorld {
  kb: Map<string, SimKbEntry>
  hostDetections (hostIndex: number): SimDetection[]
  rescan (request: DetectionRescan, at: string, salt: number): { fixed: number, reopened: number, fixedIds: string[], reopenedIds: string[] }
}

const KB_SIZE = 40
const BASE_TIME = Date.parse('2025-06-01T00:00:00Z')
const DAY = 86400000
const iso = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z')

function buildKb (): Map<string, SimKbEntry> {
  const kb = new Map<string, SimKbEntry>()
  for (let i = 0; i < KB_SIZE; i++) {
    const qid = String(38000 + i * 13)
    const cves = Array.from({ length: i % 3 }, (_, c) => `CVE-2024-${String(10000 + i * 7 + c)}`)
    kb.set(qid, {
      qid,
      title: `Simulated weakness ${i} in <component> & friends`,
      severity: (i % 5) + 1,
      cves,
      diagnosis: `The service doesn&apos;t validate input (QID ${qid}).<P>Seen on the host.`,
      solution: `\n  <P>Apply the vendor patch for QID ${qid}.<BR>Restart the service.  \n`
    })
  }
  return kb
}

type Override = Pick<SimDetection, 'status' | 'lastFound' | 'lastFixed' | 'lastTest' | 'lastProcessed' | 'timesFound'>

export function createDetectionWorld (seed: number, estate: SimEstate): DetectionWorld {
  const kb = buildKb()
  const qids = [...kb.keys()]
  const overrides = new Map<string, Override>()

  function initial (hostIndex: number): SimDetection[] {
    const rnd = new SeededRandom(hashSeed(seed, 'detections', hostIndex))
    const count = rnd.int(0, 6)
    const start = rnd.int(0, KB_SIZE - 1)
    const out: SimDetection[] = []
    for (let k = 0; k < count; k++) {
      const qid = qids[(start + k * 3) % KB_SIZE] as string
      const entry = kb.get(qid) as SimKbEntry
      const roll = rnd.next()
      const status: DetectionStatus = roll < 0.12 ? 'Fixed' : roll < 0.3 ? 'New' : roll < 0.35 ? 'Re-Opened' : 'Active'
      const lastTest = BASE_TIME - rnd.int(0, 10) * DAY - rnd.int(0, 86399) * 1000
      const firstFound = lastTest - rnd.int(1, 200) * DAY
      const key = `${hostIndex}:${k}`
      const detection: SimDetection = {
        key,
        qid,
        type: rnd.chance(0.8) ? 'Confirmed' : 'Potential',
        severity: entry.severity,
        results: `Version detected: 2.${k}.${hostIndex % 10}\n  vendor doesn&apos;t support it  `,
        status,
        firstFound: iso(firstFound),
        lastFound: iso(status === 'Fixed' ? lastTest - DAY : lastTest),
        lastTest: iso(lastTest),
        lastProcessed: iso(lastTest + 60000),
        timesFound: rnd.int(1, 100)
      }
      if ((hostIndex + k) % 11 !== 5) detection.uniqueVulnId = String(700000000 + hostIndex * 16 + k)
      if (k % 2 === 0) { detection.port = String([443, 22, 3389, 8080][k % 4]); detection.protocol = 'tcp' }
      if (status === 'Fixed') detection.lastFixed = iso(lastTest)
      out.push(detection)
    }
    return out
  }

  function hostDetections (hostIndex: number): SimDetection[] {
    return initial(hostIndex).map((d) => {
      const o = overrides.get(d.key)
      return o === undefined ? d : { ...d, ...o }
    })
  }

  function pick (selection: Selection | undefined, eligible: (d: SimDetection) => boolean, salt: string): SimDetection[] {
    if (selection === undefined) return []
    const wanted = Array.isArray(selection) ? new Set(selection) : undefined
    const picked: SimDetection[] = []
    for (let h = 0; h < estate.hosts.length; h++) {
      for (const d of hostDetections(h)) {
        if (!eligible(d)) continue
        const chosen = wanted !== undefined
          ? wanted.has(d.uniqueVulnId ?? d.key) || wanted.has(d.key)
          : new SeededRandom(hashSeed(seed, salt, d.key)).next() < (selection as number)
        if (chosen) picked.push(d)
      }
    }
    return picked
  }

  function rescan (request: DetectionRescan, at: string, salt: number) {
    const result = { fixed: 0, reopened: 0, fixedIds: [] as string[], reopenedIds: [] as string[] }
    for (const d of pick(request.fix, (x) => x.status !== 'Fixed', `fix${salt}`)) {
      overrides.set(d.key, { status: 'Fixed', lastFound: d.lastFound, lastFixed: at, lastTest: at, lastProcessed: at, timesFound: d.timesFound })
      result.fixed++
      if (result.fixedIds.length < 1000) result.fixedIds.push(d.uniqueVulnId ?? d.key)
    }
    for (const d of pick(request.reopen, (x) => x.status === 'Fixed', `reopen${salt}`)) {
      overrides.set(d.key, { status: 'Re-Opened', lastFound: at, lastFixed: d.lastFixed, lastTest: at, lastProcessed: at, timesFound: d.timesFound + 1 })
      result.reopened++
      if (result.reopenedIds.length < 1000) result.reopenedIds.push(d.uniqueVulnId ?? d.key)
    }
    return result
  }

  return { kb, hostDetections, rescan }
}
