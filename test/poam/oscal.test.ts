import { test, type Test } from 'tap'
import { buildDesiredRecords } from '../../src/poam/mapping.js'
import { FEDRAMP_NS, OSCAL_VERSION, toOscalPoam } from '../../src/poam/oscal.js'
import { resolveProfile } from '../../src/poam/profiles.js'
import { uuidV5 } from '../../src/poam/uuid.js'
import { NOW, matches, pcFinding, vmFinding } from './fixtures.js'

/**
 * The required keys and formats of the OSCAL POA&M JSON schema (assemblies this export
 * emits), checked by hand: no schema validator is installed and none may be added.
 */
const UUID = /^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[45][0-9A-Fa-f]{3}-[89ABab][0-9A-Fa-f]{3}-[0-9A-Fa-f]{12}$/
const DATE_TIME_TZ = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/
const TOKEN = /^(\p{L}|_)(\p{L}|\p{N}|[.\-_])*$/u
type J = Record<string, any>

function requireKeys (t: Test, obj: J, keys: string[], where: string) {
  for (const key of keys) t.ok(obj[key] !== undefined, `${where} has ${key}`)
}

/** OSCAL forbids empty arrays (minItems 1) everywhere. */
function noEmptyArrays (value: unknown, path: string, problems: string[]) {
  if (Array.isArray(value)) {
    if (value.length === 0) problems.push(path)
    value.forEach((v, i) => noEmptyArrays(v, `${path}[${i}]`, problems))
  } else if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) noEmptyArrays(v, `${path}.${k}`, problems)
  }
}

function sample () {
  const findings = [
    pcFinding('1', '100'),
    pcFinding('2', '100'),
    vmFinding('1', '38170', { status: 'passed' }),
    vmFinding('3', '38171')
  ]
  const { records } = buildDesiredRecords(findings, matches({ 1: 'ci-1' }), { profile: resolveProfile({ profile: 'custom' }), grouping: 'control', unmatched: 'create', now: NOW })
  return [...records.values()]
}

test('uuidV5 is deterministic, RFC 4122 version 5', async (t) => {
  t.equal(uuidV5('a'), uuidV5('a'))
  t.not(uuidV5('a'), uuidV5('b'))
  t.match(uuidV5('a'), /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
  // RFC 4122 appendix B style check against the DNS namespace and a known name.
  t.equal(uuidV5('www.example.com', '6ba7b810-9dad-11d1-80b4-00c04fd430c8'), '2ed6657d-e927-568b-95e1-2665a8aea6a2')
})

test('OSCAL POA&M document has the required structure', async (t) => {
  const records = sample()
  const doc = toOscalPoam(records, { systemId: 'F1234567890', systemIdType: 'https://fedramp.gov', now: NOW, sspHref: 'ssp.json' }) as J
  t.same(Object.keys(doc), ['plan-of-action-and-milestones'])
  const poam = doc['plan-of-action-and-milestones'] as J
  requireKeys(t, poam, ['uuid', 'metadata', 'poam-items', 'system-id', 'import-ssp', 'local-definitions', 'observations', 'risks'], 'poam')
  t.match(poam.uuid, UUID)
  requireKeys(t, poam.metadata, ['title', 'last-modified', 'version', 'oscal-version'], 'metadata')
  t.equal(poam.metadata['oscal-version'], OSCAL_VERSION)
  t.match(poam.metadata['last-modified'], DATE_TIME_TZ)
  t.same(poam['system-id'], { 'identifier-type': 'https://fedramp.gov', id: 'F1234567890' })
  t.same(poam['import-ssp'], { href: 'ssp.json' })

  const uuids = new Set<string>()
  const unique = (u: string, where: string) => { t.match(u, UUID, `${where} uuid`); t.notOk(uuids.has(u), `${where} uuid unique`); uuids.add(u) }
  const components = new Set<string>(poam['local-definitions'].components.map((c: J) => { requireKeys(t, c, ['uuid', 'type', 'title', 'description', 'status'], 'component'); unique(c.uuid, 'component'); return c.uuid }))
  const inventory = new Set<string>(poam['local-definitions']['inventory-items'].map((i: J) => { requireKeys(t, i, ['uuid', 'description'], 'inventory-item'); unique(i.uuid, 'inventory-item'); return i.uuid }))
  t.equal(inventory.size, 3, 'one inventory item per Qualys host')
  t.equal(components.size, 2, 'one tool component per detector')

  const observations = new Set<string>()
  for (const o of poam.observations as J[]) {
    requireKeys(t, o, ['uuid', 'description', 'methods', 'collected'], 'observation')
    unique(o.uuid, 'observation')
    observations.add(o.uuid)
    t.same(o.methods, ['TEST'])
    t.same(o.types, ['finding'])
    t.match(o.collected, DATE_TIME_TZ)
    for (const a of o.origins[0].actors) { t.equal(a.type, 'tool'); t.ok(components.has(a['actor-uuid']), 'actor is a defined tool') }
    for (const s of o.subjects) { t.equal(s.type, 'inventory-item'); t.ok(inventory.has(s['subject-uuid']), 'subject is a defined inventory item') }
  }
  const risks = new Set<string>()
  for (const r of poam.risks as J[]) {
    requireKeys(t, r, ['uuid', 'title', 'description', 'statement', 'status'], 'risk')
    unique(r.uuid, 'risk')
    risks.add(r.uuid)
    t.ok(['open', 'closed'].includes(r.status))
    t.match(r.deadline, DATE_TIME_TZ)
    for (const c of r.characterizations) { requireKeys(t, c, ['origin', 'facets'], 'characterization'); for (const f of c.facets) requireKeys(t, f, ['name', 'system', 'value'], 'facet') }
    for (const m of r.remediations) {
      requireKeys(t, m, ['uuid', 'lifecycle', 'title', 'description'], 'remediation')
      for (const task of m.tasks) { requireKeys(t, task, ['uuid', 'type', 'title'], 'task'); t.match(task.timing['on-date'].date, DATE_TIME_TZ) }
    }
    for (const p of r.props ?? []) t.match(p.value, TOKEN, 'impacted-control-id is a token')
    for (const ro of r['related-observations']) t.ok(observations.has(ro['observation-uuid']))
  }
  t.equal((poam['poam-items'] as J[]).length, records.length, 'one poam-item per record')
  for (const item of poam['poam-items'] as J[]) {
    requireKeys(t, item, ['title', 'description'], 'poam-item')
    unique(item.uuid, 'poam-item')
    const id = item.props.find((p: J) => p.name === 'POAM-ID')
    t.equal(id.ns, FEDRAMP_NS)
    t.ok(records.some((r) => r.correlationId === id.value), 'POAM-ID is the correlation id')
    for (const ro of item['related-observations']) t.ok(observations.has(ro['observation-uuid']))
    for (const rr of item['related-risks']) t.ok(risks.has(rr['risk-uuid']))
  }
  const problems: string[] = []
  noEmptyArrays(doc, '$', problems)
  t.same(problems, [], 'no empty arrays')
})

test('OSCAL export content follows the records and is deterministic', async (t) => {
  const records = sample()
  const a = toOscalPoam(records, { systemId: 'S1', now: NOW })
  const b = toOscalPoam([...records].reverse().map((r) => r.item), { systemId: 'S1', now: NOW })
  t.same(a, b, 'same state, same document, whatever the input order or form')
  const poam = (a as J)['plan-of-action-and-milestones']
  t.notOk('import-ssp' in poam, 'no SSP link unless given')
  t.same(poam['system-id'], { id: 'S1' })
  const vmOpen = records.find((r) => r.item.source === 'vm' && r.open)!
  const risk = (poam.risks as J[]).find((r) => r.uuid === uuidV5(`risk:${vmOpen.correlationId}`))!
  t.equal(risk.status, 'open')
  t.equal(risk.deadline, `${vmOpen.item.scheduledCompletionDate}T00:00:00Z`)
  t.same(risk.props, [{ name: 'impacted-control-id', value: 'ra-5' }])
  t.equal(risk.characterizations[0].facets[0].value, 'high')
  const closed = records.find((r) => !r.open)!
  t.equal((poam.risks as J[]).find((r) => r.uuid === uuidV5(`risk:${closed.correlationId}`))!.status, 'closed')
  const pc = (poam.risks as J[]).find((r) => r.uuid === uuidV5(`risk:${records.find((x) => x.item.source === 'pc')!.correlationId}`))!
  t.notOk('props' in pc, 'a Qualys control ID is not an OSCAL control id')
})
