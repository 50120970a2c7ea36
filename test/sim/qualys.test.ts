import { test } from 'tap'
import { parseQualysXml } from '../../src/qualys/xml.js'
import { readSimpleReturn } from '../../src/qualys/simple-return.js'
import { startQualysSim } from '../../src/sim/qualys.js'

const where = { endpoint: 'sim', page: 1 }

test('auth and X-Requested-With are required, errors as Qualys gives them', async (t) => {
  const sim = await startQualysSim({ hosts: 5, policies: 1, controlsPerPolicy: 1 })
  t.teardown(() => sim.close())
  const path = `${sim.url}/api/2.0/fo/compliance/policy/?action=list`
  const auth = `Basic ${Buffer.from(`${sim.username}:${sim.password}`).toString('base64')}`
  const noAuth = await fetch(path, { headers: { 'x-requested-with': 't' } })
  t.equal(noAuth.status, 401)
  t.match(readSimpleReturn(parseQualysXml(await noAuth.text(), where).body).text, /Bad Login\/Password/)
  const noHeader = await fetch(path, { headers: { authorization: auth } })
  t.equal(noHeader.status, 400)
  t.equal(readSimpleReturn(parseQualysXml(await noHeader.text(), where).body).code, '1903')
  const ok = await fetch(path, { headers: { authorization: auth, 'x-requested-with': 't' } })
  t.equal(ok.status, 200)
  for (const h of ['x-ratelimit-limit', 'x-ratelimit-window-sec', 'x-ratelimit-remaining', 'x-ratelimit-towait-sec', 'x-concurrency-limit-limit', 'x-concurrency-limit-running']) {
    t.ok(ok.headers.get(h) !== null, `${h} on every FO response`)
  }
  const bad = await fetch(`${sim.url}/api/2.0/fo/asset/host/vm/detection/`, { method: 'POST', headers: { authorization: auth, 'x-requested-with': 't', 'content-type': 'application/x-www-form-urlencoded' }, body: 'action=list&ids=abc123' })
  t.equal(bad.status, 400)
  t.match(readSimpleReturn(parseQualysXml(await bad.text(), where).body), { code: '1905', text: /parameter ids has invalid value: abc123/ })
})

test('sliding-window rate limit answers 409 1965 with SECONDS_TO_WAIT; concurrency answers 1960', async (t) => {
  const sim = await startQualysSim({ hosts: 5, policies: 1, controlsPerPolicy: 1, limits: { rateLimit: 3, windowSec: 60, concurrency: 1 } })
  t.teardown(() => sim.close())
  const init = { headers: { authorization: `Basic ${Buffer.from(`${sim.username}:${sim.password}`).toString('base64')}`, 'x-requested-with': 't' } }
  const path = `${sim.url}/api/2.0/fo/compliance/policy/?action=list`
  const remaining = []
  for (let i = 0; i < 3; i++) {
    const res = await fetch(path, init)
    await res.text()
    remaining.push(res.headers.get('x-ratelimit-remaining'))
  }
  t.same(remaining, ['2', '1', '0'])
  const limited = await fetch(path, init)
  t.equal(limited.status, 409)
  const sr = readSimpleReturn(parseQualysXml(await limited.text(), where).body)
  t.equal(sr.code, '1965')
  t.ok(Number(sr.items.SECONDS_TO_WAIT) > 0 && Number(sr.items.SECONDS_TO_WAIT) <= 60)
  t.equal(limited.headers.get('x-ratelimit-towait-sec'), sr.items.SECONDS_TO_WAIT)

  sim.setLimits({ rateLimit: 100 })
  sim.setFaults({ latencyMs: 200 })
  const kbPath = `${sim.url}/api/2.0/fo/knowledge_base/vuln/?action=list&ids=38000`
  const [a, b] = await Promise.all([fetch(kbPath, init), new Promise((resolve) => setTimeout(resolve, 50)).then(async () => await fetch(kbPath, init))])
  t.equal(a.status, 200)
  t.equal(b.status, 409)
  t.equal(readSimpleReturn(parseQualysXml(await b.text(), where).body).code, '1960')
  await a.text()
  const stats = await (await fetch(`${sim.url}/__sim/stats`)).json() as { rejected409: number, peakConcurrency: Record<string, number> }
  t.equal(stats.rejected409, 2)
  t.equal(stats.peakConcurrency.kb, 1)
})

test('a policy of a million postures is served from its index, rescans via /__sim/', async (t) => {
  const sim = await startQualysSim({ hosts: 10000, policies: 1, controlsPerPolicy: 50, technologiesPerControl: 2, limits: { rateLimit: 1000 } })
  t.teardown(() => sim.close())
  const policy = sim.world.policies[0]!
  t.equal(policy.postureCount, 1_000_000)
  const init = { headers: { authorization: `Basic ${Buffer.from(`${sim.username}:${sim.password}`).toString('base64')}`, 'x-requested-with': 't' } }
  const lastIds = `${sim.world.postureId(policy, 999_998)}`
  const res = await fetch(`${sim.url}/api/2.0/fo/compliance/posture/info/?action=list&policy_id=${policy.id}&truncation_limit=5&id_min=${lastIds}`, init)
  const body = parseQualysXml(await res.text(), where).body as any
  t.same(body.RESPONSE.INFO_LIST.INFO.map((i: { ID: string }) => i.ID), [sim.world.postureId(policy, 999_998), sim.world.postureId(policy, 999_999)])
  t.equal(body.RESPONSE.WARNING, undefined, 'last page has no WARNING')

  let failing = 999_999
  while (sim.world.posture(policy, failing).status !== 'Failed') failing--
  const rescan = await (await fetch(`${sim.url}/__sim/rescan`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ fix: [sim.world.postureId(policy, failing)] }) })).json() as { fixed: number, at: string }
  t.equal(rescan.fixed, 1)
  t.match(sim.world.posture(policy, failing), { status: 'Passed', previousStatus: 'Failed', evaluated: rescan.at, lastPass: rescan.at })
  const delta = await fetch(`${sim.url}/api/2.0/fo/compliance/posture/info/?action=list&policy_id=${policy.id}&status_changes_since=${rescan.at}`, init)
  const deltaBody = parseQualysXml(await delta.text(), where).body as any
  t.same(deltaBody.RESPONSE.INFO_LIST.INFO.map((i: { STATUS: string }) => i.STATUS), ['Passed'], 'a delta reads only the overrides')
})

test('same seed, same world', async (t) => {
  const a = await startQualysSim({ seed: 7, hosts: 30 })
  const b = await startQualysSim({ seed: 7, hosts: 30 })
  t.teardown(async () => { await a.close(); await b.close() })
  const pa = a.world.policies[1]!
  const pb = b.world.policies[1]!
  for (const i of [0, 17, 200, 479]) t.same(a.world.posture(pa, i), b.world.posture(pb, i))
  t.same(a.world.vm?.hostDetections(12), b.world.vm?.hostDetections(12))
  t.ok(a.world.estate.hosts.some((h) => h.quirk === 'hostile'), 'hostile names present')
})
