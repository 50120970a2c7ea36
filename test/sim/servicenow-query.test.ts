import { test } from 'tap'
import { evaluate, parseEncodedQuery, type SimRow } from '../../src/sim/servicenow-query.js'

const rows: SimRow[] = [
  { sys_id: 'a', name: 'web-1', fqdn: 'web-1.corp.example.com', ip_address: '10.0.0.1', priority: '2' },
  { sys_id: 'b', name: 'DB-2', fqdn: '', ip_address: '10.0.0.2', priority: '10' },
  { sys_id: 'c', name: 'app-3', fqdn: 'app-3.corp.example.com', ip_address: '', priority: '1' }
]
const known = (f: string) => ['sys_id', 'name', 'fqdn', 'ip_address', 'priority'].includes(f)
const ids = (query: string) => evaluate(rows, parseEncodedQuery(query, known)).map((r) => r.sys_id).join(',')

test('operators', async (t) => {
  t.equal(ids('name=web-1'), 'a')
  t.equal(ids('name=db-2'), 'b', '= is case-insensitive, like a typical instance')
  t.equal(ids('name!=web-1'), 'b,c')
  t.equal(ids('nameINweb-1,app-3'), 'a,c')
  t.equal(ids('nameNOT INweb-1,app-3'), 'b')
  t.equal(ids('nameSTARTSWITHdb'), 'b')
  t.equal(ids('fqdnENDSWITHexample.com'), 'a,c')
  t.equal(ids('nameLIKEpp'), 'c')
  t.equal(ids('fqdnISEMPTY'), 'b')
  t.equal(ids('ip_addressISNOTEMPTY'), 'a,b')
  t.equal(ids('priority<3'), 'a,c', 'numbers compare as numbers')
  t.equal(ids('priority>2'), 'b')
})

test('AND, OR, NQ and ordering', async (t) => {
  t.equal(ids('fqdnISNOTEMPTY^name=app-3'), 'c')
  t.equal(ids('name=web-1^ORname=db-2'), 'a,b')
  t.equal(ids('name=web-1^ORname=db-2^ip_addressISEMPTY'), '', 'OR binds tighter than ^')
  t.equal(ids('name=web-1^NQname=app-3'), 'a,c')
  t.equal(ids('ORDERBYDESCname'), 'a,b,c', 'text orders case-insensitively')
  t.equal(ids('fqdnISNOTEMPTY^ORDERBYpriority'), 'c,a')
})

test('conditions on unknown fields are ignored, which widens the query', async (t) => {
  t.equal(ids('nmae=web-1'), 'a,b,c')
  t.equal(ids('name=web-1^bogus=1'), 'a')
})

test('a value carrying query syntax changes the query', async (t) => {
  t.equal(ids('name=evil^ORsys_id!=0'), 'a,b,c', 'the hostile host name matches everything')
  t.equal(ids('nameINx,web-1'), 'a', 'a comma adds a value to IN')
})
