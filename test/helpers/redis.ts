import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'

export interface TestRedis {
  url: string
  /** A fresh client on the private server; closed with the server. */
  client (): Redis
  stop (): Promise<void>
}

async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number }
      srv.close(() => resolve(port))
    })
  })
}

function hasRedisServer (): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0
}

async function waitForPing (url: string, deadlineMs: number): Promise<void> {
  const start = Date.now()
  for (;;) {
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
    probe.on('error', () => {})
    try {
      await probe.connect()
      await probe.ping()
      probe.disconnect()
      return
    } catch {
      probe.disconnect()
      if (Date.now() - start > deadlineMs) throw new Error(`redis-server at ${url} did not answer within ${deadlineMs} ms`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
}

/**
 * A Redis for one test file: a private `redis-server` on a free port when the binary is
 * installed (nothing shared, nothing of anyone else flushed), else the server named by
 * REDIS_URL with a unique key prefix left to the caller, else a clear failure.
 */
export async function startTestRedis (): Promise<TestRedis> {
  const clients: Redis[] = []
  const client = (url: string) => () => {
    const c = new Redis(url, { maxRetriesPerRequest: null })
    c.on('error', () => {})
    clients.push(c)
    return c
  }
  // QUIT on a connection whose server is gone would wait for a reconnect forever.
  const closeClients = async () => {
    await Promise.all(clients.splice(0).map(async (c) => {
      if (c.status === 'ready') await c.quit().catch(() => c.disconnect())
      else c.disconnect()
    }))
  }

  if (hasRedisServer()) {
    const port = await freePort()
    const dir = mkdtempSync(join(tmpdir(), 'qss-redis-'))
    const proc: ChildProcess = spawn('redis-server', [
      '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--logfile', ''
    ], { stdio: 'ignore' })
    const url = `redis://127.0.0.1:${port}`
    await waitForPing(url, 5000)
    let stopped = false
    return {
      url,
      client: client(url),
      stop: async () => {
        if (stopped) return
        stopped = true
        await closeClients()
        proc.kill('SIGTERM')
        await new Promise((resolve) => { if (proc.exitCode !== null) resolve(undefined); else proc.once('exit', resolve) })
        rmSync(dir, { recursive: true, force: true })
      }
    }
  }
  const url = process.env.REDIS_URL
  if (url === undefined || url === '') {
    throw new Error('These tests need Redis: install redis-server (apt-get install redis-server) so each test file starts its own, or set REDIS_URL to a server they may use')
  }
  await waitForPing(url, 5000)
  return { url, client: client(url), stop: closeClients }
}
