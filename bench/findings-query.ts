import { createRequire } from 'node:module'
import { pathToFileURL } from 'node:url'
import { randomUUID } from 'node:crypto'
import Fastify from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import errorHandler from '../src/plugins/error-handler.js'
import { registerFindingsApi } from '../routes/findings.js'
import { RedisFindingsStore } from '../src/findings/redis-store.js'
import { detectionFindingId, postureFindingId } from '../src/findings/finding-id.js'
import type { CiMatch, Finding, FindingHost } from '../src/findings/model.js'
import { startTestRedis } from '../test/helpers/redis.js'

/**
 * GET /findings latency on a Redis store holding 200,000 findings (2,000 hosts x 80 PC
 * + 20 VM findings), 50 connections for 10 s, each connection cycling through a mix of
 * filters: none, dense, combined, per host, per CI, sparse, and a cursor deep in the set.
 */

const HOSTS = 2000
const PC_PER_HOST = 80
const VM_PER_HOST = 20
const PAGE = 1000
const CONNECTIONS = 50
const DURATION_SEC = 10
const RISKS = ['High', 'Moderate', 'Low'] as const

interface AutocannonResult {
  requests: { total: number, average: number }
  latency: { p50: number, p99: number, p99_9: number, average: number, max: number }
  non2xx: number
  errors: number
}
// autocannon ships no type declarations.
const autocannon = createRequire(import.meta.url)('autocannon') as (opts: object) => Promise<AutocannonResult>

function host (h: number): FindingHost {
  const short = `host-${String(h).padStart(5, '0')}`
  return { qualysHostId: String(100000 + h), ip: `10.${h >> 16}.${(h >> 8) & 255}.${h & 255}`, dns: `${short}.corp.example.com`, netbios: short.toUpperCase() }
}

// The simulator's rhythm: most hosts match, some are unmatched, ambiguous or unsafe.
function match (h: number): CiMatch {
  const slot = h % 25
  if (slot < 15) return { sysId: `ci-${h}`, rule: 'fqdn', value: `host-${h}` }
  if (slot < 18) return { sysId: `ci-${h}`, rule: 'name', value: `host-${h}` }
  if (slot < 20) return { sysId: `ci-${h}`, rule: 'ip', value: `10.0.0.${h & 255}` }
  if (slot < 23) return { reason: 'unmatched' }
  if (slot < 24) return { reason: 'ambiguous', candidates: 2 }
  return { reason: 'unsafe' }
}

function hostFindings (h: number): Finding[] {
  const out: Finding[] = []
  const target = host(h)
  for (let i = 0; i < PC_PER_HOST; i++) {
    const policyId = String(1000 + (i % 2))
    const controlId = String(2000 + Math.floor(i / 2))
    out.push({
      id: postureFindingId({ policyId, hostId: target.qualysHostId, controlId, technologyId: '190', instance: 'os' }),
      source: 'pc',
      status: (h + i) % 5 < 2 ? 'failed' : 'passed',
      risk: RISKS[(h + i) % 3] as Finding['risk'],
      host: target,
      policy: { id: policyId, title: 'CIS Benchmark' },
      control: { id: controlId, statement: `Status of setting ${controlId}`, criticalityLabel: 'SERIOUS', criticalityValue: 3 },
      technology: { id: '190', name: 'Red Hat Enterprise Linux 8.x' },
      instance: 'os',
      firstDetected: '2025-01-15T08:00:00Z',
      evaluatedAt: '2025-03-01T06:00:00Z',
      evidence: 'Expected 14 or more, found 8'
    })
  }
  for (let i = 0; i < VM_PER_HOST; i++) {
    const qid = String(38000 + i)
    out.push({
      id: detectionFindingId({ hostId: target.qualysHostId, qid, port: '443', protocol: 'tcp' }),
      source: 'vm',
      status: (h + i) % 3 === 0 ? 'failed' : 'passed',
      risk: RISKS[i % 3] as Finding['risk'],
      host: target,
      vuln: { qid, severity: 1 + (i % 5), port: '443', protocol: 'tcp', title: `Vulnerability ${qid}` },
      firstDetected: '2025-01-15T08:00:00Z'
    })
  }
  return out
}

/** Writes `hosts` hosts' findings in engine-sized pages; answers the seconds it took. */
export async function fill (store: RedisFindingsStore, hosts: number): Promise<number> {
  const started = Date.now()
  let page: Finding[] = []
  let matches = new Map<string, CiMatch>()
  for (let h = 0; h < hosts; h++) {
    page.push(...hostFindings(h))
    matches.set(host(h).qualysHostId, match(h))
    if (page.length >= PAGE || h === hosts - 1) {
      await store.upsertPage(page, matches)
      page = []
      matches = new Map()
    }
  }
  return (Date.now() - started) / 1000
}

export async function run (): Promise<Record<string, string | number>> {
  const redis = await startTestRedis()
  const client = redis.client()
  const store = new RedisFindingsStore(client, `bench-${randomUUID()}`)
  const app = Fastify({ logger: false, ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true } } })
    .withTypeProvider<TypeBoxTypeProvider>()
  try {
    const fillSec = await fill(store, HOSTS)
    const stored = await store.count()

    await app.register(errorHandler)
    await registerFindingsApi(app, store)
    const url = await app.listen({ port: 0, host: '127.0.0.1' })
    const middle = (await app.inject({ url: '/findings?limit=1&host=host-01000' })).json() as { items: Array<{ id: string }> }
    const deepCursor = Buffer.from(middle.items[0]?.id ?? 'a', 'utf8').toString('base64url')
    const paths = [
      '/findings',
      '/findings?status=failed',
      '/findings?status=failed&risk=High&source=pc',
      '/findings?hostId=100777',
      '/findings?host=HOST-01234.corp.example.com.',
      '/findings?ciSysId=ci-1500&status=failed',
      '/findings?policyId=1001&controlId=2033&matched=false',
      `/findings?limit=500&cursor=${deepCursor}`
    ]
    // A worker thread fires the load, so the client does not share the server's event loop.
    const result = await autocannon({
      url,
      connections: CONNECTIONS,
      duration: DURATION_SEC,
      workers: 1,
      requests: paths.map((path) => ({ method: 'GET', path }))
    })
    return {
      findings: stored,
      'fill s': fillSec.toFixed(1),
      'fill findings/s': Math.round(stored / fillSec),
      connections: CONNECTIONS,
      'filter mixes': paths.length,
      requests: result.requests.total,
      'req/s': Math.round(result.requests.average),
      'p50 ms': result.latency.p50,
      'p99 ms': result.latency.p99,
      'p99.9 ms': result.latency.p99_9,
      'max ms': result.latency.max,
      'non-2xx': result.non2xx,
      errors: result.errors
    }
  } finally {
    await app.close()
    await redis.stop()
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.stdout.write(`${JSON.stringify(await run(), null, 2)}\n`)
}
