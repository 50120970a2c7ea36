import { test } from 'tap'
import { spawn } from 'node:child_process'
import { once } from 'node:events'

test('npm run sim: both simulators with their URLs, credentials and environment printed, and its knobs applied', async (t) => {
  const child = spawn(process.execPath, ['--import', 'tsx', new URL('../../src/sim/cli.ts', import.meta.url).pathname,
    '--hosts', '12', '--policies', '1', '--controls', '3', '--servicenow-latency-ms', '100', '--servicenow-batch-limit-ms', '150'], { stdio: ['ignore', 'pipe', 'pipe'] })
  t.teardown(() => { child.kill('SIGKILL') })
  let out = ''
  child.stdout.on('data', (chunk: Buffer) => { out += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { out += chunk.toString() })
  for (let i = 0; i < 300 && !out.includes('Ctrl-C to stop.'); i++) await new Promise((resolve) => setTimeout(resolve, 100))

  const env = Object.fromEntries([...out.matchAll(/([A-Z_]+)=(\S+)/g)].map((m) => [m[1], m[2]]))
  t.match(env, { QUALYS_BASE_URL: /^http:\/\/127\.0\.0\.1:\d+$/, SERVICENOW_URL: /^http:\/\/127\.0\.0\.1:\d+$/, QUALYS_POLICY_IDS: /^\d+$/ }, 'the environment for the service is printed')
  const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`

  const posture = await fetch(`${env.QUALYS_BASE_URL}/api/2.0/fo/compliance/posture/info/?action=list&policy_id=${env.QUALYS_POLICY_IDS}`, {
    headers: { authorization: basic(env.QUALYS_USERNAME as string, env.QUALYS_PASSWORD as string), 'x-requested-with': 'test' }
  })
  t.equal(posture.status, 200, 'the printed Qualys credentials work')
  t.match(await posture.text(), /<POSTURE_INFO_LIST_OUTPUT>/)

  const item = { id: '1', method: 'GET', url: '/api/now/table/cmdb_ci_server?sysparm_limit=1', headers: [{ name: 'Accept', value: 'application/json' }] }
  const batch = await fetch(`${env.SERVICENOW_URL}/api/now/v1/batch`, {
    method: 'POST',
    headers: { authorization: basic(env.SERVICENOW_USERNAME as string, env.SERVICENOW_PASSWORD as string), 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ batch_request_id: 'b', rest_requests: [item, { ...item, id: '2' }, { ...item, id: '3' }] })
  })
  t.equal(batch.status, 200, 'the printed ServiceNow credentials work')
  const answer = await batch.json() as { serviced_requests: unknown[], unserviced_requests: string[] }
  t.equal(answer.serviced_requests.length, 2, '--servicenow-latency-ms and --servicenow-batch-limit-ms apply (100 ms items, cut at 150 ms)')
  t.same(answer.unserviced_requests, ['3'])

  child.kill('SIGINT')
  const [code] = await once(child, 'exit') as [number | null]
  t.equal(code, 0, 'Ctrl-C exits cleanly')
})
