import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import type { SyncJob } from '../src/sync/job-model.js'
import { naiveSync } from './naive-baseline.js'
import { startTestRedis } from '../test/helpers/redis.js'

/**
 * Cold sync, warm re-sync and the naive baseline, against the simulators in child
 * processes of their own (so the service's RSS is its own) with injected latency: Qualys 50 ms, ServiceNow
 * 20 ms, Qualys limits 2 concurrent / 300 calls per 60 s (the hourly default scaled), and
 * SERVICENOW_CONCURRENCY 4. Sizes: BENCH_HOSTS x BENCH_CONTROLS (default 2000 x 100), and a
 * 200 x 20 world where the naive script runs beside the service. The service uses a private
 * Redis (findings, cache, jobs), as a production deployment does.
 */
const SN_LATENCY_MS = 20
const SN_CONCURRENCY = 4

interface Sims {
  qualys: { url: string, username: string, password: string }
  servicenow: { url: string, username: string, password: string }
  policyId: string
  postures: number
  failing: number
  children: ChildProcess[]
}

async function startSim (role: 'qualys' | 'servicenow', hosts: number, controls: number): Promise<{ info: Record<string, unknown>, child: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', 'tsx', new URL('./sims-process.ts', import.meta.url).pathname], {
    env: { ...process.env, SIM: role, SIM_HOSTS: String(hosts), SIM_CONTROLS: String(controls), SERVICENOW_LATENCY_MS: String(SN_LATENCY_MS) },
    stdio: ['ignore', 'pipe', 'inherit']
  })
  const [line] = await once(child.stdout as NodeJS.ReadableStream, 'data') as [Buffer]
  return { info: JSON.parse(line.toString()) as Record<string, unknown>, child }
}

/** Each simulator in its own process: neither the service nor the other simulator shares its event loop. */
async function startSims (hosts: number, controls: number): Promise<Sims> {
  const [q, sn] = await Promise.all([startSim('qualys', hosts, controls), startSim('servicenow', hosts, controls)])
  return { ...q.info, ...sn.info, children: [q.child, sn.child] } as unknown as Sims
}

async function stopSims (sims: Sims) {
  await Promise.all(sims.children.map(async (child) => {
    child.kill('SIGTERM')
    await once(child, 'exit')
  }))
}

const json = async (url: string, init?: RequestInit) => await (await fetch(url, init)).json() as Record<string, unknown>

interface SnStats { total: number, writes: number, calls: Record<string, number>, batchItems: Record<string, number>, peakConcurrency: number, busyMs: number }

async function snStats (sims: Sims): Promise<SnStats> { return await json(`${sims.servicenow.url}/__sim/stats`) as unknown as SnStats }
async function resetSn (sims: Sims) { await fetch(`${sims.servicenow.url}/__sim/stats`, { method: 'POST' }) }

async function serviceFor (sims: Sims, redisUrl?: string) {
  return await buildApp(loadConfig({
    ...(redisUrl === undefined ? {} : { REDIS_URL: redisUrl, REDIS_KEY_PREFIX: `bench${Date.now()}` }),
    AUTH_DISABLED: 'true',
    LOG_LEVEL: 'silent',
    QUALYS_BASE_URL: sims.qualys.url,
    QUALYS_USERNAME: sims.qualys.username,
    QUALYS_PASSWORD: sims.qualys.password,
    QUALYS_POLICY_IDS: sims.policyId,
    SERVICENOW_URL: sims.servicenow.url,
    SERVICENOW_USERNAME: sims.servicenow.username,
    SERVICENOW_PASSWORD: sims.servicenow.password,
    SERVICENOW_CONCURRENCY: String(SN_CONCURRENCY),
    CLOSE_MAX_PERCENT: '100'
  }))
}

type App = Awaited<ReturnType<typeof serviceFor>>

/** Runs one sync to its end and returns it with the wall time and the peak RSS seen meanwhile. */
async function timedSync (app: App, body: Record<string, unknown>): Promise<{ job: SyncJob, seconds: number, peakRssMb: number }> {
  let peak = process.memoryUsage().rss
  const sampler = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss) }, 50)
  const started = performance.now()
  let job = (await app.inject({ method: 'POST', url: '/sync?wait=100', payload: body })).json() as SyncJob
  while (!['succeeded', 'partial', 'failed', 'cancelled'].includes(job.status)) {
    await new Promise((resolve) => setTimeout(resolve, 200))
    job = (await app.inject({ url: `/sync/${job.id}` })).json() as SyncJob
  }
  const seconds = (performance.now() - started) / 1000
  clearInterval(sampler)
  if (job.status !== 'succeeded') throw new Error(`sync ${job.status}: ${JSON.stringify(job.error ?? job.result?.errors?.slice(0, 2))}`)
  return { job, seconds, peakRssMb: Math.round(peak / 2 ** 20) }
}

const cmdbCalls = (s: SnStats) => Object.entries(s.calls).filter(([k]) => /cmdb_ci/.test(k)).reduce((n, [, v]) => n + v, 0)

async function mainWorld (hosts: number, controls: number): Promise<Record<string, string | number>> {
  const sims = await startSims(hosts, controls)
  // Redis, as in production: the in-memory default keeps every finding in the process.
  const redis = await startTestRedis()
  const app = await serviceFor(sims, redis.url)
  try {
    await app.ready()
    await resetSn(sims)
    const cold = await timedSync(app, {})
    const coldSn = await snStats(sims)
    const qualysStats = await json(`${sims.qualys.url}/__sim/stats`) as { rejected409: number, peakConcurrency: Record<string, number> }
    const creates = cold.job.result?.actions.create ?? 0
    const boundSeconds = coldSn.writes * SN_LATENCY_MS / 1000 / SN_CONCURRENCY

    await resetSn(sims)
    const warm = await timedSync(app, { full: true })
    const warmSn = await snStats(sims)
    return {
      world: `${hosts} hosts x ${controls} controls = ${sims.postures} postures, ${sims.failing} failing`,
      'cold: wall s': cold.seconds.toFixed(1),
      'cold: POA&Ms created': creates,
      'cold: ServiceNow calls': coldSn.total,
      'cold: SN calls per created POA&M (target <= 1.05)': (coldSn.total / Math.max(1, creates)).toFixed(3),
      'cold: SN calls by kind': Object.entries(coldSn.calls).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', '),
      'cold: ServiceNow writes (Batch API items included)': coldSn.writes,
      'cold: writes per Batch API call': ((coldSn.calls['POST batch'] ?? 0) === 0 ? 0 : Object.values(coldSn.batchItems).reduce((a, b) => a + b, 0) / (coldSn.calls['POST batch'] ?? 1)).toFixed(1),
      'cold: ServiceNow lanes kept busy (of 4)': (coldSn.busyMs / 1000 / cold.seconds).toFixed(2),
      'cold: lower bound s (writes x 20 ms / 4)': boundSeconds.toFixed(1),
      'cold: speed vs bound (target >= 0.9)': (boundSeconds / cold.seconds).toFixed(2),
      'cold: peak RSS of the service MB': cold.peakRssMb,
      'warm (full, nothing changed): wall s': warm.seconds.toFixed(1),
      'warm: SN calls per finding (target <= 0.01)': (warmSn.total / Math.max(1, warm.job.progress.findings)).toFixed(4),
      'warm: SN writes (target 0)': warmSn.writes,
      'warm: CMDB calls (target 0)': cmdbCalls(warmSn),
      'Qualys 409s (target 0)': qualysStats.rejected409,
      'Qualys peak concurrency (limit 2)': Math.max(0, ...Object.values(qualysStats.peakConcurrency)),
      'ServiceNow peak concurrency (limit 4)': Math.max(coldSn.peakConcurrency, warmSn.peakConcurrency)
    }
  } finally {
    await app.close()
    await redis.stop()
    await stopSims(sims)
  }
}

async function versusNaive (hosts: number, controls: number): Promise<Record<string, string | number>> {
  const ours = await startSims(hosts, controls)
  const app = await serviceFor(ours)
  let oursSeconds: number
  try {
    await app.ready()
    oursSeconds = (await timedSync(app, {})).seconds
  } finally {
    await app.close()
    await stopSims(ours)
  }
  const sims = await startSims(hosts, controls)
  try {
    const basic = (u: { username: string, password: string }) => `Basic ${Buffer.from(`${u.username}:${u.password}`).toString('base64')}`
    const opts = { qualysUrl: sims.qualys.url, qualysAuth: basic(sims.qualys), policyId: sims.policyId, snUrl: sims.servicenow.url, snAuth: basic(sims.servicenow), table: 'u_poam_table' }
    const started = performance.now()
    const first = await naiveSync(opts)
    const naiveSeconds = (performance.now() - started) / 1000
    await naiveSync(opts)
    const rows = (await json(`${sims.servicenow.url}/__sim/tables/u_poam_table`) as { result?: unknown[] }).result?.length ?? Number.NaN
    return {
      world: `${hosts} hosts x ${controls} controls, ${sims.failing} failing postures`,
      'service cold sync s': oursSeconds.toFixed(1),
      'naive script s (one page, sequential POSTs)': naiveSeconds.toFixed(1),
      'naive / service time': (naiveSeconds / oursSeconds).toFixed(1),
      'naive / service time per record written': ((naiveSeconds / Math.max(1, first.posted)) / (oursSeconds / Math.max(1, sims.failing))).toFixed(1),
      'naive: failing postures never posted (first page only)': sims.failing - first.posted,
      'naive: duplicate records after a second run': rows - first.posted
    }
  } finally {
    await stopSims(sims)
  }
}

export async function run (): Promise<Record<string, string | number>> {
  const hosts = Number(process.env.BENCH_HOSTS ?? 2000)
  const controls = Number(process.env.BENCH_CONTROLS ?? 100)
  const main = await mainWorld(hosts, controls)
  const naive = await versusNaive(200, 20)
  return { ...main, ...Object.fromEntries(Object.entries(naive).map(([k, v]) => [`vs naive: ${k}`, v])) }
}
