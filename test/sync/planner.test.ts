import { test } from 'tap'
import type { Finding } from '../../src/findings/model.js'
import { buildDesiredRecords, type MappingOptions } from '../../src/poam/mapping.js'
import { resolveProfile, type PoamProfile } from '../../src/poam/profiles.js'
import { applyClosureGuard, isNewerEvidence, plan, type ExistingRecord, type PlanAction, type PlanOptions } from '../../src/sync/planner.js'
import { NOW, matches, pcFinding } from '../poam/fixtures.js'

const custom = resolveProfile({ profile: 'custom' })
const grc = resolveProfile({ profile: 'grc' })

function desired (findings: Finding[], profile: PoamProfile = custom, over: Partial<MappingOptions> = {}) {
  return buildDesiredRecords(findings, matches({ 1: 'ci-1', 2: 'ci-2' }), { profile, grouping: 'finding', unmatched: 'create', now: NOW, ...over }).records
}

function opts (profile: PoamProfile = custom, reopen: PlanOptions['reopen'] = 'reopen'): PlanOptions {
  return { profile, reopen, now: NOW }
}

/** What the ServiceNow repository does with the actions, enough to plan the next run. */
function apply (actions: PlanAction[], existing: Map<string, ExistingRecord>, profile: PoamProfile = custom): Map<string, ExistingRecord> {
  const next = new Map([...existing].map(([id, r]) => [id, { sysId: r.sysId, fields: { ...r.fields } }]))
  for (const a of actions) {
    if (a.kind === 'create') next.set(a.correlationId, { sysId: `sys-${a.correlationId}`, fields: { ...a.payload } })
    else if (a.kind !== 'noop') {
      const record = [...next.values()].find((r) => r.sysId === a.sysId)!
      Object.assign(record.fields, a.payload)
      // ServiceNow returns date-times with a time part: the planner must not see that as a change.
      if (profile.name === 'grc' && a.payload.opened_at !== undefined) record.fields.opened_at = `${a.payload.opened_at} 00:00:00`
    }
  }
  return next
}

const kinds = (actions: PlanAction[]) => actions.map((a) => `${a.kind}:${a.reason}`)

test('new failing finding: create with the full payload; passed without record: noop', async (t) => {
  const d = desired([pcFinding('1', '100'), pcFinding('2', '100', { status: 'passed' })])
  const actions = plan(d, new Map(), opts())
  t.same(kinds(actions).sort(), ['create:new-weakness', 'noop:passed-without-record'])
  const create = actions.find((a) => a.kind === 'create')!
  t.equal(create.table, 'u_poam_table')
  t.equal(create.sysId, undefined)
  t.equal(create.payload.status, 'Open')
  t.equal(create.payload.u_correlation_id, create.correlationId)
  t.same(create.findingIds, [pcFinding('1', '100').id])
})

test('idempotence: planning against the result of the same plan yields only noops', async (t) => {
  for (const profile of [custom, grc]) {
    const d = desired([pcFinding('1', '100'), pcFinding('2', '101'), pcFinding('2', '102', { status: 'passed' })], profile)
    const first = plan(d, new Map(), opts(profile))
    const after = apply(first, new Map(), profile)
    const second = plan(d, after, opts(profile))
    t.same(second.map((a) => a.kind), ['noop', 'noop', 'noop'], `${profile.name}: re-run writes nothing`)
    t.same(second.map((a) => a.sysId !== undefined), first.map((a) => a.kind === 'create'))
  }
})

test('a newer failing evaluation alone rewrites nothing, not even the status date', async (t) => {
  const existing = apply(plan(desired([pcFinding('1', '100')]), new Map(), opts()), new Map())
  const later = desired([pcFinding('1', '100', { evaluatedAt: '2024-05-20T00:00:00Z', lastDetected: '2024-05-20T00:00:00Z' })])
  t.same(kinds(plan(later, existing, opts())), ['noop:unchanged'])
})

test('update: changed fields only, with before/after; status date moves, original detection never', async (t) => {
  const existing = apply(plan(desired([pcFinding('1', '100')]), new Map(), opts()), new Map())
  const changed = desired([pcFinding('1', '100', {
    risk: 'High',
    evidence: 'value=1',
    firstDetected: '2024-04-15T00:00:00Z',
    evaluatedAt: '2024-05-20T00:00:00Z'
  })])
  const [action] = plan(changed, existing, opts())
  t.equal(action!.kind, 'update')
  t.equal(action!.reason, 'fields-changed')
  t.ok(action!.sysId)
  const fields = action!.changes.map((c) => c.field).sort()
  t.same(fields, ['description', 'risk_rating', 'u_scheduled_completion_date', 'u_status_date'])
  t.same(action!.changes.find((c) => c.field === 'risk_rating'), { field: 'risk_rating', before: 'Moderate', after: 'High' })
  t.equal(action!.payload.u_scheduled_completion_date, '2024-03-31', 'High due date from the kept 2024-03-01 detection')
  t.equal(action!.payload.u_status_date, '2024-05-20')
  t.equal(action!.payload.u_original_detection_date, undefined, 'original detection date untouched')
  t.same(Object.keys(action!.payload).sort(), fields)
})

test('updates never go backwards on older evidence', async (t) => {
  const existing = apply(plan(desired([pcFinding('1', '100')]), new Map(), opts()), new Map())
  const older = desired([pcFinding('1', '100', { risk: 'High', evaluatedAt: '2024-04-01T00:00:00Z' })])
  t.same(kinds(plan(older, existing, opts())), ['noop:stale-evidence'])
})

test('close only on a pass from a newer evaluation; absence closes nothing', async (t) => {
  const existing = apply(plan(desired([pcFinding('1', '100')]), new Map(), opts()), new Map())
  t.same(plan(desired([]), existing, opts()), [], 'a finding missing from the download is not evidence')

  const stale = desired([pcFinding('1', '100', { status: 'passed', evaluatedAt: '2024-04-20T00:00:00Z', lastDetected: '2024-04-19T00:00:00Z' })])
  t.same(kinds(plan(stale, existing, opts())), ['noop:evidence-not-newer'])

  const newer = desired([pcFinding('1', '100', { status: 'passed', evaluatedAt: '2024-05-10T00:00:00Z', lastPassed: '2024-05-10T00:00:00Z' })])
  const [close] = plan(newer, existing, opts())
  t.equal(close!.kind, 'close')
  t.equal(close!.reason, 'resolved-on-newer-evaluation')
  t.equal(close!.payload.status, 'Closed')
  t.equal(close!.payload.u_status_date, '2024-05-10')
  t.same(close!.changes.find((c) => c.field === 'status'), { field: 'status', before: 'Open', after: 'Closed' })
  t.equal(close!.payload.u_original_detection_date, undefined)

  const closed = apply([close!], existing)
  t.same(kinds(plan(newer, closed, opts())), ['noop:already-closed'])
})

test('same-day evidence counts only when Qualys ordered it after the status', async (t) => {
  t.equal(isNewerEvidence({ evidenceAt: '2024-05-01T18:00:00Z' }, '2024-05-01'), false)
  t.equal(isNewerEvidence({ evidenceAt: '2024-05-01T18:00:00Z', priorOppositeAt: '2024-05-01T08:00:00Z' }, '2024-05-01'), true)
  t.equal(isNewerEvidence({ evidenceAt: '2024-05-01T18:00:00Z', priorOppositeAt: '2024-04-28T08:00:00Z' }, '2024-05-01'), false)
  t.equal(isNewerEvidence({ evidenceAt: '2024-05-02T00:00:00Z' }, '2024-05-01'), true)
  t.equal(isNewerEvidence({}, '2024-05-01'), false, 'no evidence time, no transition')

  const existing = apply(plan(desired([pcFinding('1', '100')]), new Map(), opts()), new Map())
  const fixedSameDay = desired([pcFinding('1', '100', { status: 'passed', evaluatedAt: '2024-05-01T20:00:00Z', lastDetected: '2024-05-01T08:00:00Z' })])
  t.same(kinds(plan(fixedSameDay, existing, opts())), ['close:resolved-on-newer-evaluation'], 'fixed and rescanned the day it was opened')
})

function closedRecord (reopen: PlanOptions['reopen'], profile = custom) {
  const open = apply(plan(desired([pcFinding('1', '100')], profile), new Map(), opts(profile, reopen)), new Map(), profile)
  const pass = desired([pcFinding('1', '100', { status: 'passed', evaluatedAt: '2024-05-10T00:00:00Z' })], profile)
  return apply(plan(pass, open, opts(profile, reopen)), open, profile)
}

const failsAgain = (profile = custom) => desired([pcFinding('1', '100', { evaluatedAt: '2024-05-20T00:00:00Z', lastPassed: '2024-05-10T00:00:00Z' })], profile)

test('reopen mode: the closed record is reopened, keeping its detection date', async (t) => {
  const closed = closedRecord('reopen')
  const [reopen] = plan(failsAgain(), closed, opts(custom, 'reopen'))
  t.equal(reopen!.kind, 'reopen')
  t.equal(reopen!.reason, 'failed-again-after-close')
  t.equal(reopen!.payload.status, 'Open')
  t.equal(reopen!.payload.u_status_date, '2024-05-20')
  t.equal(reopen!.payload.u_original_detection_date, undefined)
  const staleFailure = desired([pcFinding('1', '100', { evaluatedAt: '2024-05-05T00:00:00Z' })])
  t.same(kinds(plan(staleFailure, closed, opts())), ['noop:evidence-not-newer'], 'an older failure does not reopen')
  t.same(kinds(plan(failsAgain(), apply([reopen!], closed), opts())), ['noop:unchanged'])
})

test('recreate mode: a new deterministic record references the old one, never twice', async (t) => {
  for (const profile of [custom, grc]) {
    const closed = closedRecord('recreate', profile)
    const [old] = [...closed.entries()]
    const actions = plan(failsAgain(profile), closed, opts(profile, 'recreate'))
    t.equal(actions.length, 1)
    const create = actions[0]!
    t.equal(create.kind, 'create')
    t.equal(create.reason, 'recurrence-new-record')
    t.equal(create.correlationId, `${old![0]}-r1`)
    t.same(create.supersedes, { correlationId: old![0], sysId: old![1].sysId })
    t.equal(create.payload[profile.correlationField], `${old![0]}-r1`)
    t.match(create.payload.description, `Recurrence of closed POA&M ${old![0]}.`)
    t.same(plan(failsAgain(profile), closed, opts(profile, 'recreate')), actions, `${profile.name}: deterministic`)

    const after = apply(actions, closed, profile)
    t.same(kinds(plan(failsAgain(profile), after, opts(profile, 'recreate'))), ['noop:unchanged'], `${profile.name}: re-run creates no second copy`)
  }
  const closed = closedRecord('recreate')
  const create = plan(failsAgain(), closed, opts(custom, 'recreate'))[0]!
  t.equal(create.payload.u_original_detection_date, '2024-05-10', 'the new item starts no earlier than the closure it follows')
  t.equal(create.payload.u_scheduled_completion_date, '2024-08-08')
  t.equal(create.payload.u_status_date, '2024-05-20')

  const r1 = apply([create], closed)
  const passAgain = desired([pcFinding('1', '100', { status: 'passed', evaluatedAt: '2024-06-01T00:00:00Z' })])
  const r1closed = apply(plan(passAgain, r1, opts(custom, 'recreate')), r1)
  const third = desired([pcFinding('1', '100', { evaluatedAt: '2024-06-05T00:00:00Z' })])
  const [r2] = plan(third, r1closed, opts(custom, 'recreate'))
  t.equal(r2!.correlationId, `${create.correlationId.replace(/-r1$/, '')}-r2`, 'the second recurrence is generation 2')
  t.match(r2!.payload.description, `Recurrence of closed POA&M ${create.correlationId}.`)
})

test('control grouping: plan and re-plan the group record', async (t) => {
  const group = [pcFinding('1', '100'), pcFinding('2', '100')]
  const d = desired(group, custom, { grouping: 'control' })
  const first = plan(d, new Map(), opts())
  t.same(kinds(first), ['create:new-weakness'])
  const existing = apply(first, new Map())
  t.same(kinds(plan(d, existing, opts())), ['noop:unchanged'])
  const oneFixed = desired([group[0]!, { ...group[1]!, status: 'passed', evaluatedAt: '2024-05-10T00:00:00Z' }], custom, { grouping: 'control' })
  const [update] = plan(oneFixed, existing, opts())
  t.equal(update!.kind, 'update', 'still open: one host fails')
  t.equal(update!.payload.u_asset_identifier, 'host1.example.com (Qualys host ID 1)')
  t.equal(update!.payload.cmdb_ci, 'ci-1', 'now one CI')
})

test('closure guard: by count and by percent; withheld closures listed', async (t) => {
  const close = (n: number): PlanAction => ({ kind: 'close', reason: 'resolved-on-newer-evaluation', correlationId: `c${n}`, table: 't', sysId: `s${n}`, payload: {}, changes: [], findingIds: [] })
  const other: PlanAction = { kind: 'create', reason: 'new-weakness', correlationId: 'n', table: 't', payload: {}, changes: [], findingIds: [] }
  const actions = [close(1), other, close(2), close(3), close(4), close(5)]

  const byCount = applyClosureGuard(actions, { openCount: 1000, maxPerRun: 2, maxPercent: 100 })
  t.same(byCount.allowed.map((a) => a.correlationId), ['c1', 'n', 'c2'])
  t.same(byCount.withheld.map((a) => a.correlationId), ['c3', 'c4', 'c5'])
  t.equal(byCount.tripped, true)

  const byPercent = applyClosureGuard(actions, { openCount: 20, maxPerRun: 500, maxPercent: 20 })
  t.same(byPercent.allowed.filter((a) => a.kind === 'close').length, 4, '20% of 20 open')
  t.same(byPercent.withheld.map((a) => a.correlationId), ['c5'])

  const roomy = applyClosureGuard(actions, { openCount: 100, maxPerRun: 500, maxPercent: 20 })
  t.equal(roomy.tripped, false)
  t.equal(roomy.allowed.length, actions.length)

  const laterPage = applyClosureGuard(actions, { openCount: 100, maxPerRun: 6, maxPercent: 100, closedSoFar: 5 })
  t.same(laterPage.allowed.filter((a) => a.kind === 'close').map((a) => a.correlationId), ['c1'], 'the cap is per run, across pages')
  t.equal(applyClosureGuard(actions, { openCount: 100, maxPerRun: 500, maxPercent: 0 }).withheld.length, 5)
})
