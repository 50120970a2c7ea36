import { asList, child, text, type XmlNode } from './xml.js'

/**
 * KnowledgeBase page (KNOWLEDGE_BASE_VULN_LIST_OUTPUT) -> one entry per QID.
 *
 *   parseKnowledgeBase(body): Map<qid, KbEntry>
 */

export interface KbEntry {
  qid: string
  title?: string
  severity?: number
  cves: string[]
  diagnosis?: string
  solution?: string
  cvssBase?: string
}

export function parseKnowledgeBase (body: XmlNode): Map<string, KbEntry> {
  const entries = new Map<string, KbEntry>()
  for (const vuln of asList(child(body, 'RESPONSE.VULN_LIST.VULN'))) {
    const qid = text(vuln.QID)
    if (qid === undefined) continue
    const entry: KbEntry = {
      qid,
      cves: asList(child(vuln, 'CVE_LIST.CVE')).map((cve) => text(cve.ID)).filter((id): id is string => id !== undefined)
    }
    const severity = Number(text(vuln.SEVERITY_LEVEL))
    if (Number.isInteger(severity) && severity > 0) entry.severity = severity
    const fields: Array<[keyof KbEntry, string | undefined]> = [
      ['title', text(vuln.TITLE)], ['diagnosis', text(vuln.DIAGNOSIS)], ['solution', text(vuln.SOLUTION)],
      ['cvssBase', text(child(vuln, 'CVSS.BASE'))]
    ]
    for (const [key, value] of fields) if (value !== undefined) (entry as unknown as Record<string, string>)[key] = value
    entries.set(qid, entry)
  }
  return entries
}
