import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import type { Redis } from 'ioredis'
import type { KvStore } from '../store/kv-store.js'
import { MemoryKvStore } from '../store/memory-kv-store.js'
import { RedisKvStore } from '../store/redis-kv-store.js'
import { connectRedis, redisAnswers, waitForRedis } from '../store/redis-connection.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The shared Redis connection, or undefined on the embedded (in-memory) default. */
    redis: Redis | undefined
    kv: KvStore
  }
}

export interface StoresOptions {
  redisUrl: string | undefined
  keyPrefix: string
  /** A connection owned by the caller (tests, the worker): used as is and never closed here. */
  redis?: Redis
  addReadinessCheck: (name: string, check: () => Promise<boolean>) => void
}

/**
 * Chooses the stores: Redis when configured, memory otherwise (with one warning, since
 * memory stores are for one process and lose everything on restart). Owns the
 * connection's whole lifecycle when it opened it.
 */
async function stores (app: FastifyInstance, opts: StoresOptions) {
  let redis = opts.redis
  const owned = redis === undefined && opts.redisUrl !== undefined
  if (owned) {
    redis = connectRedis(opts.redisUrl as string, 'qss-app')
    // ioredis emits errors while reconnecting; the readiness probe reports them, logs keep one line each.
    redis.on('error', (err: Error) => app.log.warn({ err: { message: err.message } }, 'redis connection error'))
    try {
      await waitForRedis(redis)
    } catch (err) {
      redis.disconnect()
      throw err
    }
  }
  if (redis !== undefined) {
    const connection = redis
    app.decorate('redis', connection)
    app.decorate('kv', new RedisKvStore(connection, opts.keyPrefix))
    opts.addReadinessCheck('redis', () => redisAnswers(connection))
  } else {
    app.log.warn('REDIS_URL is not set: using in-memory stores and an in-process queue (one process only; state is lost on restart)')
    app.decorate('redis', undefined)
    app.decorate('kv', new MemoryKvStore())
  }
  app.addHook('onClose', async () => {
    await app.kv.close()
    // QUIT would wait for a reconnect that may never come: only a live connection says goodbye.
    if (owned && redis !== undefined) {
      if (redis.status === 'ready') await redis.quit().catch(() => redis?.disconnect())
      else redis.disconnect()
    }
  })
}

export default fp(stores, { name: 'qss-stores', fastify: '5.x' })
