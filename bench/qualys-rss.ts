import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

/**
 * Peak RSS of a client ingesting one policy through the simulator page by page, at 100k
 * and 1M posture records: memory must stay flat as the record count grows. The simulator
 * and the client each run in a child process, so neither the bench runner nor the
 * simulator is counted.
 *
 * The client runs with its old generation capped (HEAP_CAP_MB): without a cap V8 grows the
 * heap lazily under this allocation rate, so RSS would show the collector's appetite
 * rather than what the ingest keeps. Memory is bounded by one page either way.
 *
 *   run(): { '100k: peak RSS MB', '1M: peak RSS MB', ... }
 */

const here = (name: string) => fileURLToPath(new URL(name, import.meta.url))

async function firstLine (child: ReturnType<typeof spawn>): Promise<string> {
  const lines = createInterface({ input: child.stdout! })
  const [line] = await Promise.race([
    once(lines, 'line') as Promise<[string]>,
    once(child, 'exit').then(() => { throw new Error('child exited without output') })
  ])
  return line
}

const HEAP_CAP_MB = 192

async function ingest (hosts: number, pageSize: number) {
  const sim = spawn(process.execPath, ['--import', 'tsx', here('./qualys-sim-process.ts')], {
    env: { ...process.env, SIM_HOSTS: String(hosts), SIM_CONTROLS: '50', SIM_TECHNOLOGIES: '2' }, stdio: ['ignore', 'pipe', 'inherit']
  })
  try {
    const simLine = await firstLine(sim)
    const client = spawn(process.execPath, [`--max-old-space-size=${HEAP_CAP_MB}`, '--import', 'tsx', here('./qualys-ingest-process.ts')], {
      env: { ...process.env, SIM: simLine, PAGE_SIZE: String(pageSize) }, stdio: ['ignore', 'pipe', 'inherit']
    })
    const result = JSON.parse(await firstLine(client)) as { records: number, pages: number, maxRssMB: number, seconds: number, calls409: number }
    await once(client, 'exit')
    return result
  } finally {
    sim.kill('SIGTERM')
  }
}

export async function run (): Promise<Record<string, string | number>> {
  const pageSize = 1000
  const small = await ingest(1000, pageSize)
  const large = await ingest(10000, pageSize)
  return {
    'qualys ingest: page size': pageSize,
    'qualys ingest: client heap cap MB': HEAP_CAP_MB,
    'qualys ingest 100k: records': small.records,
    'qualys ingest 100k: peak RSS MB': small.maxRssMB.toFixed(0),
    'qualys ingest 1M: records': large.records,
    'qualys ingest 1M: pages': large.pages,
    'qualys ingest 1M: peak RSS MB (target <= 300)': large.maxRssMB.toFixed(0),
    'qualys ingest 1M: seconds': large.seconds.toFixed(1),
    'qualys ingest 1M: 409s': large.calls409,
    'qualys ingest: RSS growth 100k -> 1M': `${((large.maxRssMB / small.maxRssMB - 1) * 100).toFixed(0)}%`
  }
}
