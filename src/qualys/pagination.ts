import { QssError } from '../errors.js'
import { child, text, type XmlNode } from './xml.js'

/**
 * Qualys truncation warnings (`WARNING` 1980 + `URL`) and the rule for following them.
 *
 *   readWarning(body): { code?, text?, url? } | undefined
 *   nextPageRequest(url, baseUrl): { path, params }   // throws QSS_QUALYS_UNSAFE_URL
 *
 * The URL is sent our credentials, so it is followed only on the configured platform's
 * origin and under /api/. Its query becomes a form body: the next call stays a POST and
 * never meets a 414.
 */

export interface PageRequest { path: string, params: URLSearchParams }

export function readWarning (body: XmlNode): { code?: string, text?: string, url?: string } | undefined {
  const warning = child(body, 'RESPONSE.WARNING')
  if (warning === undefined) return undefined
  const node = warning as XmlNode
  return { code: text(node.CODE), text: text(node.TEXT), url: text(node.URL) }
}

function unsafe (reason: string, host: string | undefined): QssError {
  return new QssError('QSS_QUALYS_UNSAFE_URL', `Qualys pagination URL refused: ${reason}${host === undefined ? '' : ` (host ${host})`}; credentials are only sent to the configured QUALYS_BASE_URL`, { statusCode: 502, details: { host } })
}

export function nextPageRequest (url: string, baseUrl: string): PageRequest {
  let next: URL
  try {
    next = new URL(url)
  } catch {
    throw unsafe('not an absolute URL', undefined)
  }
  const base = new URL(baseUrl)
  if (next.origin !== base.origin) throw unsafe('another origin than the configured platform', next.host)
  if (next.username !== '' || next.password !== '') throw unsafe('URL carries credentials', next.host)
  if (!next.pathname.startsWith('/api/')) throw unsafe('not an API path', next.host)
  return { path: next.pathname, params: new URLSearchParams(next.search) }
}
