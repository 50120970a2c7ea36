import { test } from 'tap'
import type { Finding } from '../../src/findings/model.js'
import { createQualysClient, type QualysClientOptions } from '../../src/qualys/client.js'
import { startQualysSim, type QualysSim, type QualysSimOptions } from '../../src/sim/qualys.js'

interface Teardown { teardown (fn: () => unknown): void }

async function sim (t: Teardown, options: QualysSimOptions = {}): Promise<QualysSim> {
  const s = await startQualysSim(options)
  t.teardown(() => s.close())
  return s
}

function client (s: QualysSim, overrides: Partial<QualysClientOptions> = {}) {
  return createQualysClient({
    baseUrl: s.url, username: s.username, password: s.password, requestedWith: 'qss-test', timeoutMs: 5000, pageSize: 37, retryBaseMs: 5, ...overrides
  })
}

async function collect (pages: AsyncIterable<{ findings: Finding[] }>): Promise<Finding[]> {
  const all: Finding[] = []
  for await (const page of pages) all.push(...page.findings)
  return all
}

test('multi-policy ingest paced from the headers: every record, zero 409s, concurrency never exceeded', async (t) => {
  const s = await sim(t, { hosts: 25, policies: 3, controlsPerPolicy: 8, technologiesPerControl: 2, limits: { rateLimit: 20, windowSec: 2, concurrency: 2 } })
  const waits: string[] = []
  const qualys = client(s, { onWait: (e) => waits.push(e.reason) })
  const policies = await qualys.listPolicies()
  t.same(policies.map((p) => p.id), ['5000', '5001', '5002'])
  t.match(policies[0]?.title, /^Sim Baseline 1 & Hardening/)
  const results = await Promise.all(policies.map(async (p) => await collect(qualys.postures(p.id))))
  for (const [i, findings] of results.entries()) {
    const policy = s.world.policies[i]
    t.equal(findings.length, policy?.postureCount, `policy ${policy?.id}: all ${policy?.postureCount} records over ${Math.ceil((policy?.postureCount ?? 0) / 37)} pages`)
    t.equal(new Set(findings.map((f) => f.id)).size, findings.length, 'ids unique')
    t.ok(findings.every((f) => f.policy?.title === policy?.title), 'policy title from the policy list')
  }
  t.equal(s.stats.rejected409, 0, 'no 409 served')
  t.ok((s.stats.peakConcurrency.posture ?? 0) <= 2, 'never above the concurrency limit')
  t.equal(s.stats.peakConcurrency.posture, 1, 'one slot kept spare for other tools')
  t.ok(waits.includes('pacing') || waits.includes('rate-limit'), 'waited for the window instead of calling into a 409')
  t.equal(qualys.stats().rejected409, 0)
})

test('delta pull returns fixed and regressed postures, passed ones included', async (t) => {
  const s = await sim(t, { hosts: 20, policies: 1, controlsPerPolicy: 6, failRate: 0.4 })
  const qualys = client(s)
  let checkpoint = ''
  const full = []
  for await (const page of qualys.postures('5000')) {
    if (page.page === 1) checkpoint = page.responseDatetime
    full.push(...page.findings)
  }
  t.equal(full.length, 120)
  t.match(checkpoint, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
  const rescan = s.world.rescan({ fix: 0.5, regress: 0.1 })
  t.ok(rescan.fixed > 0 && rescan.regressed > 0)
  const delta = await collect(qualys.postures('5000', { since: checkpoint }))
  t.equal(delta.length, rescan.fixed + rescan.regressed, 'only the changed records')
  const byId = new Map(full.map((f) => [f.id, f]))
  const passed = delta.filter((f) => f.status === 'passed')
  t.equal(passed.length, rescan.fixed, 'fixed postures come through as passed')
  for (const f of passed) {
    t.equal(byId.get(f.id)?.status, 'failed', 'same finding id as the failing record')
    t.equal(f.lastPassed, rescan.at)
    t.ok((f.evaluatedAt ?? '') > (byId.get(f.id)?.evaluatedAt ?? ''), 'newer evaluation')
  }
  t.equal(delta.filter((f) => f.status === 'failed').length, rescan.regressed)
  const fullAgain = await collect(qualys.postures('5000', { since: checkpoint, full: true }))
  t.equal(fullAgain.length, 120, 'full ignores since')
})

test('detections: Fixed only when asked, KB enrichment cached, delta after a VM rescan', async (t) => {
  const s = await sim(t, { hosts: 30, policies: 1, controlsPerPolicy: 1 })
  const qualys = client(s, { pageSize: 7 })
  const open = await collect(qualys.detections({}))
  t.ok(open.length > 0)
  t.ok(open.every((f) => f.status === 'failed' && f.source === 'vm'))
  t.ok(open.every((f) => typeof f.vuln?.title === 'string' && Array.isArray(f.vuln?.cves)), 'KB title and CVEs on every finding')
  const kbCalls = s.stats.calls.kb ?? 0
  t.equal((await collect(qualys.detections({}))).length, open.length)
  t.equal(s.stats.calls.kb ?? 0, kbCalls, 'QIDs served from the cache')
  const withFixed = await collect(qualys.detections({ includeFixed: true }))
  t.ok(withFixed.some((f) => f.status === 'passed'), 'Fixed -> passed')
  const severe = await collect(qualys.detections({ severities: '4,5' }))
  t.ok(severe.length > 0 && severe.every((f) => (f.vuln?.severity ?? 0) >= 4 && f.risk === 'High'))
  const checkpoint = new Date().toISOString()
  const rescan = s.world.rescan({ vm: { fix: 0.3 } })
  t.ok((rescan.vm?.fixed ?? 0) > 0)
  const delta = await collect(qualys.detections({ since: checkpoint, includeFixed: true }))
  const fixedIds = new Set(rescan.vm?.fixedIds)
  const nowPassed = delta.filter((f) => f.status === 'passed' && fixedIds.has(f.vuln?.uniqueVulnId ?? ''))
  t.ok(nowPassed.length > 0, 'rescanned fixes arrive as passed on the delta')
  t.ok(delta.every((f) => open.some((o) => o.host.qualysHostId === f.host.qualysHostId) || f.status === 'passed'))
})

test('auth, account and parameter errors map to distinct codes and never leak the password', async (t) => {
  const s = await sim(t, { hosts: 5, policies: 1, controlsPerPolicy: 1 })
  const bad = client(s, { password: 'wrong-secret-value' })
  const authErr = await bad.listPolicies().catch((e: unknown) => e) as { code: string, message: string }
  t.equal(authErr.code, 'QSS_QUALYS_AUTH')
  const serialized = JSON.stringify(authErr) + authErr.message + String((authErr as { stack?: string }).stack)
  t.notOk(serialized.includes('wrong-secret-value'), 'password absent')
  t.notOk(serialized.includes(Buffer.from(`${s.username}:wrong-secret-value`).toString('base64')), 'Authorization absent')
  const qualys = client(s)
  await t.rejects(collect(qualys.postures('4242')), { code: 'QSS_QUALYS_BAD_REQUEST', message: /CODE 1905/ })
  s.setFaults({ simpleReturn: { code: '2001', text: 'This account has expired.', status: 200, count: 1 } })
  await t.rejects(qualys.listPolicies(), { code: 'QSS_QUALYS_ACCOUNT', message: /HTTP 200 CODE 2001: This account has expired/ })
  await t.rejects(collect(qualys.postures('50; drop')), { code: 'QSS_QUALYS_BAD_REQUEST' })
})

test('faults: 5xx and 999 retried, persistent 5xx, truncated body, off-origin URL, timeout', async (t) => {
  const s = await sim(t, { hosts: 10, policies: 1, controlsPerPolicy: 4 })
  const qualys = client(s, { pageSize: 15 })
  s.setFaults({ serverErrors: 2, internalErrors: 1 })
  t.equal((await collect(qualys.postures('5000'))).length, 40, 'recovered after retries')
  t.ok(qualys.stats().retries >= 3)
  s.setFaults({ serverErrors: 10 })
  await t.rejects(collect(client(s, { retries: 2 }).postures('5000')), { code: 'QSS_QUALYS_UNAVAILABLE', message: /HTTP 503/ })
  s.setFaults({ truncatedBodies: 1, endpoints: ['posture'] })
  await t.rejects(collect(qualys.postures('5000')), { code: 'QSS_QUALYS_XML', message: /\/api\/2\.0\/fo\/compliance\/posture\/info\/ \(page 1\)/ })
  s.setFaults({ offOriginWarnings: 1 })
  const seen: number[] = []
  await t.rejects((async () => { for await (const page of qualys.postures('5000')) seen.push(page.page) })(), { code: 'QSS_QUALYS_UNSAFE_URL', message: /attacker\.example\.net/ })
  t.same(seen, [], 'the page pointing off-origin is refused before anything follows it')
  s.setFaults({ latencyMs: 300 })
  await t.rejects(collect(client(s, { timeoutMs: 100, retries: 0 }).postures('5000')), { code: 'QSS_QUALYS_TIMEOUT' })
  s.setFaults({})
})

test('parsing traps from the simulator: invalid characters counted, keep-alive comments, no DOCTYPE', async (t) => {
  const s = await sim(t, { hosts: 6, policies: 1, controlsPerPolicy: 3, failRate: 1 })
  const qualys = client(s, { pageSize: 100 })
  s.setFaults({ invalidChars: true, keepAliveEvery: 2, doctype: false })
  const pages = []
  for await (const page of qualys.postures('5000')) pages.push(page)
  t.equal(pages.length, 1)
  t.equal(pages[0]?.findings.length, 18)
  t.ok((pages[0]?.invalidCharsStripped ?? 0) >= 18 * 3, 'each forbidden character counted')
  t.notOk(pages[0]?.findings.some((f) => ['\u0001', '\u000b', '\ufffe'].some((c) => (f.evidence ?? '').includes(c))), 'and stripped')
})

test('two uncoordinated clients collide on concurrency 1 and recover through 409 back-off', async (t) => {
  const s = await sim(t, { hosts: 10, policies: 1, controlsPerPolicy: 4, limits: { concurrency: 1 }, latencyMs: 20 })
  const [a, b] = [client(s, { pageSize: 5 }), client(s, { pageSize: 5 })]
  const [ra, rb] = await Promise.all([collect(a.postures('5000')), collect(b.postures('5000'))])
  t.equal(ra.length, 40)
  t.equal(rb.length, 40)
  t.ok(s.stats.rejected409 > 0, 'collisions happened (no shared budget)')
  t.equal(a.stats().rejected409 + b.stats().rejected409, s.stats.rejected409)
  t.equal(s.stats.peakConcurrency.posture, 1, 'the simulator enforced the limit')
})
