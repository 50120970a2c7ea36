import { test } from 'tap'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { isQssError, type QssError } from '../../src/errors.js'
import { loadFieldMap, parseFieldMap } from '../../src/poam/field-map.js'
import { buildDesiredRecords } from '../../src/poam/mapping.js'
import { profileFromConfig, renderPayload, resolveProfile, statusDateOf, targetFields } from '../../src/poam/profiles.js'
import { NOW, matches, pcFinding, vmFinding } from './fixtures.js'

const CUSTOM_FIELDS = [
  'short_description', 'description', 'cmdb_ci', 'risk_rating', 'status', 'u_correlation_id', 'u_weakness_name',
  'u_weakness_description', 'u_weakness_detector_source', 'u_weakness_source_identifier', 'u_asset_identifier',
  'u_policy', 'u_controls', 'u_original_detection_date', 'u_scheduled_completion_date', 'u_status_date', 'u_remediation_plan'
]
const GRC_FIELDS = [
  'short_description', 'description', 'state', 'priority', 'issue_rating', 'planned_end_date', 'weakness_description',
  'cmdb_ci', 'correlation_id', 'opened_at', 'close_notes'
]

function one (finding = pcFinding('7', '1071'), profile = resolveProfile({ profile: 'custom' })) {
  const { records } = buildDesiredRecords([finding], matches({ 7: 'ci-7' }), { profile, grouping: 'finding', unmatched: 'create', now: NOW })
  return [...records.values()][0]!
}

function writeMap (content: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'qss-map-')), 'map.json')
  writeFileSync(file, content)
  return file
}

test('custom profile writes exactly its FedRAMP-aligned fields', async (t) => {
  const profile = resolveProfile({ profile: 'custom' })
  t.equal(profile.table, 'u_poam_table')
  t.equal(profile.correlationField, 'u_correlation_id')
  t.equal(profile.statusField, 'status')
  t.same(targetFields(profile), CUSTOM_FIELDS)
  const p = one().payload
  t.same(Object.keys(p), CUSTOM_FIELDS)
  t.equal(p.short_description, 'Qualys Policy Compliance Failure: Ensure setting 1071 is configured')
  t.equal(p.cmdb_ci, 'ci-7')
  t.equal(p.risk_rating, 'Moderate')
  t.equal(p.status, 'Open')
  t.match(p.u_correlation_id, /^qss-pc-[0-9a-f]{32}$/)
  t.equal(p.u_weakness_name, 'Ensure setting 1071 is configured')
  t.match(p.u_weakness_description, /Control 1071: Ensure setting 1071.*\nCriticality: SERIOUS/s)
  t.equal(p.u_weakness_detector_source, 'Qualys Policy Compliance')
  t.equal(p.u_weakness_source_identifier, '1071')
  t.equal(p.u_asset_identifier, 'host7.example.com (Qualys host ID 7)')
  t.equal(p.u_policy, 'CIS Linux (42)')
  t.equal(p.u_controls, '1071')
  t.equal(p.u_original_detection_date, '2024-03-01')
  t.equal(p.u_scheduled_completion_date, '2024-05-30', 'Moderate: +90 days')
  t.equal(p.u_status_date, '2024-05-01', 'the evaluation date')
  t.match(p.u_remediation_plan, /policy control/)
  t.match(p.description, /failed control 1071 on host7\.example\.com \(Qualys host ID 7\) \(technology RHEL 9\)\.\nEvidence: value=0/)
})

test('custom profile: VM texts, and the asset name falls back FQDN/DNS > NetBIOS > IP', async (t) => {
  const p = one(vmFinding('7', '38170')).payload
  t.equal(p.short_description, 'Qualys Vulnerability: OpenSSL flaw 38170')
  t.equal(p.u_weakness_detector_source, 'Qualys VM')
  t.equal(p.u_weakness_source_identifier, '38170')
  t.equal(p.u_controls, 'RA-5')
  t.equal(p.risk_rating, 'High')
  t.equal(p.u_scheduled_completion_date, '2024-05-10', 'High: +30 days from 2024-04-10')
  t.equal(p.u_asset_identifier, 'vm7.example.com (Qualys host ID 7)')
  t.match(p.u_weakness_description, /CVEs: CVE-2024-1, CVE-2024-2/)
  t.equal(p.u_remediation_plan, 'Upgrade OpenSSL.')
  t.equal(one(vmFinding('7', '5', { vuln: { qid: '5', severity: 2 } })).payload.short_description, 'Qualys Vulnerability: QID 5')
  t.equal(one(pcFinding('7', '1', { host: { qualysHostId: '7', netbios: 'WIN7', ip: '10.0.0.7' } })).payload.u_asset_identifier, 'WIN7 (Qualys host ID 7)')
  t.equal(one(pcFinding('7', '1', { host: { qualysHostId: '7', ip: '10.0.0.7' } })).payload.u_asset_identifier, '10.0.0.7 (Qualys host ID 7)')
  t.equal(one(pcFinding('7', '1', { host: { qualysHostId: '7' } })).payload.u_asset_identifier, 'Qualys host ID 7')
  t.ok(one(pcFinding('7', '1', { control: { id: '1', statement: 'x'.repeat(400) } })).payload.short_description!.length <= 160, 'short description fits 160 characters')
})

test('risk and due date per risk', async (t) => {
  for (const [risk, due] of [['High', '2024-03-31'], ['Moderate', '2024-05-30'], ['Low', '2024-08-28']] as const) {
    const p = one(pcFinding('7', '1', { risk })).payload
    t.equal(p.risk_rating, risk)
    t.equal(p.u_scheduled_completion_date, due, `${risk} due date`)
  }
})

test('grc profile writes only sn_grc_issue columns, with state and priority values', async (t) => {
  const profile = resolveProfile({ profile: 'grc' })
  t.equal(profile.table, 'sn_grc_issue')
  t.same(targetFields(profile), GRC_FIELDS)
  const high = one(pcFinding('7', '1071', { risk: 'High' }), profile).payload
  t.same(Object.keys(high), GRC_FIELDS)
  t.equal(high.state, '1')
  t.equal(high.priority, '2')
  t.equal(high.issue_rating, 'High')
  t.equal(high.planned_end_date, '2024-03-31')
  t.equal(high.opened_at, '2024-03-01')
  t.equal(high.cmdb_ci, 'ci-7')
  t.match(high.correlation_id, /^qss-pc-/)
  t.equal(high.close_notes, '')
  t.match(high.description, /Policy: CIS Linux \(42\)\nControls: 1071\nAssets:\nhost7\.example\.com/, 'details without u_ columns go into the description')
  t.equal(one(pcFinding('7', '1', { risk: 'Moderate' }), profile).payload.priority, '3')
  t.equal(one(pcFinding('7', '1', { risk: 'Low' }), profile).payload.priority, '4')
  const closed = one(pcFinding('7', '1', { status: 'passed', evaluatedAt: '2024-05-20T00:00:00Z' }), profile).payload
  t.equal(closed.state, '3')
  t.equal(closed.close_notes, 'Closed: Qualys Policy Compliance reported the weakness Passed on 2024-05-20.')
  t.equal(statusDateOf(profile, closed), '2024-05-20', 'a closed GRC issue dates its status by the close notes')
  t.equal(statusDateOf(profile, high), '2024-03-01', 'an open one by its opening')
})

test('field map: table, status values, rename, drop, constant and extra column', async (t) => {
  const file = writeMap(JSON.stringify({
    table: 'x_acme_poam',
    status: { open: 'Active' },
    fields: {
      u_policy: 'u_policy_name',
      u_controls: null,
      u_remediation_plan: { value: 'See runbook RB-12' },
      assignment_group: { value: 'grp-1' },
      u_correlation_id: 'u_qss_key'
    }
  }))
  const profile = resolveProfile({ profile: 'custom', fieldMap: loadFieldMap(file) })
  t.equal(profile.table, 'x_acme_poam')
  t.equal(profile.correlationField, 'u_qss_key')
  t.same(profile.statusValues, { open: 'Active', closed: 'Closed' })
  const fields = targetFields(profile)
  t.ok(fields.includes('u_policy_name') && !fields.includes('u_policy'), 'renamed')
  t.notOk(fields.includes('u_controls'), 'dropped')
  t.ok(fields.includes('assignment_group'), 'extra constant column')
  const p = one(pcFinding('7', '1'), profile).payload
  t.equal(p.u_policy_name, 'CIS Linux (42)')
  t.equal(p.u_remediation_plan, 'See runbook RB-12')
  t.equal(p.assignment_group, 'grp-1')
  t.equal(p.status, 'Active')
  t.match(p.u_qss_key, /^qss-/)
  t.equal(p.u_controls, undefined)
})

test('profileFromConfig: POAM_TABLE, profile default table, field map file', async (t) => {
  t.equal(profileFromConfig({ POAM_PROFILE: 'custom', POAM_TABLE: 'u_other' }).table, 'u_other')
  t.equal(profileFromConfig({ POAM_PROFILE: 'grc', POAM_TABLE: 'u_poam_table' }).table, 'sn_grc_issue', 'the custom default does not redirect grc')
  t.equal(profileFromConfig({ POAM_PROFILE: 'grc', POAM_TABLE: 'sn_grc_issue_ext' }).table, 'sn_grc_issue_ext')
  const file = writeMap('{"table":"x_from_map"}')
  t.equal(profileFromConfig({ POAM_PROFILE: 'custom', POAM_TABLE: 'u_other', POAM_FIELD_MAP_FILE: file }).table, 'x_from_map')
})

test('invalid field maps fail with QSS_CONFIG_FIELD_MAP naming the bad key', async (t) => {
  const cases: Array<[string, string | RegExp]> = [
    ['{"tables": "x"}', 'tables'],
    ['{"table": "Bad Table"}', 'table'],
    ['{"fields": {"u_policy": 5}}', 'fields.u_policy'],
    ['{"fields": {"u_policy": "has space"}}', 'fields.u_policy'],
    ['{"fields": {"u_policy": {"value": 1}}}', 'fields.u_policy.value'],
    ['{"fields": {"u_policy": {"value": "x", "colour": "y"}}}', 'fields.u_policy.colour'],
    ['{"fields": {"Bad-Key": null}}', 'fields.Bad-Key'],
    ['{"status": {"open": "A", "closed": "A"}}', 'status'],
    ['{"status": {"pending": "2"}}', 'status.pending'],
    ['[]', '(root)'],
    ['{not json', '(file)']
  ]
  for (const [content, key] of cases) {
    const err = t.throws(() => loadFieldMap(writeMap(content))) as QssError
    t.ok(isQssError(err), content)
    t.equal(err.code, 'QSS_CONFIG_FIELD_MAP')
    t.match(err.message, `: ${key as string}:`, `names ${key as string}`)
  }
  const missing = t.throws(() => loadFieldMap('/nonexistent/map.json')) as QssError
  t.match(missing.message, /cannot read \(ENOENT\)/)
})

test('field maps that would break the planner are refused at profile build', async (t) => {
  const refuse = (fields: unknown, key: string) => {
    const err = t.throws(() => resolveProfile({ profile: 'custom', fieldMap: parseFieldMap({ fields }) })) as QssError
    t.equal(err.code, 'QSS_CONFIG_FIELD_MAP')
    t.match(err.message, `fields.${key}`)
  }
  refuse({ u_correlation_id: null }, 'u_correlation_id')
  refuse({ status: null }, 'status')
  refuse({ status: { value: 'Open' } }, 'status')
  refuse({ u_unknown: 'u_other' }, 'u_unknown')
  refuse({ u_policy: 'description' }, 'u_policy')
  t.throws(() => resolveProfile({ profile: 'grc', fieldMap: parseFieldMap({ fields: { u_policy: null } }) }), /not a grc profile column/)
})

test('renderPayload produces one string per target field', async (t) => {
  const profile = resolveProfile({ profile: 'custom' })
  const d = one()
  const again = renderPayload(profile, d.item)
  t.same(again, d.payload)
  for (const value of Object.values(again)) t.type(value, 'string')
})
