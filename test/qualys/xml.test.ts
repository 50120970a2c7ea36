import { test } from 'tap'
import { parsePosturePage } from '../../src/qualys/posture-parser.js'
import { parseQualysXml, stripInvalidXmlChars } from '../../src/qualys/xml.js'
import { startQualysSim } from '../../src/sim/qualys.js'

const where = { endpoint: '/api/2.0/fo/compliance/posture/info/', page: 3 }

test('malformed bodies give QSS_QUALYS_XML naming endpoint and page, never an empty result', async (t) => {
  const cases = ['', 'garbage', '<A><B>1</B><C>2', '<A><B>1</B></A', '<A>x</A><B/>', '<POSTURE_INFO_LIST_OUTPUT><RESPONSE><INFO_LIST><INFO><ID>1</ID></INFO>']
  for (const body of cases) {
    t.throws(() => parseQualysXml(body, where), { code: 'QSS_QUALYS_XML', message: /posture\/info\/ \(page 3\)/ }, JSON.stringify(body))
  }
})

test('a closing tag that does not match the element it closes is malformed XML, wherever it is', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['<A><B>1</C></A>', /<\/C> where <\/B> was expected/],
    ['<A><HOST><ID>1</ID></HOST><HOST><ID>2</HOST></A>', /<\/HOST> where <\/ID> was expected/],
    ['<A><B>1</B></X></A>', /<\/X> where <\/A> was expected/]
  ]
  for (const [body, reason] of cases) t.throws(() => parseQualysXml(body, where), { code: 'QSS_QUALYS_XML', message: reason }, body)
  const tricky = '<?xml version="1.0"?><A><!-- </B> --><B t="x>y" u=\'</C>\'><![CDATA[</D> <E>]]></B><F/><G a="1"/></A>'
  t.same(parseQualysXml(tricky, where).body.B, { '#text': '</D> <E>', '@t': 'x>y', '@u': '</C>' }, 'comments, CDATA, quoted > and self-closing tags are not tags to balance')
})

test('DOCTYPE with internal entities is dropped, never expanded', async (t) => {
  const body = '<?xml version="1.0"?><!DOCTYPE R [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><R><V>&b;</V></R>'
  const parsed = parseQualysXml(body, where)
  t.equal(parsed.root, 'R')
  t.notMatch(JSON.stringify(parsed.body), /aaaaaaaaaa/)
  const external = '<!DOCTYPE R SYSTEM "https://qualysapi.qualys.com/x.dtd"><R><X>1</X></R>'
  t.same(parseQualysXml(external, where).body, { X: '1' })
})

test('comments anywhere, CDATA verbatim, entities decoded once, one-item lists as arrays, IDs as text', async (t) => {
  const body = `<!-- before --><R><!-- keep-alive --><RESPONSE><DATETIME> 2018-04-13T03:49:05Z </DATETIME>
  <HOST_LIST><HOST><ID>0012345678</ID><T><![CDATA[
     doesn&apos;t <b>x</b>  ]]></T><E>a &amp;lt; b</E><Q severity="3">12</Q></HOST></HOST_LIST></RESPONSE></R><!-- after //-->`
  const { body: r } = parseQualysXml(body, where)
  const host = (r as any).RESPONSE.HOST_LIST.HOST
  t.ok(Array.isArray(host), 'one-item list is an array')
  t.equal(host[0].ID, '0012345678', 'leading zeros kept')
  t.equal(host[0].T.trim(), 'doesn&apos;t <b>x</b>', 'CDATA not unescaped')
  t.equal(host[0].E, 'a &lt; b', 'escaped text decoded exactly once')
  t.same(host[0].Q, { '#text': '12', '@severity': '3' }, 'attributes kept')
})

test('invalid XML characters are stripped and counted', async (t) => {
  t.same(stripInvalidXmlChars('ok'), { text: 'ok', stripped: 0 })
  t.same(stripInvalidXmlChars('a\u0001b\u000bc\ufffed\ud800e\u{1F600}'), { text: 'abcde\u{1F600}', stripped: 4 })
  const parsed = parseQualysXml('<R><V>x\u0002y</V></R>', where)
  t.equal(parsed.invalidCharsStripped, 1)
})

test('simulator posture pages: glossary-rendered evidence, criticality risk, nested policy_ids form', async (t) => {
  const sim = await startQualysSim({ hosts: 25, policies: 2, controlsPerPolicy: 7, technologiesPerControl: 2, failRate: 0.5 })
  t.teardown(() => sim.close())
  const headers = { authorization: `Basic ${Buffer.from(`${sim.username}:${sim.password}`).toString('base64')}`, 'x-requested-with': 'test', 'content-type': 'application/x-www-form-urlencoded' }
  const post = async (body: string) => await (await fetch(`${sim.url}/api/2.0/fo/compliance/posture/info/`, { method: 'POST', headers, body })).text()

  const flat = parseQualysXml(await post('action=list&policy_id=5000&details=All&truncation_limit=0'), where)
  const { findings, responseDatetime } = parsePosturePage(flat.body, { policyId: '5000' })
  t.equal(findings.length, 25 * 7 * 2)
  t.match(responseDatetime, /Z$/)
  const failed = findings.find((f) => f.status === 'failed' && f.control?.criticalityLabel === 'URGENT')
  t.ok(failed, 'an urgent failing control exists')
  t.equal(failed?.risk, 'High')
  t.match(failed?.evidence, /^Expected: (Minimum password length|Audit logon events|Remote root login|TLS 1\.0 enabled|Account lockout threshold|SNMP community "public") == "/, 'tokens expanded through the glossary')
  t.match(failed?.evidence, /\nActual: .+ = ".+" \(collected /)
  t.match(failed?.evidence, /\nCause of failure: unexpected \(any\) "/)
  t.match(failed?.remediation, /^Set '.+' to .+; the current value doesn&apos;t comply\.$/, 'CDATA trimmed, pre-escaped entity kept')
  t.match(failed?.control?.rationale, /^Weak values on /)
  t.match(failed?.control?.statement, /' setting & its value/)
  const unrated = findings.find((f) => f.control?.criticalityLabel === undefined)
  t.equal(unrated?.risk, 'Moderate', 'missing criticality -> Moderate')
  const oracle = findings.find((f) => f.technology?.name === 'Oracle 19c')
  t.equal(oracle?.instance, 'Oracle 19c:1:ORCL')
  const hostile = findings.find((f) => (f.host.dns ?? '').includes('^'))
  t.ok(hostile, 'hostile host names come through untouched')
  t.ok(findings.some((f) => f.host.dns?.endsWith('.')), 'trailing-dot DNS kept as reported')
  t.ok(findings.every((f) => f.host.ip !== undefined && f.technology?.name !== undefined), 'host and technology from the glossary')
  const world = sim.world.posture(sim.world.policies[0]!, 0)
  const first = findings[0]
  t.equal(first?.status, world.status.toLowerCase())
  t.equal(first?.evaluatedAt, world.evaluated)

  const nested = parseQualysXml(await post('action=list&policy_ids=5000,5001&details=Basic&status=Failed'), where)
  t.ok((nested.body as any).RESPONSE.POLICY_LIST, 'nested form')
  const both = parsePosturePage(nested.body, { policyId: '5000' }).findings
  t.ok(both.length > 0 && both.every((f) => f.status === 'failed' && f.evidence === undefined))
  t.same([...new Set(both.map((f) => f.policy?.id))].sort(), ['5000', '5001'], 'each record keeps its own policy')
})
