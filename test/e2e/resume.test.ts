import { test } from 'tap'
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { startQualysSim } from '../../src/sim/qualys.js'
import { startServiceNowSim } from '../../src/sim/servicenow.js'
import type { SyncJob } from '../../src/sync/job-model.js'
import { startTestRedis } from '../helpers/redis.js'
import { API_KEY, auth } from './harness.js'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

test('killing the worker mid-run (SIGKILL) and starting another resumes the job: no duplicates, nothing missing', async (t) => {
  const redis = await startTestRedis()
  t.teardown(() => redis.stop())
  const qualys = await startQualysSim({ seed: 11, hosts: 40, policies: 2, controlsPerPolicy: 5, failRate: 0.5 })
  t.teardown(() => qualys.close())
  // Slow enough that the kill lands mid-run.
  const sn = await startServiceNowSim({ estate: qualys.world.estate, latencyMs: 15 })
  t.teardown(() => sn.close())
  const env: Record<string, string> = {
    API_KEYS: API_KEY,
    LOG_LEVEL: 'silent',
    REDIS_URL: redis.url,
    REDIS_KEY_PREFIX: 'resume',
    JOB_LOCK_MS: '1500',
    QUALYS_BASE_URL: qualys.url,
    QUALYS_USERNAME: qualys.username,
    QUALYS_PASSWORD: qualys.password,
    QUALYS_POLICY_IDS: qualys.world.policies.map((p) => p.id).join(','),
    QUALYS_PAGE_SIZE: '25',
    SERVICENOW_URL: sn.url,
    SERVICENOW_USERNAME: sn.credentials.username,
    SERVICENOW_PASSWORD: sn.credentials.password,
    SERVICENOW_CONCURRENCY: '2'
  }
  const startWorker = async (): Promise<ChildProcess> => {
    const child = spawn(process.execPath, ['--import', 'tsx', new URL('./fixtures/worker-process.ts', import.meta.url).pathname], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit']
    })
    t.teardown(() => { child.kill('SIGKILL') })
    const [chunk] = await once(child.stdout as NodeJS.ReadableStream, 'data') as [Buffer]
    t.match(chunk.toString(), 'worker ready')
    return child
  }

  // This replica only serves the API: every job runs in a worker process.
  const api = await buildApp(loadConfig({ ...env, WORKER: 'false' }))
  t.teardown(() => api.close())
  await api.ready()
  const getJob = async (id: string) => (await api.inject({ url: `/sync/${id}`, headers: auth })).json() as SyncJob

  const first = await startWorker()
  const started = (await api.inject({ method: 'POST', url: '/sync', headers: auth, payload: {} })).json() as SyncJob
  let job = await getJob(started.id)
  for (let i = 0; i < 400 && job.progress.pages < 3; i++) { await sleep(25); job = await getJob(started.id) }
  t.ok(job.progress.pages >= 3 && job.status === 'running', `killed mid-run (${job.progress.pages} pages done)`)
  first.kill('SIGKILL')
  await once(first, 'exit')
  const createdBeforeKill = sn.table('u_poam_table').length

  await startWorker()
  for (let i = 0; i < 600 && !['succeeded', 'failed', 'partial'].includes(job.status); i++) { await sleep(50); job = await getJob(started.id) }
  t.equal(job.status, 'succeeded', JSON.stringify(job.error ?? job.result?.errors?.slice(0, 2)))
  t.equal(job.attempts, 2, 'a second worker resumed the job')
  const failing = qualys.world.policies.flatMap((p) => Array.from({ length: p.postureCount }, (_, i) => qualys.world.posture(p, i))).filter((p) => p.status === 'Failed')
  const rows = sn.table('u_poam_table')
  t.ok(createdBeforeKill > 0 && createdBeforeKill < failing.length, `the first worker had done part of the work (${createdBeforeKill}/${failing.length})`)
  t.equal(rows.length, failing.length, 'nothing missing')
  t.equal(new Set(rows.map((r) => r.u_correlation_id)).size, rows.length, 'no duplicates')
})
