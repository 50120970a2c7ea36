import { test } from 'tap'
import type { Finding } from '../../src/findings/model.js'
import { createQualysClient } from '../../src/qualys/client.js'
import { startQualysSim } from '../../src/sim/qualys.js'
import { RedisKvStore } from '../../src/store/redis-kv-store.js'
import { startTestRedis } from '../helpers/redis.js'

async function collect (pages: AsyncIterable<{ findings: Finding[] }>): Promise<Finding[]> {
  const all: Finding[] = []
  for await (const page of pages) all.push(...page.findings)
  return all
}

test('replicas sharing Redis share one Qualys budget: no 409 even with a tight window', async (t) => {
  const redis = await startTestRedis()
  t.teardown(() => redis.stop())
  const sim = await startQualysSim({ hosts: 25, policies: 2, controlsPerPolicy: 4, limits: { rateLimit: 6, windowSec: 2, concurrency: 2 }, latencyMs: 10 })
  t.teardown(() => sim.close())
  const replica = (name: string) => {
    const connection = redis.client()
    return createQualysClient({
      baseUrl: sim.url,
      username: sim.username,
      password: sim.password,
      requestedWith: `qss-test-${name}`,
      timeoutMs: 5000,
      pageSize: 25,
      kv: new RedisKvStore(connection, 'qss-test'),
      redis: connection,
      keyPrefix: 'qss-test'
    })
  }
  const replicas = [replica('a'), replica('b')]
  const results = await Promise.all([
    collect(replicas[0]!.postures('5000')),
    collect(replicas[1]!.postures('5001')),
    collect(replicas[0]!.postures('5001')),
    collect(replicas[1]!.postures('5000'))
  ])
  t.same(results.map((r) => r.length), [100, 100, 100, 100], 'every record on every replica')
  t.equal(sim.stats.calls.posture, 16, 'no call wasted')
  t.equal(sim.stats.rejected409, 0, 'zero 409s')
  t.equal(sim.stats.peakConcurrency.posture, 1, 'one call at a time across replicas: one slot spare')
  const waited = replicas.reduce((sum, r) => sum + r.stats().waits, 0)
  t.ok(waited > 0, 'the replicas waited for the window')
})
