import { test } from 'tap'
import { randomUUID } from 'node:crypto'
import { createConcurrencyLimiter, type ConcurrencyLimiter } from '../../src/store/concurrency-limiter.js'
import { startTestRedis } from '../helpers/redis.js'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Runs `tasks` jobs through the limiters (round-robin) and returns the peak concurrency seen. */
async function peakConcurrency (limiters: ConcurrencyLimiter[], tasks: number): Promise<number> {
  let running = 0
  let peak = 0
  await Promise.all(Array.from({ length: tasks }, async (_, i) => {
    const release = await (limiters[i % limiters.length] as ConcurrencyLimiter).acquire()
    running++
    peak = Math.max(peak, running)
    await sleep(5)
    running--
    await release()
  }))
  return peak
}

test('memory limiter never exceeds its limit and serves everyone', async (t) => {
  const limiter = createConcurrencyLimiter({ name: 'm', limit: 3 })
  t.equal(await peakConcurrency([limiter], 30), 3)
  t.equal(await limiter.inUse(), 0)
})

test('memory limiter: a raised limit wakes waiters, releasing twice is harmless', async (t) => {
  const limiter = createConcurrencyLimiter({ name: 'm', limit: 1 })
  const first = await limiter.acquire()
  let secondGot = false
  const second = limiter.acquire().then((r) => { secondGot = true; return r })
  await sleep(10)
  t.equal(secondGot, false, 'waits while the only slot is held')
  limiter.setLimit(2)
  const release2 = await second
  t.equal(await limiter.inUse(), 2)
  await first()
  await first()
  t.equal(await limiter.inUse(), 1, 'double release does not free a slot twice')
  await release2()
})

test('redis limiter bounds several replicas together and frees leases of dead holders', async (t) => {
  const redis = await startTestRedis()
  t.teardown(() => redis.stop())
  const prefix = `t-${randomUUID()}`
  const replicas = [0, 1, 2].map(() => createConcurrencyLimiter({ name: 'qualys', limit: 2, redis: redis.client(), keyPrefix: prefix, pollMs: 5 }))
  t.equal(await peakConcurrency(replicas, 24), 2, 'three replicas share two slots')
  t.equal(await replicas[0]!.inUse(), 0)

  const short = createConcurrencyLimiter({ name: 'lease', limit: 1, redis: redis.client(), keyPrefix: prefix, leaseMs: 150, pollMs: 5 })
  const crashed = redis.client()
  // A holder that vanishes without releasing: its lease is written directly, never renewed.
  await crashed.zadd(`${prefix}:limiter:v1:lease`, Date.now() + 150, 'dead-holder')
  const release = await short.acquire()
  t.pass('the slot came back after the dead holder\'s lease expired')
  await release()
})

test('redis limiter: a slot given back in this process goes to the next local caller at once, in arrival order', async (t) => {
  const redis = await startTestRedis()
  t.teardown(() => redis.stop())
  // Polling so slow that a waiter relying on it would still be waiting when the test ends.
  const limiter = createConcurrencyLimiter({ name: 'handover', limit: 1, redis: redis.client(), keyPrefix: `t-${randomUUID()}`, pollMs: 60_000 })
  const order: number[] = []
  const first = await limiter.acquire()
  const waiters = [1, 2, 3].map(async (n) => {
    const release = await limiter.acquire()
    order.push(n)
    await release()
  })
  await sleep(20)
  t.same(order, [], 'everyone waits while the slot is held')
  await first()
  await Promise.all(waiters)
  t.same(order, [1, 2, 3], 'handed over without polling, first come first served')
  t.equal(await limiter.inUse(), 0)
})
