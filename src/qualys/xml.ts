import { XMLParser } from 'fast-xml-parser'
import { QssError } from '../errors.js'

/**
 * The one configured XML parser for Qualys responses.
 *
 *   parseQualysXml(text, where): ParsedXml   // { root, body, invalidCharsStripped }
 *   asList(value), text(value), attr(value, name)  // accessors for the parsed tree
 *
 * Settings and why:
 * - every element whose parent is a `*_LIST` (plus `V` and `DPV`) is always an array:
 *   Qualys sends one-item lists as a single element and omits empty lists;
 * - values stay strings (10-digit IDs, junk in QID fields, leading zeros);
 * - attributes are kept (`QDS@severity`, `DPV@lastUpdated`, `MISSING@logic`);
 * - comments (keep-alive ones inside RESPONSE too) and the DOCTYPE are dropped: the
 *   DOCTYPE is cut before parsing, so no external DTD is fetched and no internal entity
 *   is ever expanded;
 * - CDATA content is taken verbatim: `doesn&apos;t` inside CDATA stays as written, and
 *   entities outside CDATA are decoded exactly once;
 * - characters XML 1.0 forbids are stripped first and counted, since some subscriptions
 *   carry them in free text;
 * - a body that does not end with its root's closing tag (a connection cut mid-page) is
 *   an error, never a silently shorter page;
 * - every closing tag must match the element it closes: the parser itself would close the
 *   current element whatever the name, and a corrupted page would be read as a wrong one.
 */

export interface XmlLocation {
  /** Qualys endpoint path, e.g. /api/2.0/fo/compliance/posture/info/. */
  endpoint: string
  /** 1-based page number of the pagination sequence. */
  page: number
}

export interface ParsedXml {
  /** Name of the root element, e.g. POSTURE_INFO_LIST_OUTPUT or SIMPLE_RETURN. */
  root: string
  /** The root element's content. */
  body: XmlNode
  invalidCharsStripped: number
}

export type XmlNode = Record<string, unknown>

const ALWAYS_LIST = new Set(['V', 'DPV'])

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  commentPropName: false,
  processEntities: true,
  htmlEntities: false,
  isArray: (name: string, jPath: unknown) => {
    if (ALWAYS_LIST.has(name)) return true
    if (typeof jPath !== 'string') return false
    const parts = jPath.split('.')
    const parent = parts[parts.length - 2]
    return parent !== undefined && parent.endsWith('_LIST')
  }
})

// XML 1.0 Char production, complemented. With the `u` flag lone surrogates match too.
const INVALID_XML_CHARS = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu

/** Removes characters XML 1.0 forbids; returns the clean text and how many were removed. */
export function stripInvalidXmlChars (input: string): { text: string, stripped: number } {
  INVALID_XML_CHARS.lastIndex = 0
  if (!INVALID_XML_CHARS.test(input)) return { text: input, stripped: 0 }
  let stripped = 0
  const text = input.replace(INVALID_XML_CHARS, () => { stripped++; return '' })
  return { text, stripped }
}

// The DOCTYPE sits before the root element, so only the head of the body is searched.
const DOCTYPE = /<!DOCTYPE[^[>]*(\[[\s\S]*?\])?\s*>/i
const HEAD_LENGTH = 64 * 1024

function withoutDoctype (input: string): string {
  const head = input.slice(0, HEAD_LENGTH)
  const match = DOCTYPE.exec(head)
  if (match === null) return input
  return input.slice(0, match.index) + ' '.repeat(match[0].length) + input.slice(match.index + match[0].length)
}

function closesRoot (input: string, root: string): boolean {
  let end = input.length
  // Walk back over trailing whitespace and comments without copying the body.
  for (;;) {
    while (end > 0 && /\s/.test(input[end - 1] as string)) end--
    if (input.endsWith('-->', end)) {
      const start = input.lastIndexOf('<!--', end - 3)
      if (start < 0) return false
      end = start
      continue
    }
    break
  }
  const tail = input.slice(Math.max(0, end - root.length - 8), end)
  return new RegExp(`</${root}\\s*>$`).test(tail) || new RegExp(`<${root}[^>]*/>$`).test(tail)
}

// Comments, CDATA and processing instructions are skipped whole; a tag's quoted attribute
// values may hold '>' (XML allows it unescaped).
const MARKUP = /<!--[\s\S]*?-->|<!\[CDATA\[[\s\S]*?\]\]>|<\?[\s\S]*?\?>|<(\/?)([A-Za-z_:][\w:.-]*)(?:\s+[^\s=>/]+\s*=\s*(?:"[^"]*"|'[^']*'))*\s*(\/?)>/g

/** The first closing tag that does not close the open element, or an element left open. */
export function unbalancedTag (input: string): string | undefined {
  const open: string[] = []
  MARKUP.lastIndex = 0
  for (let m = MARKUP.exec(input); m !== null; m = MARKUP.exec(input)) {
    const name = m[2]
    if (name === undefined || m[3] === '/') continue
    if (m[1] !== '/') {
      open.push(name)
      continue
    }
    const expected = open.pop()
    if (expected !== name) return expected === undefined ? `</${name}> closes nothing` : `</${name}> where </${expected}> was expected`
  }
  const left = open.pop()
  return left === undefined ? undefined : `<${left}> is never closed`
}

function xmlError (where: XmlLocation, reason: string): QssError {
  return new QssError('QSS_QUALYS_XML', `Qualys returned malformed XML from ${where.endpoint} (page ${where.page}): ${reason}`, {
    statusCode: 502,
    details: { endpoint: where.endpoint, page: where.page }
  })
}

/** Parses one Qualys response body. Throws QSS_QUALYS_XML when it is not one complete XML document. */
export function parseQualysXml (input: string, where: XmlLocation): ParsedXml {
  const { text, stripped } = stripInvalidXmlChars(input)
  const clean = withoutDoctype(text)
  let doc: XmlNode
  try {
    doc = parser.parse(clean) as XmlNode
  } catch (err) {
    throw xmlError(where, (err as Error).message)
  }
  const roots = Object.keys(doc).filter((k) => !k.startsWith('@'))
  if (roots.length !== 1) throw xmlError(where, roots.length === 0 ? 'no root element (empty or not XML)' : `several root elements (${roots.slice(0, 3).join(', ')})`)
  const root = roots[0] as string
  if (!closesRoot(clean, root)) throw xmlError(where, `body ends before </${root}> (truncated)`)
  const unbalanced = unbalancedTag(clean)
  if (unbalanced !== undefined) throw xmlError(where, unbalanced)
  const value = doc[root]
  const body = typeof value === 'object' && value !== null ? value as XmlNode : {}
  return { root, body, invalidCharsStripped: stripped }
}

/** The items of a list element: always an array, empty when the element is absent. */
export function asList (value: unknown): XmlNode[] {
  if (value === undefined || value === null || value === '') return []
  const items = Array.isArray(value) ? value : [value]
  return items.map((item) => typeof item === 'object' && item !== null ? item as XmlNode : { '#text': String(item) })
}

/** Text of an element (or of an element with attributes), trimmed; undefined when absent or empty. */
export function text (value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined
  if (Array.isArray(value)) return text(value[0])
  if (typeof value === 'object') return text((value as XmlNode)['#text'])
  const s = String(value).trim()
  return s === '' ? undefined : s
}

/** An attribute of an element, when it has one. */
export function attr (value: unknown, name: string): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined
  return text((value as XmlNode)[`@${name}`])
}

/** A child element by path (`RESPONSE.DATETIME`), without creating anything. */
export function child (node: XmlNode | undefined, path: string): unknown {
  let current: unknown = node
  for (const key of path.split('.')) {
    if (typeof current !== 'object' || current === null) return undefined
    current = Array.isArray(current) ? (current[0] as XmlNode | undefined)?.[key] : (current as XmlNode)[key]
  }
  return current
}
