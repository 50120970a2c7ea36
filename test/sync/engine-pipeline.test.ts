import { test } from 'tap'
import { loadConfig } from '../../src/config.js'
import type { CiMatch, Finding, FindingHost } from '../../src/findings/model.js'
import { MemoryFindingsStore } from '../../src/findings/memory-store.js'
import { profileFromConfig } from '../../src/poam/profiles.js'
import { MemoryKvStore } from '../../src/store/memory-kv-store.js'
import { SyncEngine } from '../../src/sync/engine.js'
import { newJob } from '../../src/sync/job-model.js'
import type { JobControl } from '../../src/sync/jobs.js'
import type { ExistingRecord, FindingPage, PoamRecordsPort } from '../../src/sync/ports.js'
import { makeFinding } from '../findings/fixtures.js'

/** A failing posture of its own host per page, so each page needs CMDB matching and one create. */
function pageOf (n: number): FindingPage {
  const base = makeFinding(0)
  const host: FindingHost = { qualysHostId: `h${n}`, ip: `10.1.0.${n}`, dns: `host-${n}.example.com` }
  const finding: Finding = { ...base, id: `f-page-${n}`, status: 'failed', host }
  return { findings: [finding] }
}

const until = async (condition: () => boolean, ms = 2000) => {
  const deadline = Date.now() + ms
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5))
  return condition()
}

test('page N+2 is matched to CIs while page N is still being written', async (t) => {
  const config = loadConfig({ AUTH_DISABLED: 'true', LOG_LEVEL: 'silent' })
  const resolved: string[] = []
  const creates: Array<() => void> = []
  const records: PoamRecordsPort = {
    table: 'u_poam_table',
    findByCorrelationIds: async () => new Map<string, ExistingRecord>(),
    // Every create waits until the test lets it through: page 1's write stays pending.
    create: async () => { await new Promise<void>((resolve) => creates.push(resolve)); return { sysId: 'a'.repeat(32) } },
    update: async () => {},
    countOpen: async () => 0,
    openCorrelationIds: async function * () {},
    countOpenByRisk: async () => undefined
  }
  const engine = new SyncEngine({
    config,
    profile: profileFromConfig(config),
    findings: new MemoryFindingsStore(),
    kv: new MemoryKvStore(),
    waits: {},
    records,
    source: {
      postures: async function * () { for (let n = 1; n <= 4; n++) yield pageOf(n) },
      detections: async function * () {}
    },
    ciMatcher: {
      resolve: async (hosts) => {
        resolved.push(...hosts.map((h) => h.qualysHostId))
        return new Map<string, CiMatch>(hosts.map((h) => [h.qualysHostId, { reason: 'unmatched' }]))
      }
    },
    tagger: { apply: async () => ({ created: 0, updated: 0, deleted: 0, unchanged: 0, errors: [] }) }
  })
  const job = newJob('j1', 'u_poam_table', { policyIds: ['P1'], sources: ['pc'], dryRun: false, full: true }, new Date())
  const control: JobControl = { signal: new AbortController().signal, update: async (change) => { change(job) }, cancelRequested: async () => false }
  const running = engine.run(job, control)

  t.ok(await until(() => creates.length === 2), 'pages 1 and 2 are writing')
  t.ok(await until(() => resolved.includes('h3')), 'page 3 was matched before page 1\'s write finished')
  t.equal(creates.length, 2, 'and no page beyond the two in flight started writing')
  // Let every write through, one at a time, until the run ends.
  const state = { finished: false }
  running.then(() => { state.finished = true }, () => { state.finished = true })
  while (!state.finished) {
    creates.shift()?.()
    await new Promise((resolve) => setTimeout(resolve, 2))
  }
  const { result } = await running
  t.equal(result.actions.create, 4)
  t.same(resolved, ['h1', 'h2', 'h3', 'h4'], 'each page matched once, in order')
})
