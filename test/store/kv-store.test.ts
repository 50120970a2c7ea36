import { test, type Test } from 'tap'
import { randomUUID } from 'node:crypto'
import type { KvStore } from '../../src/store/kv-store.js'
import { MemoryKvStore } from '../../src/store/memory-kv-store.js'
import { RedisKvStore } from '../../src/store/redis-kv-store.js'
import { startTestRedis } from '../helpers/redis.js'

/** The contract every KvStore honours; run against each implementation. */
async function contract (t: Test, make: () => Promise<KvStore>, sleep: (ms: number) => Promise<void>) {
  const kv = await make()
  t.teardown(() => kv.close())
  t.equal(await kv.get('missing'), undefined)
  await kv.set('a', '1')
  t.equal(await kv.get('a'), '1')
  t.same(await kv.mget(['a', 'missing']), ['1', undefined])
  t.same(await kv.mget([]), [])
  await kv.mset([['b', '2'], ['c', '3']])
  t.same(await kv.mget(['b', 'c']), ['2', '3'])
  t.equal(await kv.setIfAbsent('a', 'x'), false)
  t.equal(await kv.get('a'), '1')
  t.equal(await kv.setIfAbsent('d', 'x'), true)
  await kv.del('a')
  t.equal(await kv.get('a'), undefined)
  t.equal(await kv.incrBy('n', 2), 2)
  t.equal(await kv.incrBy('n', 3), 5)
  await kv.set('ttl', 'v', 1)
  await kv.mset([['ttl2', 'v']], 1)
  t.equal(await kv.get('ttl'), 'v')
  await sleep(1100)
  t.equal(await kv.get('ttl'), undefined, 'expires after its lifetime')
  t.equal(await kv.get('ttl2'), undefined)
  t.equal(await kv.get('b'), '2', 'no lifetime: kept')
}

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

test('memory store honours the contract', async (t) => {
  let now = 1_000_000
  await contract(t, async () => new MemoryKvStore(() => now), async (ms) => { now += ms })
})

test('redis store honours the contract', async (t) => {
  const redis = await startTestRedis()
  t.teardown(() => redis.stop())
  await contract(t, async () => new RedisKvStore(redis.client(), `test-${randomUUID()}`), realSleep)
})
