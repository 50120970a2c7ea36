import { test } from 'tap'
import { build } from '../helper.js'
import { startTestRedis } from '../helpers/redis.js'

test('with REDIS_URL the app uses Redis and is ready only while it answers', async (t) => {
  const redis = await startTestRedis()
  t.teardown(() => redis.stop())
  const app = await build(t, { REDIS_URL: redis.url })
  t.ok(app.redis, 'a Redis connection is open')
  await app.kv.set('probe', 'v')
  t.equal(await redis.client().get('qss:probe'), 'v', 'keys carry the configured prefix')
  const ready = await app.inject({ url: '/ready' })
  t.equal(ready.statusCode, 200)
  t.same(ready.json(), { status: 'ready', checks: { redis: true } })

  await redis.stop()
  const notReady = await app.inject({ url: '/ready' })
  t.equal(notReady.statusCode, 503)
  t.same(notReady.json(), { status: 'not_ready', checks: { redis: false } })
  t.equal((await app.inject({ url: '/health' })).statusCode, 200, 'liveness does not depend on Redis')
})

test('without REDIS_URL the in-memory stores are used', async (t) => {
  const app = await build(t)
  t.equal(app.redis, undefined)
  await app.kv.set('k', 'v')
  t.equal(await app.kv.get('k'), 'v')
})
