import { test } from 'tap'
import { createCiTagger, TAG_KEYS, TAG_TABLE, type DesiredTags } from '../../src/servicenow/tags.js'
import { calls, simWithClient } from './fixtures/sim-client.js'

test('CI tags: created, diffed, removed when nothing is open', async (t) => {
  const { sim, client } = await simWithClient(t)
  const [a, b, c] = sim.estate.cis.map((ci) => ci.sys_id)
  if (a === undefined || b === undefined || c === undefined) throw new Error('estate too small')
  const tagger = createCiTagger({ client })
  const tagsOf = (ci: string) => Object.fromEntries(sim.table(TAG_TABLE).filter((r) => r.configuration_item === ci).map((r) => [r.key, r.value]))

  const first = new Map<string, DesiredTags>([
    [a, { riskTier: 'High', failedPolicies: ['12', '3', '12'] }],
    [b, { riskTier: 'Low', failedPolicies: ['7'] }]
  ])
  t.match(await tagger.apply(first), { created: 4, updated: 0, deleted: 0, unchanged: 0, errors: [] })
  t.same(tagsOf(a), { [TAG_KEYS.riskTier]: 'High', [TAG_KEYS.failedPolicies]: '3,12' }, 'policy IDs sorted and unique')

  sim.resetStats()
  t.match(await tagger.apply(first), { created: 0, updated: 0, deleted: 0, unchanged: 4 })
  t.equal(sim.stats.writes, 0, 'unchanged: no write')
  t.equal(calls(sim, `GET ${TAG_TABLE}`), 1, 'one IN query reads every CI\'s tags')

  const second = new Map<string, DesiredTags>([
    [a, { riskTier: 'Moderate', failedPolicies: ['3', '12'] }],
    [b, { failedPolicies: [] }],
    [c, { riskTier: 'Low', failedPolicies: [] }]
  ])
  t.match(await tagger.apply(second), { created: 1, updated: 1, deleted: 2, unchanged: 1, errors: [] })
  t.same(tagsOf(a), { [TAG_KEYS.riskTier]: 'Moderate', [TAG_KEYS.failedPolicies]: '3,12' })
  t.same(tagsOf(b), {}, 'no open finding: both tags removed')
  t.same(tagsOf(c), { [TAG_KEYS.riskTier]: 'Low' }, 'no failed policy: no policy tag')
})

test('duplicate tag rows collapse; bad CI ids and failed writes are reported, not fatal, and the next run repairs them', async (t) => {
  const { sim, client } = await simWithClient(t)
  const [a, b] = sim.estate.cis.map((ci) => ci.sys_id)
  if (a === undefined || b === undefined) throw new Error('estate too small')
  sim.insert(TAG_TABLE, { configuration_item: a, key: TAG_KEYS.riskTier, value: 'High' })
  sim.insert(TAG_TABLE, { configuration_item: a, key: TAG_KEYS.riskTier, value: 'Low' })
  const tagger = createCiTagger({ client })
  const desired = new Map<string, DesiredTags>([
    [a, { riskTier: 'High', failedPolicies: [] }],
    [b, { riskTier: 'Low', failedPolicies: [] }],
    ['x^ORsys_id!=0', { riskTier: 'High', failedPolicies: [] }]
  ])
  // ServiceNow refuses the create (an ACL, a business rule): that write is reported, the delete still applies.
  sim.setFaults({ next: [{ status: 403, method: 'POST', table: TAG_TABLE }] })
  const refused = await tagger.apply(desired)
  t.match(refused, { created: 0, deleted: 1, unchanged: 1 })
  t.same(refused.errors.map((e) => [e.ciSysId, e.code]).sort(), [[b, 'QSS_SERVICENOW_FORBIDDEN'], ['x^ORsys_id!=0', 'QSS_QUERY_UNSAFE_VALUE']].sort())

  const repaired = await tagger.apply(desired)
  t.match(repaired, { created: 1, deleted: 0, unchanged: 1 })
  t.same(repaired.errors.map((e) => [e.ciSysId, e.code]), [['x^ORsys_id!=0', 'QSS_QUERY_UNSAFE_VALUE']])
  t.same(sim.table(TAG_TABLE).filter((r) => r.configuration_item === a).map((r) => r.value), ['High'])
})
