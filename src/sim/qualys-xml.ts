import type { SimHost } from './hosts.js'
import type { SimControl, SimPolicy, SimPosture, SimTechnology } from './compliance.js'
import type { SimDetection, SimKbEntry } from './qualys-detections.js'

/**
 * XML bodies in the shapes Qualys documents (reference/qualys.md), written as chunks so
 * the simulator can stream a page without building it whole.
 *
 *   simpleReturnXml, policyListXml, controlListXml, kbXml: string
 *   postureChunks(...), detectionChunks(...): Generator<string>
 *
 * `XmlTraps` adds what real responses carry: a DOCTYPE, keep-alive comments inside the
 * root, characters XML forbids in free text.
 */

export interface XmlTraps {
  doctype: boolean
  /** A keep-alive comment every N records (0: none). */
  keepAliveEvery: number
  /** Put forbidden characters into free text. */
  invalidChars: boolean
}

export const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
export const cdata = (s: string) => `<![CDATA[${s.replace(/]]>/g, ']]]]><![CDATA[>')}]]>`
const el = (name: string, value: string | number | undefined) => value === undefined ? '' : `<${name}>${esc(String(value))}</${name}>`
const elc = (name: string, value: string | undefined) => value === undefined ? '' : `<${name}>${cdata(value)}</${name}>`

function head (root: string, traps: Pick<XmlTraps, 'doctype'>): string {
  const doctype = traps.doctype ? `<!DOCTYPE ${root} SYSTEM "https://qualysapi.qualys.com/api/2.0/${root.toLowerCase()}.dtd">\n` : ''
  return `<?xml version="1.0" encoding="UTF-8" ?>\n${doctype}<${root}>\n  <RESPONSE>\n    <DATETIME>${esc(new Date().toISOString().replace(/\.\d+Z$/, 'Z'))}</DATETIME>\n`
}

function warningXml (url: string | undefined, limit: number): string {
  if (url === undefined) return ''
  return `    <WARNING>\n      <CODE>1980</CODE>\n      <TEXT>${limit} record limit exceeded. Use URL to get next batch of results.</TEXT>\n      <URL>${cdata(url)}</URL>\n    </WARNING>\n`
}

export function simpleReturnXml (code: string, text: string, items: Record<string, string> = {}, traps: Pick<XmlTraps, 'doctype'> = { doctype: true }): string {
  const list = Object.entries(items)
  const itemXml = list.length === 0 ? '' : `<ITEM_LIST>${list.map(([k, v]) => `<ITEM><KEY>${esc(k)}</KEY><VALUE>${esc(v)}</VALUE></ITEM>`).join('')}</ITEM_LIST>`
  return `${head('SIMPLE_RETURN', traps)}    <CODE>${esc(code)}</CODE>\n    <TEXT>${esc(text)}</TEXT>\n    ${itemXml}\n  </RESPONSE>\n</SIMPLE_RETURN>\n`
}

export function policyListXml (policies: SimPolicy[], lastEvaluated: string, traps: XmlTraps): string {
  const items = policies.map((p) => `<POLICY>${el('ID', p.id)}${elc('TITLE', p.title)}<CREATED><DATETIME>2024-01-15T10:00:00Z</DATETIME></CREATED><LAST_MODIFIED><DATETIME>2025-01-15T10:00:00Z</DATETIME></LAST_MODIFIED><LAST_EVALUATED><DATETIME>${lastEvaluated}</DATETIME></LAST_EVALUATED>${el('STATUS', 'active')}${el('IS_LOCKED', 0)}</POLICY>`)
  const list = items.length === 0 ? '' : `    <POLICY_LIST>${items.join('\n')}</POLICY_LIST>\n`
  return `${head('POLICY_LIST_OUTPUT', traps)}${list}  </RESPONSE>\n</POLICY_LIST_OUTPUT>\n`
}

function controlXml (c: SimControl, withRationale: boolean): string {
  const crit = c.criticality === undefined ? '' : `<CRITICALITY>${el('LABEL', c.criticality.label)}${el('VALUE', c.criticality.value)}</CRITICALITY>`
  const rationale = withRationale
    ? `<RATIONALE_LIST>${c.technologies.map((t) => `<RATIONALE>${el('TECHNOLOGY_ID', t.id)}${elc('TEXT', `\n  Weak values on ${t.name} let an attacker in; the default doesn&apos;t comply.  \n`)}</RATIONALE>`).join('')}</RATIONALE_LIST>`
    : ''
  return `<CONTROL>${el('ID', c.id)}${elc('STATEMENT', c.statement)}${crit}${rationale}</CONTROL>`
}

export function controlListXml (controls: SimControl[], traps: XmlTraps, warningUrl: string | undefined, limit: number): string {
  const items = controls.map((c) => controlXml(c, true).replace('</CONTROL>', `<CATEGORY>${el('NAME', c.category)}</CATEGORY><TECHNOLOGY_LIST>${c.technologies.map((t) => `<TECHNOLOGY>${el('ID', t.id)}${elc('NAME', t.name)}</TECHNOLOGY>`).join('')}</TECHNOLOGY_LIST></CONTROL>`))
  const list = items.length === 0 ? '' : `    <CONTROL_LIST>${items.join('\n')}</CONTROL_LIST>\n`
  return `${head('CONTROL_LIST_OUTPUT', traps)}${list}${warningXml(warningUrl, limit)}  </RESPONSE>\n</CONTROL_LIST_OUTPUT>\n`
}

const BAD_CHARS = '\u0001\u000B\uFFFE'

function postureXml (p: SimPosture, hostId: string, evidence: boolean, traps: XmlTraps): string {
  const actual = traps.invalidChars ? `${p.actual}${BAD_CHARS}` : p.actual
  const dates = el('FIRST_FAIL_DATE', p.firstFail) + el('LAST_FAIL_DATE', p.lastFail) + el('FIRST_PASS_DATE', p.firstPass) + el('LAST_PASS_DATE', p.lastPass)
  const ev = evidence
    ? `<EVIDENCE><BOOLEAN_EXPR>${cdata(`:dp_${p.control.id} == #fv_${p.control.id}`)}</BOOLEAN_EXPR><DPV_LIST><DPV lastUpdated="${p.evaluated}"><LABEL>:dp_${p.control.id}</LABEL><V>${cdata(actual)}</V></DPV></DPV_LIST></EVIDENCE>` +
      (p.status === 'Failed' ? `<CAUSE_OF_FAILURE><UNEXPECTED logic="any"><V>${cdata(actual)}</V></UNEXPECTED></CAUSE_OF_FAILURE>` : '')
    : ''
  return `      <INFO>${el('ID', p.id)}${el('HOST_ID', hostId)}` +
    `${el('CONTROL_ID', p.control.id)}${el('TECHNOLOGY_ID', p.technology.id)}${elc('INSTANCE', p.technology.instance)}${el('STATUS', p.status)}` +
    `${el('POSTURE_MODIFIED_DATE', p.modified)}${el('EVALUATION_DATE', p.evaluated)}${el('PREVIOUS_STATUS', p.previousStatus)}${dates}${ev}` +
    `${elc('REMEDIATION', `\n        Set '${p.control.setting}' to ${p.control.expected}; the current value doesn&apos;t comply.\n      `)}</INFO>\n`
}

export interface PostureGroup { policy: SimPolicy, postures: Iterable<SimPosture> }

/**
 * Posture page. Flat form for one policy, nested POLICY_LIST/POLICY form for `policy_ids`.
 * The GLOSSARY lists only the hosts, controls and technologies this page refers to.
 */
export function * postureChunks (options: {
  groups: PostureGroup[]
  nested: boolean
  hosts: SimHost[]
  evidence: boolean
  traps: XmlTraps
  /** Asked after the records are written: the next page's URL, if any. */
  warningUrl: () => string | undefined
  limit: number
}): Generator<string> {
  const { traps } = options
  yield head('POSTURE_INFO_LIST_OUTPUT', traps)
  const hostIndices = new Set<number>()
  const controls = new Map<string, SimControl>()
  const technologies = new Map<string, SimTechnology>()
  let count = 0
  if (options.nested) yield '    <POLICY_LIST>\n'
  for (const group of options.groups) {
    let open = false
    let batch = ''
    for (const p of group.postures) {
      if (!open) {
        yield options.nested ? `<POLICY>${el('ID', group.policy.id)}<INFO_LIST>\n` : '    <INFO_LIST>\n'
        open = true
      }
      hostIndices.add(p.hostIndex)
      controls.set(p.control.id, p.control)
      technologies.set(p.technology.id, p.technology)
      batch += postureXml(p, options.hosts[p.hostIndex]?.qualysHostId ?? '', options.evidence, traps)
      count++
      if (traps.keepAliveEvery > 0 && count % traps.keepAliveEvery === 0) batch += '<!-- keep-alive for POSTURE_INFO_LIST_OUTPUT -->\n'
      if (batch.length > 64 * 1024) { yield batch; batch = '' }
    }
    if (batch !== '') yield batch
    if (open) yield options.nested ? '</INFO_LIST></POLICY>\n' : '    </INFO_LIST>\n'
  }
  if (options.nested) yield '    </POLICY_LIST>\n'
  yield '    <GLOSSARY>\n'
  if (hostIndices.size > 0) {
    yield `<HOST_LIST>${[...hostIndices].map((i) => options.hosts[i]).filter((h): h is SimHost => h !== undefined).map((h) =>
      `<HOST>${el('ID', h.qualysHostId)}${el('IP', h.ip)}${el('TRACKING_METHOD', h.trackingMethod)}${elc('DNS', h.dns)}${elc('NETBIOS', h.netbios)}${elc('OS', h.os)}</HOST>`).join('\n')}</HOST_LIST>\n`
    yield `<CONTROL_LIST>${[...controls.values()].map((c) => controlXml(c, true)).join('\n')}</CONTROL_LIST>\n`
    yield `<TECHNOLOGY_LIST>${[...technologies.values()].map((t) => `<TECHNOLOGY>${el('ID', t.id)}${elc('NAME', t.name)}</TECHNOLOGY>`).join('')}</TECHNOLOGY_LIST>\n`
    if (options.evidence) {
      yield `<DPD_LIST>${[...controls.values()].map((c) => `<DPD>${el('LABEL', `:dp_${c.id}`)}${elc('NAME', c.setting)}</DPD>`).join('')}</DPD_LIST>\n`
      yield `<FV_LIST>${[...controls.values()].map((c) => `<FV>${el('LABEL', `#fv_${c.id}`)}<V>${cdata(c.expected)}</V></FV>`).join('')}</FV_LIST>\n`
    }
  }
  yield `    </GLOSSARY>\n${warningXml(options.warningUrl(), options.limit)}  </RESPONSE>\n</POSTURE_INFO_LIST_OUTPUT>\n`
}

function detectionXml (d: SimDetection, traps: XmlTraps): string {
  const results = traps.invalidChars ? `${d.results}${BAD_CHARS}` : d.results
  return `<DETECTION>${el('UNIQUE_VULN_ID', d.uniqueVulnId)}${el('QID', d.qid)}${el('TYPE', d.type)}${el('SEVERITY', d.severity)}${el('PORT', d.port)}${el('PROTOCOL', d.protocol)}` +
    `${el('SSL', d.port === '443' ? 1 : 0)}${elc('RESULTS', results)}${el('STATUS', d.status)}${el('FIRST_FOUND_DATETIME', d.firstFound)}${el('LAST_FOUND_DATETIME', d.lastFound)}` +
    `${el('TIMES_FOUND', d.timesFound)}${el('LAST_TEST_DATETIME', d.lastTest)}${el('LAST_UPDATE_DATETIME', d.lastProcessed)}${el('LAST_FIXED_DATETIME', d.lastFixed)}` +
    `${el('IS_IGNORED', 0)}${el('IS_DISABLED', 0)}${el('LAST_PROCESSED_DATETIME', d.lastProcessed)}</DETECTION>`
}

export function * detectionChunks (options: { hosts: Iterable<{ host: SimHost, detections: SimDetection[] }>, traps: XmlTraps, warningUrl: () => string | undefined, limit: number }): Generator<string> {
  yield head('HOST_LIST_VM_DETECTION_OUTPUT', options.traps)
  let open = false
  let count = 0
  for (const { host: h, detections } of options.hosts) {
    if (!open) { yield '    <HOST_LIST>\n'; open = true }
    const dnsData = h.fqdn === undefined ? '' : `<DNS_DATA>${elc('HOSTNAME', h.hostname)}${elc('DOMAIN', h.fqdn.split('.').slice(1).join('.'))}${elc('FQDN', h.fqdn)}</DNS_DATA>`
    const last = detections.reduce((max, d) => d.lastTest > max ? d.lastTest : max, '')
    yield `      <HOST>${el('ID', h.qualysHostId)}${el('IP', h.ip)}${el('TRACKING_METHOD', h.trackingMethod)}${elc('OS', h.os)}${elc('DNS', h.dns)}${dnsData}${elc('NETBIOS', h.netbios)}` +
      `${el('LAST_SCAN_DATETIME', last || undefined)}${el('LAST_VM_SCANNED_DATE', last || undefined)}` +
      (detections.length === 0 ? '' : `<DETECTION_LIST>${detections.map((d) => detectionXml(d, options.traps)).join('')}</DETECTION_LIST>`) + '</HOST>\n'
    count++
    if (options.traps.keepAliveEvery > 0 && count % options.traps.keepAliveEvery === 0) yield '<!-- keep-alive for HOST_LIST_VM_DETECTION_OUTPUT -->\n'
  }
  if (open) yield '    </HOST_LIST>\n'
  yield `${warningXml(options.warningUrl(), options.limit)}  </RESPONSE>\n</HOST_LIST_VM_DETECTION_OUTPUT>\n`
}

export function kbXml (entries: SimKbEntry[], traps: XmlTraps): string {
  const items = entries.map((v) => `<VULN>${el('QID', v.qid)}${el('VULN_TYPE', 'Vulnerability')}${el('SEVERITY_LEVEL', v.severity)}${elc('TITLE', v.title)}` +
    (v.cves.length === 0 ? '' : `<CVE_LIST>${v.cves.map((c) => `<CVE>${elc('ID', c)}${elc('URL', `https://nvd.nist.gov/vuln/detail/${c}`)}</CVE>`).join('')}</CVE_LIST>`) +
    `${elc('DIAGNOSIS', v.diagnosis)}${elc('SOLUTION', v.solution)}</VULN>`)
  const keepAlive = traps.keepAliveEvery > 0 ? '<!-- keep-alive for KNOWLEDGE_BASE_VULN_LIST_OUTPUT  -->\n' : ''
  const list = items.length === 0 ? '' : `    <VULN_LIST>${items.join('\n')}</VULN_LIST>\n`
  return `${head('KNOWLEDGE_BASE_VULN_LIST_OUTPUT', traps)}${keepAlive}${list}  </RESPONSE>\n</KNOWLEDGE_BASE_VULN_LIST_OUTPUT>\n<!-- CONFIDENTIAL AND PROPRIETARY INFORMATION. //-->\n`
}
