import { test } from 'tap'
import { isQssError } from '../../src/errors.js'
import { HostQuirk } from '../../src/sim/hosts.js'
import { chunk, isSafeQueryValue, q } from '../../src/servicenow/query.js'
import { calls, simWithClient } from './fixtures/sim-client.js'

function refusal (fn: () => unknown): string {
  try {
    fn()
    return 'accepted'
  } catch (err) {
    return isQssError(err) ? `${err.code}: ${err.message}` : String(err)
  }
}

test('builds encoded queries', async (t) => {
  t.equal(q().eq('name', 'web-1').in('ip_address', ['10.0.0.1', '10.0.0.2']).orderBy('sys_id').toString(), 'name=web-1^ip_addressIN10.0.0.1,10.0.0.2^ORDERBYsys_id')
  t.equal(q().eq('a', '1').or().eq('b', '2').newQuery().isEmpty('c').orderByDesc('d').toString(), 'a=1^ORb=2^NQcISEMPTY^ORDERBYDESCd')
  t.equal(q().notIn('k', ['x']).ne('s', '7').startsWith('n', 'w').endsWith('f', '.com').like('d', 'mid').lt('p', '3').gt('p', '1').isNotEmpty('z').toString(),
    'kNOT INx^s!=7^nSTARTSWITHw^fENDSWITH.com^dLIKEmid^p<3^p>1^zISNOTEMPTY')
  t.equal(q().toString(), '')
  t.same(chunk([1, 2, 3, 4, 5], 2), [[1, 2], [3, 4], [5]])
})

test('refuses values that would change the query, with a clear message', async (t) => {
  t.match(refusal(() => q().eq('name', 'evil^ORsys_id!=0')), /^QSS_QUERY_UNSAFE_VALUE: .*"\^" \(query separator\).*"name"/)
  t.match(refusal(() => q().eq('name', 'line\nbreak')), /QSS_QUERY_UNSAFE_VALUE: .*newline/)
  t.match(refusal(() => q().eq('name', 'a=b')), /QSS_QUERY_UNSAFE_VALUE/)
  t.match(refusal(() => q().in('name', ['ok', 'x,y'])), /QSS_QUERY_UNSAFE_VALUE: .*","/)
  t.equal(refusal(() => q().eq('name', 'x,y')), 'accepted', 'a comma is harmless outside IN')
  t.match(refusal(() => q().in('name', [])), /Empty IN list/)
  t.match(refusal(() => q().in('name', Array.from({ length: 101 }, (_, i) => `h${i}`))), /split it with chunk/)
  t.match(refusal(() => q().eq('name^ORsys_id', 'x')), /Invalid ServiceNow field name/)
  t.match(refusal(() => q().eq('name', '')), /empty value/)
  t.equal(isSafeQueryValue('web-01.corp.example.com', true), true)
})

test('hostile host names from the estate never widen a query against the simulator', async (t) => {
  const { sim, client } = await simWithClient(t, { hosts: 100 })
  const hostile = sim.estate.hosts.filter((h) => h.quirk === HostQuirk.hostile)
  t.ok(hostile.length >= 4, 'the estate has hostile names')
  const all = sim.table('cmdb_ci_server').length

  // What an unsafe client would send: the query widens to (nearly) the whole CMDB.
  const raw = await fetch(`${sim.url}/api/now/v2/table/cmdb_ci_server?sysparm_query=${encodeURIComponent(`name=${hostile[0]?.hostname ?? ''}`)}`, {
    headers: { authorization: `Basic ${Buffer.from(`${sim.credentials.username}:${sim.credentials.password}`).toString('base64')}` }
  })
  t.ok(((await raw.json()) as { result: unknown[] }).result.length > all / 2, 'the naive query matches far more than one row')

  sim.resetStats()
  for (const host of hostile) {
    for (const value of [host.hostname, host.dns, host.netbios]) {
      if (value === undefined) continue
      t.match(refusal(() => q().eq('name', value)), /QSS_QUERY_UNSAFE_VALUE/, `refused: ${value}`)
      t.match(refusal(() => q().in('name', ['web-00001', value])), /QSS_QUERY_UNSAFE_VALUE/)
    }
  }
  t.equal(sim.stats.total, 0, 'no hostile value reached the instance')

  const safe = sim.estate.hosts.filter((h) => h.quirk === HostQuirk.none && h.cmdb === 'fqdn').slice(0, 3).map((h) => h.hostname ?? '')
  const rows = await client.list('cmdb_ci_server', { query: q().in('name', safe) })
  t.equal(rows.length, 3, 'a safe IN query returns exactly its rows')
  t.equal(calls(sim, 'GET cmdb_ci_server'), 1)
})
