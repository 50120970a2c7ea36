import { readFileSync } from 'node:fs'
import { test } from 'tap'
import { parseDetectionPage } from '../../src/qualys/detection-parser.js'
import { parseKnowledgeBase } from '../../src/qualys/kb-parser.js'
import { readSimpleReturn, simpleReturnError } from '../../src/qualys/simple-return.js'
import { parseQualysXml } from '../../src/qualys/xml.js'

// Real Qualys payloads, shared beside the repository (../shared relative to its root).
const fixture = (name: string) => readFileSync(new URL(`../../../shared/fixtures/qualys/${name}`, import.meta.url), 'utf8')
const where = { endpoint: '/fixture', page: 1 }

test('official detection sample: no declaration, CDATA, one-item lists', async (t) => {
  const parsed = parseQualysXml(fixture('vm_detection_list_official_sample.xml'), where)
  t.equal(parsed.root, 'HOST_LIST_VM_DETECTION_OUTPUT')
  const page = parseDetectionPage(parsed.body)
  t.equal(page.responseDatetime, '2018-04-26T11:25:58Z')
  t.equal(page.hosts, 1)
  t.equal(page.findings.length, 1)
  const [f] = page.findings
  t.ok(f)
  if (f === undefined) return
  t.equal(f.source, 'vm')
  t.equal(f.status, 'failed', 'Active is failing')
  t.equal(f.risk, 'Low', 'severity 2')
  t.match(f.host, { qualysHostId: '6506432', ip: '10.10.10.11', dns: '2k8r2-u-10-11', netbios: '2K8R2-U-10-11', os: 'Windows 2008 R2 Enterprise Service Pack 1', trackingMethod: 'IP' })
  t.equal(f.host.fqdn, undefined, 'a DNS name without a dot is not an FQDN')
  t.match(f.vuln, { qid: '38170', severity: 2, type: 'Confirmed', port: '3389', protocol: 'tcp' })
  t.equal(typeof f.vuln?.qid, 'string')
  t.equal(f.firstDetected, '2018-01-26T04:45:50Z')
  t.equal(f.lastDetected, '2018-04-13T03:48:50Z')
  t.equal(f.evaluatedAt, '2018-04-13T03:48:50Z')
  // CDATA is verbatim: the pre-escaped entity is not unescaped a second time.
  t.equal(f.evidence, 'Certificate #0 CN=2k8r2-u-10-11 (2k8r2-u-10-11) doesn&apos;t resolve')
  t.match(f.id, /^vm-[0-9a-f]{32}$/)
})

test('real KnowledgeBase capture: DOCTYPE, comments around and inside the root', async (t) => {
  const parsed = parseQualysXml(fixture('knowledge_base_vuln_list_output_real_qg3.xml'), where)
  t.equal(parsed.root, 'KNOWLEDGE_BASE_VULN_LIST_OUTPUT')
  const kb = parseKnowledgeBase(parsed.body)
  t.same([...kb.keys()], ['316760'])
  const entry = kb.get('316760')
  t.equal(entry?.title, 'Cisco IOS XE Software Command Injection Vulnerability (cisco-sa-iosxe-cmdinj-2MzhjM6K)')
  t.same(entry?.cves, ['CVE-2020-3403'])
  t.equal(entry?.severity, 3)
  t.match(entry?.solution ?? '', /^<P>Customers are advised/)
  t.match(entry?.diagnosis ?? '', /&quot;show version&quot;/, 'CDATA entities kept as sent')
})

test('SIMPLE_RETURN bodies map to distinct error codes with the Qualys CODE and TEXT', async (t) => {
  const docs = fixture('simple_return_errors.xml').split('</SIMPLE_RETURN>').slice(0, -1).map((d) => `${d}</SIMPLE_RETURN>`)
  t.equal(docs.length, 5)
  const statuses = [400, 200, 409, 409, 200]
  const errors = docs.map((doc, i) => {
    const parsed = parseQualysXml(doc, where)
    t.equal(parsed.root, 'SIMPLE_RETURN')
    return simpleReturnError(readSimpleReturn(parsed.body), { endpoint: '/api/2.0/fo/x/', httpStatus: statuses[i] as number })
  })
  t.same(errors.map((e) => e.code), ['QSS_QUALYS_BAD_REQUEST', 'QSS_QUALYS_ACCOUNT', 'QSS_QUALYS_RATE_LIMIT', 'QSS_QUALYS_RATE_LIMIT', 'QSS_QUALYS_ACCOUNT'])
  t.match(errors[0]?.message, /CODE 1905: parameter ids has invalid value: abc123/)
  t.match(errors[1]?.message, /HTTP 200 CODE 2001: This account has expired\./)
  t.match(errors[2]?.details, { qualysCode: '1960', items: { CALLS_TO_FINISH: '2' } })
  t.match(errors[3]?.details, { qualysCode: '1965', items: { SECONDS_TO_WAIT: '68928' } })
  t.equal(readSimpleReturn(parseQualysXml(docs[3] as string, where).body).datetime, '2017-04-12T14:52:39Z', 'stray whitespace trimmed')
  t.match(errors[4]?.details, { qualysCode: '2003' })
})
