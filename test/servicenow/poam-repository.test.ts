import { test } from 'tap'
import { isQssError } from '../../src/errors.js'
import { tableColumns, validateTableFields } from '../../src/servicenow/dictionary.js'
import { createPoamRepository } from '../../src/servicenow/poam-repository.js'
import { GRC_ISSUE_COLUMNS, POAM_TABLE_COLUMNS } from '../../src/sim/servicenow-seed.js'
import { calls, simWithClient } from './fixtures/sim-client.js'

const payload = (id: string, extra: Record<string, string> = {}) => ({
  short_description: `Qualys Policy Compliance Failure: control ${id}`,
  status: 'Open',
  risk_rating: 'High',
  u_correlation_id: id,
  u_scheduled_completion_date: '2025-02-01',
  ...extra
})

test('find by correlation ids in chunked IN queries, fields limited to those asked', async (t) => {
  const { sim, client } = await simWithClient(t)
  const repo = createPoamRepository({ client, table: 'u_poam_table', correlationField: 'u_correlation_id' })
  for (let i = 0; i < 150; i++) sim.insert('u_poam_table', payload(`corr-${i}`))
  sim.resetStats()
  const ids = [...Array.from({ length: 150 }, (_, i) => `corr-${i}`), 'corr-missing', 'corr-0']
  const found = await repo.findByCorrelationIds(ids, ['status', 'risk_rating'])
  t.equal(found.size, 150)
  t.equal(calls(sim, 'GET u_poam_table'), 2, '151 distinct ids: two IN queries')
  const one = found.get('corr-7')
  t.match(one?.sysId, /^[0-9a-f]{32}$/)
  t.same(one?.fields, { u_correlation_id: 'corr-7', status: 'Open', risk_rating: 'High' })
  t.notOk(found.has('corr-missing'))
  t.same(await repo.findByCorrelationIds([]), new Map(), 'no ids: no call')
  t.equal(calls(sim, 'GET u_poam_table'), 2)
})

test('duplicates: the newest record wins, the others are reported', async (t) => {
  const { sim, client } = await simWithClient(t)
  const repo = createPoamRepository({ client, table: 'u_poam_table', correlationField: 'u_correlation_id' })
  const older = sim.insert('u_poam_table', payload('dup', { status: 'Closed', sys_created_on: '2024-01-01 00:00:00' }))
  const newer = sim.insert('u_poam_table', payload('dup'))
  const found = (await repo.findByCorrelationIds(['dup'], ['status'])).get('dup')
  t.equal(found?.sysId, newer.sys_id)
  t.same(found?.duplicates, [{ sysId: older.sys_id, fields: { u_correlation_id: 'dup', status: 'Closed' } }])
})

test('create, update only changed fields, close and reopen', async (t) => {
  const { sim, client } = await simWithClient(t)
  const repo = createPoamRepository({ client, table: 'u_poam_table', correlationField: 'u_correlation_id' })
  const created = await repo.create(payload('c-1', { cmdb_ci: sim.estate.cis[0]?.sys_id ?? '' }))
  t.equal(created.fields.u_correlation_id, 'c-1')
  t.equal(created.fields.cmdb_ci, sim.estate.cis[0]?.sys_id)
  sim.resetStats()
  t.equal(await repo.update(created.sysId, {}), false)
  t.equal(sim.stats.total, 0, 'nothing changed: no call')
  t.equal(await repo.update(created.sysId, { status: 'Closed', u_status_date: '2025-03-01' }), true)
  t.equal(sim.stats.writes, 1)
  const row = sim.table('u_poam_table').find((r) => r.sys_id === created.sysId)
  t.equal(row?.status, 'Closed')
  t.equal(row?.risk_rating, 'High', 'fields not sent are untouched')
  await repo.update(created.sysId, { status: 'Open' })
  t.equal(sim.table('u_poam_table').find((r) => r.sys_id === created.sysId)?.status, 'Open')
})

test('a failed record write is a per-record error with the ServiceNow message', async (t) => {
  const { sim, client } = await simWithClient(t)
  const repo = createPoamRepository({ client, table: 'u_poam_table', correlationField: 'u_correlation_id' })
  sim.setFaults({ next: [{ status: 200, method: 'POST' }] })
  try {
    await repo.create(payload('c-2'))
    t.fail('should fail')
  } catch (err) {
    t.ok(isQssError(err))
    t.equal((err as { code: string }).code, 'QSS_SERVICENOW_BAD_REQUEST')
  }
})

test('dictionary validation names the fields a table lacks, inherited columns included', async (t) => {
  const { client } = await simWithClient(t)
  const repo = createPoamRepository({ client, table: 'u_poam_table', correlationField: 'u_correlation_id' })
  t.same(await repo.validateTableFields(POAM_TABLE_COLUMNS), [], 'the custom profile fields all exist')
  t.same(await repo.validateTableFields([...POAM_TABLE_COLUMNS, 'u_poam_id', 'u_milestones']), ['u_milestones', 'u_poam_id'])
  t.same(await validateTableFields(client, 'sn_grc_issue', [...GRC_ISSUE_COLUMNS, 'number', 'active', 'sys_created_on']), [], 'task and system columns are inherited')
  t.same(await validateTableFields(client, 'sn_grc_issue', ['u_correlation_id']), ['u_correlation_id'])
  t.ok((await tableColumns(client, 'cmdb_ci_linux_server')).has('ip_address'), 'server classes inherit cmdb_ci columns')
  try {
    await validateTableFields(client, 'u_no_such_table', ['x'])
    t.fail('should fail')
  } catch (err) {
    t.equal((err as { code?: string }).code, 'QSS_SERVICENOW_SCHEMA')
    t.match((err as Error).message, /u_no_such_table/)
  }
})
