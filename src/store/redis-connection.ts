import { Redis } from 'ioredis'

/**
 * Opens a Redis connection that reconnects with capped back-off. `maxRetriesPerRequest:
 * null` is what BullMQ needs for blocking commands; callers that must not hang behind a
 * dead Redis (readiness) race their own timeout.
 */
export function connectRedis (url: string, name: string): Redis {
  return new Redis(url, {
    connectionName: name,
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    retryStrategy: (times) => Math.min(times * 200, 5000)
  })
}

/** True when Redis answers PING within `timeoutMs`. */
export async function redisAnswers (redis: Redis, timeoutMs = 1000): Promise<boolean> {
  if (redis.status !== 'ready') return false
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([
      redis.ping().then((r) => r === 'PONG'),
      new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), timeoutMs) })
    ])
  } catch {
    return false
  } finally {
    clearTimeout(timer)
  }
}

/** Resolves when the connection is ready, rejects if it fails first or takes too long. */
export async function waitForRedis (redis: Redis, timeoutMs = 10000): Promise<void> {
  if (redis.status === 'ready') return
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => { cleanup(); reject(new Error(`Redis not ready after ${timeoutMs} ms`)) }, timeoutMs)
    const onReady = () => { cleanup(); resolve() }
    const onEnd = () => { cleanup(); reject(new Error('Redis connection closed before it was ready')) }
    function cleanup () {
      clearTimeout(timer)
      redis.off('ready', onReady)
      redis.off('end', onEnd)
    }
    redis.on('ready', onReady)
    redis.on('end', onEnd)
  })
}
