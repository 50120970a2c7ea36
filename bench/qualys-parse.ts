import { performance } from 'node:perf_hooks'
import { parsePosturePage } from '../src/qualys/posture-parser.js'
import { parseQualysXml } from '../src/qualys/xml.js'
import { createComplianceWorld } from '../src/sim/compliance.js'
import { postureChunks } from '../src/sim/qualys-xml.js'

/**
 * Parse + normalize throughput over one generated 100k-record posture response
 * (details=All, with glossary), beside a baseline that only scans the same bytes once.
 *
 *   run(): { records, mb, baselineMBs, parseMBs, findingsPerSec, ratio }
 */

const RECORDS = 100_000

function buildResponse (): string {
  const world = createComplianceWorld({ seed: 42, hosts: 1000, policies: 1, controlsPerPolicy: 50, technologiesPerControl: 2, failRate: 0.3 })
  const policy = world.policies[0]!
  const postures = (function * () { for (let i = 0; i < RECORDS; i++) yield world.posture(policy, i) })()
  const chunks = postureChunks({
    groups: [{ policy, postures }],
    nested: false,
    hosts: world.estate.hosts,
    evidence: true,
    traps: { doctype: true, keepAliveEvery: 5000, invalidChars: false },
    warningUrl: () => undefined,
    limit: 0
  })
  return [...chunks].join('')
}

/** The floor any parser pays: one pass over every character. */
function scanOnce (body: string): number {
  let tags = 0
  for (let i = body.indexOf('<'); i !== -1; i = body.indexOf('<', i + 1)) tags++
  return tags
}

export async function run (): Promise<Record<string, string | number>> {
  const body = buildResponse()
  const mb = Buffer.byteLength(body) / 1e6
  let start = performance.now()
  const tags = scanOnce(body)
  const baselineSec = (performance.now() - start) / 1000
  start = performance.now()
  const parsed = parseQualysXml(body, { endpoint: 'bench', page: 1 })
  const { findings } = parsePosturePage(parsed.body, { policyId: '5000' })
  const parseSec = (performance.now() - start) / 1000
  if (findings.length !== RECORDS || tags === 0) throw new Error(`expected ${RECORDS} findings, got ${findings.length}`)
  return {
    'qualys parse: records': RECORDS,
    'qualys parse: response MB': mb.toFixed(1),
    'qualys parse: baseline scan MB/s': (mb / baselineSec).toFixed(0),
    'qualys parse: parse+normalize MB/s': (mb / parseSec).toFixed(1),
    'qualys parse: findings/s': Math.round(RECORDS / parseSec),
    'qualys parse: baseline/parse ratio': (parseSec / baselineSec).toFixed(1)
  }
}
