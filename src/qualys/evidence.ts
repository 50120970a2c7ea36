import { asList, attr, text, type XmlNode } from './xml.js'

/**
 * Renders Policy Compliance evidence readable. Posture records carry tokens (`:dp_...`
 * data points, `#fv_...` expected values, `$tp_...` technology parameters) that only mean
 * something through the response's GLOSSARY; an analyst reading a POA&M needs the names.
 *
 *   buildEvidenceGlossary(glossary): EvidenceGlossary
 *   renderEvidence(info, glossary): string | undefined
 */

export interface EvidenceGlossary {
  /** token label -> readable text */
  labels: Map<string, string>
}

function values (node: XmlNode): string[] {
  return asList(node.V).map((v) => text(v)).filter((v): v is string => v !== undefined)
}

function describeValues (vs: string[]): string {
  if (vs.length === 0) return '(none)'
  return vs.map((v) => `"${v}"`).join(' or ')
}

export function buildEvidenceGlossary (glossary: XmlNode | undefined): EvidenceGlossary {
  const labels = new Map<string, string>()
  if (glossary === undefined) return { labels }
  for (const dpd of asList((glossary.DPD_LIST as XmlNode | undefined)?.DPD)) {
    const label = text(dpd.LABEL)
    if (label !== undefined) labels.set(label, text(dpd.NAME) ?? text(dpd.DESC) ?? label)
  }
  for (const list of ['FV_LIST.FV', 'TP_LIST.TP']) {
    const [outer, inner] = list.split('.') as [string, string]
    for (const item of asList((glossary[outer] as XmlNode | undefined)?.[inner])) {
      const label = text(item.LABEL)
      if (label !== undefined) labels.set(label, describeValues(values(item)))
    }
  }
  return { labels }
}

const TOKEN = /[:#$][A-Za-z]+_[A-Za-z0-9_]+/g

function expand (expr: string, glossary: EvidenceGlossary): string {
  return expr.replace(TOKEN, (token) => glossary.labels.get(token) ?? token)
}

export function renderEvidence (info: XmlNode, glossary: EvidenceGlossary): string | undefined {
  const lines: string[] = []
  const evidence = info.EVIDENCE as XmlNode | undefined
  if (typeof evidence === 'object' && evidence !== null) {
    const expr = text(evidence.BOOLEAN_EXPR)
    if (expr !== undefined) lines.push(`Expected: ${expand(expr, glossary)}`)
    for (const dpv of asList((evidence.DPV_LIST as XmlNode | undefined)?.DPV)) {
      const label = text(dpv.LABEL) ?? attr(dpv, 'label')
      const name = label === undefined ? 'value' : glossary.labels.get(label) ?? label
      const when = attr(dpv, 'lastUpdated')
      lines.push(`Actual: ${name} = ${describeValues(values(dpv))}${when === undefined ? '' : ` (collected ${when})`}`)
    }
  }
  const cause = info.CAUSE_OF_FAILURE
  if (typeof cause === 'object' && cause !== null) {
    for (const [kind, node] of Object.entries(cause as XmlNode)) {
      if (kind.startsWith('@') || kind === '#text') continue
      for (const entry of asList(node)) {
        const logic = attr(entry, 'logic')
        lines.push(`Cause of failure: ${kind.toLowerCase()}${logic === undefined ? '' : ` (${logic})`} ${describeValues(values(entry))}`)
      }
    }
  }
  return lines.length === 0 ? undefined : lines.join('\n')
}
