import { test } from 'tap'
import { postureFindingId } from '../../src/findings/finding-id.js'
import { simSysId, type SimHost } from '../../src/sim/hosts.js'
import type { ComplianceWorld, SimPolicy, SimPosture } from '../../src/sim/compliance.js'
import { auth, startWorld, type World } from './harness.js'

const RISK_OF: Record<string, string> = { URGENT: 'High', CRITICAL: 'High', SERIOUS: 'Moderate', MEDIUM: 'Low', MINIMAL: 'Low' }
const DAYS: Record<string, number> = { High: 30, Moderate: 90, Low: 180 }

function postures (world: ComplianceWorld): SimPosture[] {
  return world.policies.flatMap((p: SimPolicy) => Array.from({ length: p.postureCount }, (_, i) => world.posture(p, i)))
}

/** The CI a host should match, from how the simulated CMDB was seeded. */
function expectedCi (world: ComplianceWorld, host: SimHost): string {
  if (host.quirk === 'duplicate-name') return expectedCi(world, world.estate.hosts[host.index - 1] as SimHost)
  return ['fqdn', 'name-only', 'adapter-ip'].includes(host.cmdb) ? simSysId('ci', host.index) : ''
}

function correlationId (p: SimPosture, world: ComplianceWorld): string {
  const host = world.estate.hosts[p.hostIndex] as SimHost
  return `qss-${postureFindingId({ policyId: p.policyId, hostId: host.qualysHostId, controlId: p.control.id, technologyId: p.technology.id, instance: p.technology.instance })}`
}

const addDays = (date: string, days: number) => new Date(Date.parse(`${date}T00:00:00Z`) + days * 86400000).toISOString().slice(0, 10)

test('first sync: one POA&M per failing finding with every default field, tags on every affected CI; a second sync writes nothing', async (t) => {
  const w: World = await startWorld({ qualys: { hosts: 50, controlsPerPolicy: 4, policies: 2 } })
  t.teardown(() => w.close())
  const job = await w.sync()
  t.equal(job.status, 'succeeded', JSON.stringify(job.error ?? job.result?.errors?.slice(0, 3)))
  const failing = postures(w.qualys.world).filter((p) => p.status === 'Failed')
  const rows = w.rows('u_poam_table')
  t.equal(rows.length, failing.length, 'exactly one record per failing posture')
  t.equal(job.result?.actions.create, failing.length)
  const byCorrelation = new Map(rows.map((r) => [r.u_correlation_id, r]))
  t.equal(byCorrelation.size, rows.length, 'no duplicate correlation id')

  for (const p of failing) {
    const row = byCorrelation.get(correlationId(p, w.qualys.world))
    if (row === undefined) { t.fail(`no record for posture ${p.id}`); continue }
    const host = w.qualys.world.estate.hosts[p.hostIndex] as SimHost
    const risk = RISK_OF[p.control.criticality?.label ?? ''] ?? 'Moderate'
    const original = (p.firstFail ?? p.evaluated).slice(0, 10)
    const expected: Record<string, string> = {
      short_description: `Qualys Policy Compliance Failure: ${p.control.statement}`.slice(0, 160),
      status: 'Open',
      risk_rating: risk,
      cmdb_ci: expectedCi(w.qualys.world, host),
      u_weakness_detector_source: 'Qualys Policy Compliance',
      u_weakness_source_identifier: p.control.id,
      u_policy: p.policyId,
      u_original_detection_date: original,
      u_scheduled_completion_date: addDays(original, DAYS[risk] as number)
    }
    for (const [field, value] of Object.entries(expected)) {
      if (row[field] !== value && !(field === 'u_policy' && row[field]?.includes(value))) t.equal(row[field], value, `${field} of posture ${p.id}`)
    }
    for (const field of ['description', 'u_weakness_name', 'u_weakness_description', 'u_asset_identifier', 'u_controls', 'u_status_date', 'u_remediation_plan']) {
      if ((row[field] ?? '') === '') t.fail(`${field} empty for posture ${p.id}`)
    }
    if (!(row.u_asset_identifier ?? '').includes(host.qualysHostId)) t.fail(`asset identifier names the Qualys host id for ${p.id}`)
  }
  t.pass('every default field checked')

  // Tags: every CI with a failing posture carries the highest risk and the sorted policy ids.
  const tags = w.rows('cmdb_key_value')
  const expectedTags = new Map<string, { risk: string, policies: Set<string> }>()
  const rank: Record<string, number> = { High: 3, Moderate: 2, Low: 1 }
  for (const p of failing) {
    const ci = expectedCi(w.qualys.world, w.qualys.world.estate.hosts[p.hostIndex] as SimHost)
    if (ci === '') continue
    const risk = RISK_OF[p.control.criticality?.label ?? ''] ?? 'Moderate'
    const entry = expectedTags.get(ci) ?? { risk, policies: new Set<string>() }
    if ((rank[risk] as number) > (rank[entry.risk] as number)) entry.risk = risk
    entry.policies.add(p.policyId)
    expectedTags.set(ci, entry)
  }
  t.ok(expectedTags.size > 5, 'the world has tagged CIs')
  for (const [ci, e] of expectedTags) {
    const mine = tags.filter((r) => r.configuration_item === ci)
    t.equal(mine.find((r) => r.key === 'qualys_risk_tier')?.value, e.risk, `risk tier of ${ci}`)
    t.equal(mine.find((r) => r.key === 'qualys_failed_policies')?.value, [...e.policies].sort().join(','), `policies of ${ci}`)
  }
  t.equal(new Set(tags.map((r) => r.configuration_item)).size, expectedTags.size, 'no CI without a failing finding is tagged')

  const writesBefore = w.sn.stats.writes
  const again = await w.sync()
  t.equal(again.status, 'succeeded')
  t.equal(w.sn.stats.writes, writesBefore, 'a delta re-sync writes nothing')
  w.sn.resetStats()
  const full = await w.sync({ full: true })
  t.equal(full.status, 'succeeded')
  t.equal(w.sn.stats.writes, 0, 'a full re-sync writes nothing either')
  // Lookups: failing findings in chunks of 100, the open ids in pages of 500, the open count and gauge.
  const lookups = w.sn.stats.calls['GET u_poam_table'] ?? 0
  const bound = w.policyIds.reduce((n, id) => n + Math.ceil(failing.filter((p) => p.policyId === id).length / 100), 0) + Math.ceil(rows.length / 500) + 4
  t.ok(lookups <= bound, `passed findings with no open record are not looked up (${lookups} <= ${bound} record reads for ${full.progress.findings} findings)`)
  t.equal(Object.keys(w.sn.stats.calls).filter((k) => k.includes('cmdb_ci')).length, 0, 'a warm CI cache makes no CMDB call')
  const errors = postures(w.qualys.world).filter((p) => p.status === 'Error').length
  t.equal(full.result?.actions.noop, full.progress.findings - errors, 'every finding with a verdict planned as a noop')
  t.same([full.result?.actions.create, full.result?.actions.update, full.result?.actions.close, full.result?.actions.reopen], [0, 0, 0, 0])
  t.equal(w.rows('u_poam_table').length, rows.length, 'no duplicates after three runs')

  const metrics = (await w.app.inject({ url: '/metrics', headers: auth })).body
  const openHigh = rows.filter((r) => r.risk_rating === 'High').length
  t.match(metrics, new RegExp(`qss_open_poams\\{risk="High"\\} ${openHigh}\\b`), 'open POA&Ms by risk')
  t.match(metrics, new RegExp(`qss_sync_records_total\\{action="create"\\} ${failing.length}\\b`), 'records per action')
  t.match(metrics, /qss_upstream_calls_total\{target="qualys",operation="postures",status="200"\} \d+/, 'Qualys calls')
  t.match(metrics, /qss_upstream_calls_total\{target="servicenow",operation="batch",status="200"\} [1-9]/, 'ServiceNow writes, in Batch API calls')
  t.match(metrics, /qss_ci_cache_lookups_total\{result="hit"\} [1-9]/, 'CI cache hits on re-runs')
  t.match(metrics, /qss_sync_duration_seconds_count\{outcome="succeeded"\} 3/, 'sync durations')
})

test('a rescan that fixes postures closes exactly those records; a regression reopens them; tags follow', async (t) => {
  const w = await startWorld({ qualys: { hosts: 25, controlsPerPolicy: 4 } })
  t.teardown(() => w.close())
  await w.sync()
  const policy = w.qualys.world.policies[0] as SimPolicy
  const failing = postures(w.qualys.world).filter((p) => p.status === 'Failed')
  const toFix = failing.slice(0, 3).map((p) => p.id)
  const rescan = w.qualys.world.rescan({ policyId: policy.id, fix: toFix })
  t.equal(rescan.fixed, 3)
  const fixedIds = new Set(failing.slice(0, 3).map((p) => correlationId(p, w.qualys.world)))

  const job = await w.sync()
  t.equal(job.status, 'succeeded')
  t.equal(job.result?.actions.close, 3, 'exactly the fixed postures close')
  const rows = w.rows('u_poam_table')
  const closed = rows.filter((r) => r.status === 'Closed')
  t.same(new Set(closed.map((r) => r.u_correlation_id)), fixedIds)
  for (const r of closed) t.equal(r.u_status_date, rescan.at.slice(0, 10), 'status date is the evaluation that fixed it')

  // Tags follow: a CI whose only failing posture was fixed loses its tags.
  const tagsAfterFix = w.rows('cmdb_key_value')
  for (const p of failing.slice(0, 3)) {
    const host = w.qualys.world.estate.hosts[p.hostIndex] as SimHost
    const ci = expectedCi(w.qualys.world, host)
    if (ci === '') continue
    const stillFailing = postures(w.qualys.world).some((q) => q.status === 'Failed' && expectedCi(w.qualys.world, w.qualys.world.estate.hosts[q.hostIndex] as SimHost) === ci)
    t.equal(tagsAfterFix.some((r) => r.configuration_item === ci), stillFailing, `tags of ${ci} follow its open findings`)
  }

  // A later scan: a rescan in the same second counts as the same scan.
  const regress = w.qualys.world.rescan({ policyId: policy.id, regress: toFix, at: new Date(Date.now() + 60000).toISOString() })
  t.equal(regress.regressed, 3)
  const reopened = await w.sync()
  t.equal(reopened.result?.actions.reopen, 3, 'the same records reopen (ITSM mode)')
  t.equal(w.rows('u_poam_table').length, rows.length, 'no new record in reopen mode')
  t.equal(w.rows('u_poam_table').filter((r) => r.status === 'Closed').length, 0)
})

test('recreate mode: a recurrence is a new record referencing the closed one, never duplicated on re-run', async (t) => {
  const w = await startWorld({ qualys: { hosts: 25, controlsPerPolicy: 4 }, env: { POAM_REOPEN: 'recreate' } })
  t.teardown(() => w.close())
  await w.sync()
  const failing = postures(w.qualys.world).filter((p) => p.status === 'Failed').slice(0, 2)
  const policyId = failing[0]?.policyId as string
  w.qualys.world.rescan({ policyId, fix: failing.map((p) => p.id) })
  await w.sync()
  w.qualys.world.rescan({ policyId, regress: failing.map((p) => p.id), at: new Date(Date.now() + 60000).toISOString() })
  // A dry run stores what Qualys says now; the preview then shows the recreation it would send.
  await w.sync({ dryRun: true })
  const findingId = correlationId(failing[0] as SimPosture, w.qualys.world).slice('qss-'.length)
  const preview = (await w.app.inject({ url: `/findings/${findingId}/poam`, headers: auth })).json()
  t.equal(preview.action, 'create')
  t.equal(preview.correlationId, `qss-${findingId}-r1`)
  t.equal(preview.record.u_correlation_id, `qss-${findingId}-r1`, 'the previewed record is the new one, not the closed one')
  const job = await w.sync()
  t.equal(job.result?.actions.create, 2, 'two new records')
  const before = w.rows('u_poam_table').length
  await w.sync({ full: true })
  t.equal(w.rows('u_poam_table').length, before, 'a full re-run does not recreate again')
  for (const p of failing) {
    const base = correlationId(p, w.qualys.world)
    const family = w.rows('u_poam_table').filter((r) => r.u_correlation_id?.startsWith(base))
    t.same(family.map((r) => [r.u_correlation_id, r.status]).sort(), [[base, 'Closed'], [`${base}-r1`, 'Open']])
    t.match(family.find((r) => r.status === 'Open')?.description, base, 'the new record references the closed one')
  }
})

test('a dry run writes nothing and its plan equals what the real run then does', async (t) => {
  const w = await startWorld({ qualys: { hosts: 25, controlsPerPolicy: 3 } })
  t.teardown(() => w.close())
  await w.sync()
  const failing = postures(w.qualys.world).filter((p) => p.status === 'Failed')
  w.qualys.world.rescan({ fix: failing.slice(0, 2).map((p) => p.id), regress: 0.1 })
  const writes = w.sn.stats.writes
  const dry = await w.sync({ dryRun: true })
  t.equal(dry.status, 'succeeded')
  t.equal(w.sn.stats.writes, writes, 'the dry run wrote nothing')
  const planned = (dry.result?.plan ?? []).map((a) => `${a.action} ${a.correlationId}`).sort()
  t.ok(planned.length >= 3, `the plan has work (${planned.length})`)
  t.ok(dry.result?.plan?.every((a) => a.changes.length > 0), 'every planned write lists its field changes')

  const before = new Map(w.rows('u_poam_table').map((r) => [r.u_correlation_id, { ...r }]))
  const real = await w.sync()
  const done: string[] = []
  for (const r of w.rows('u_poam_table')) {
    const old = before.get(r.u_correlation_id)
    if (old === undefined) done.push(`create ${r.u_correlation_id}`)
    else if (old.status !== r.status) done.push(`${r.status === 'Closed' ? 'close' : 'reopen'} ${r.u_correlation_id}`)
    else if (Object.keys(r).some((k) => !k.startsWith('sys_') && r[k] !== old[k])) done.push(`update ${r.u_correlation_id}`)
  }
  t.same(done.sort(), planned, 'the real run did exactly what the dry run planned')
  t.equal(real.result?.actions.create, dry.result?.actions.create)
})

test('hostile host names never widen a ServiceNow query; unmatched and ambiguous hosts are reported and still get records', async (t) => {
  const w = await startWorld({ qualys: { hosts: 50, controlsPerPolicy: 4, failRate: 0.6 } })
  t.teardown(() => w.close())
  const job = await w.sync()
  const cis = w.rows('cmdb_ci_server').length + w.rows('cmdb_ci_linux_server').length + w.rows('cmdb_ci_win_server').length
  t.ok((w.sn.stats.rowsReturned.cmdb_ci_server ?? 0) <= cis, 'CMDB queries returned no more rows than the CMDB holds')
  const hostile = w.qualys.world.estate.hosts.filter((h) => h.quirk === 'hostile')
  t.ok(hostile.length >= 2)
  for (const host of hostile) {
    const finding = (await w.app.inject({ url: `/findings?hostId=${host.qualysHostId}&limit=1`, headers: auth })).json().items[0]
    t.ok(finding, `finding stored for hostile host ${host.dns}`)
    t.notOk('sysId' in (finding?.ciMatch ?? {}), 'a hostile host matches no CI')
  }
  const coverage = (await w.app.inject({ url: '/cis/coverage', headers: auth })).json()
  const unmatchedIds = new Set(coverage.unmatched.items.map((h: { qualysHostId: string }) => h.qualysHostId))
  const ambiguousIds = new Set(coverage.ambiguous.items.map((h: { qualysHostId: string }) => h.qualysHostId))
  for (const h of w.qualys.world.estate.hosts) {
    if (h.cmdb === 'missing') t.ok(unmatchedIds.has(h.qualysHostId), `unmatched ${h.qualysHostId} reported`)
    if (h.cmdb === 'ambiguous') t.ok(ambiguousIds.has(h.qualysHostId), `ambiguous ${h.qualysHostId} reported`)
  }
  t.equal(job.result?.coverage.ambiguous, w.qualys.world.estate.hosts.filter((h) => h.cmdb === 'ambiguous').length)
  const failingOnUnmatched = postures(w.qualys.world).filter((p) => p.status === 'Failed' && ['missing', 'ambiguous'].includes((w.qualys.world.estate.hosts[p.hostIndex] as SimHost).cmdb))
  t.ok(failingOnUnmatched.length > 0)
  const rows = new Map(w.rows('u_poam_table').map((r) => [r.u_correlation_id, r]))
  for (const p of failingOnUnmatched) {
    const row = rows.get(correlationId(p, w.qualys.world))
    t.ok(row, `record for posture ${p.id} on an unmatched host`)
    t.equal(row?.cmdb_ci, '', 'without cmdb_ci')
  }
})

test('the closure guardrail trips on a rescan that "fixes" 90% of postures', async (t) => {
  const w = await startWorld({ qualys: { hosts: 50, controlsPerPolicy: 4 } })
  t.teardown(() => w.close())
  await w.sync()
  const open = w.rows('u_poam_table').length
  w.qualys.world.rescan({ fix: 0.9 })
  const job = await w.sync()
  t.equal(job.status, 'partial')
  const limit = Math.floor(open * w.config.CLOSE_MAX_PERCENT / 100)
  t.equal(job.result?.actions.close, limit, `closures capped at ${w.config.CLOSE_MAX_PERCENT}% of ${open}`)
  t.equal(job.result?.closureGuard?.code, 'QSS_CLOSURE_GUARD')
  t.ok((job.result?.closureGuard?.withheld.length ?? 0) > 0, 'the withheld closures are listed')
  t.equal(w.rows('u_poam_table').filter((r) => r.status === 'Closed').length, limit)
})

test('control grouping: one record per policy x control listing every affected asset', async (t) => {
  const w = await startWorld({ qualys: { hosts: 25, controlsPerPolicy: 3, technologiesPerControl: 1 }, env: { POAM_GROUPING: 'control' } })
  t.teardown(() => w.close())
  const job = await w.sync()
  t.equal(job.status, 'succeeded')
  const failing = postures(w.qualys.world).filter((p) => p.status === 'Failed')
  const controls = new Set(failing.map((p) => `${p.policyId}:${p.control.id}`))
  const rows = w.rows('u_poam_table')
  t.equal(rows.length, controls.size, 'one record per failing control')
  for (const row of rows) {
    const mine = failing.filter((p) => p.control.id === row.u_weakness_source_identifier)
    for (const p of mine) {
      t.match(row.u_asset_identifier, (w.qualys.world.estate.hosts[p.hostIndex] as SimHost).qualysHostId, 'lists every failing host')
    }
  }
  const writes = w.sn.stats.writes
  await w.sync({ full: true })
  t.equal(w.sn.stats.writes, writes, 'idempotent with control grouping')
})

test('OSCAL export: one poam-item per open weakness of the last sync', async (t) => {
  const w = await startWorld({ qualys: { hosts: 25, controlsPerPolicy: 3 } })
  t.teardown(() => w.close())
  const empty = await w.app.inject({ url: '/poam/oscal?systemId=F-123', headers: auth })
  t.equal(empty.statusCode, 404, 'nothing to export before a sync')
  t.equal(empty.json().code, 'QSS_EXPORT_EMPTY')
  t.equal((await w.app.inject({ url: '/poam/oscal', headers: auth })).statusCode, 400, 'systemId is required')
  await w.sync()
  const res = await w.app.inject({ url: '/poam/oscal?systemId=F-123', headers: auth })
  t.equal(res.statusCode, 200)
  const doc = res.json()['plan-of-action-and-milestones']
  const failing = postures(w.qualys.world).filter((p) => p.status === 'Failed')
  t.equal(doc['poam-items'].length, failing.length, 'one item per failing finding')
  t.equal(doc['system-id'].id, 'F-123')
  t.equal(doc.metadata['oscal-version'], '1.1.2')
  t.match(doc.uuid, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
  t.equal(doc.risks.length, failing.length)
})
