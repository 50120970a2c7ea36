import { QssError } from '../errors.js'
import { asList, child, text, type XmlNode } from './xml.js'

/**
 * Qualys `SIMPLE_RETURN` bodies: errors (sometimes with HTTP 200) and their mapping to
 * stable error codes.
 *
 *   readSimpleReturn(body): SimpleReturn
 *   simpleReturnError(sr, { endpoint, httpStatus }): QssError
 *   isRetryableCode(code), isRateLimitCode(code)
 *
 * Codes: QSS_QUALYS_AUTH (bad login), QSS_QUALYS_ACCOUNT (2001 expired, 2003 registration
 * incomplete, 2011 SecureID), QSS_QUALYS_RATE_LIMIT (1965 rate, 1960/1920 concurrency),
 * QSS_QUALYS_BAD_REQUEST (other 19xx), QSS_QUALYS_UNAVAILABLE (999), QSS_QUALYS_ERROR
 * (anything else). Every one carries the Qualys CODE and TEXT.
 */

export interface SimpleReturn {
  code?: string
  text?: string
  datetime?: string
  /** ITEM_LIST/ITEM as KEY -> VALUE (e.g. SECONDS_TO_WAIT, CALLS_TO_FINISH). */
  items: Record<string, string>
}

export function readSimpleReturn (body: XmlNode): SimpleReturn {
  const response = child(body, 'RESPONSE') as XmlNode | undefined
  const items: Record<string, string> = {}
  for (const item of asList(child(response, 'ITEM_LIST.ITEM'))) {
    const key = text(item.KEY)
    if (key !== undefined) items[key] = text(item.VALUE) ?? ''
  }
  return { code: text(response?.CODE), text: text(response?.TEXT), datetime: text(response?.DATETIME), items }
}

const ACCOUNT_CODES = new Set(['2001', '2003', '2011'])
const CONCURRENCY_CODES = new Set(['1960', '1920'])

export function isRateLimitCode (code: string | undefined): boolean {
  return code === '1965' || CONCURRENCY_CODES.has(code ?? '')
}

export function isConcurrencyCode (code: string | undefined): boolean {
  return CONCURRENCY_CODES.has(code ?? '')
}

export function isRetryableCode (code: string | undefined): boolean {
  return code === '999'
}

/** Qualys answers a wrong platform URL or bad credentials with this text (and 401). */
function looksLikeBadLogin (sr: SimpleReturn): boolean {
  return /bad login|password/i.test(sr.text ?? '')
}

export function simpleReturnError (sr: SimpleReturn, where: { endpoint: string, httpStatus: number }): QssError {
  const code = sr.code ?? ''
  const summary = `Qualys ${where.endpoint} answered HTTP ${where.httpStatus} CODE ${code === '' ? '(none)' : code}: ${sr.text ?? '(no text)'}`
  const details = { endpoint: where.endpoint, httpStatus: where.httpStatus, qualysCode: sr.code, qualysText: sr.text, items: sr.items }
  if (where.httpStatus === 401 || looksLikeBadLogin(sr)) {
    return new QssError('QSS_QUALYS_AUTH', `${summary} (check QUALYS_USERNAME, QUALYS_PASSWORD and that QUALYS_BASE_URL is your platform)`, { statusCode: 502, details })
  }
  if (ACCOUNT_CODES.has(code)) return new QssError('QSS_QUALYS_ACCOUNT', summary, { statusCode: 502, details })
  if (isRateLimitCode(code)) return new QssError('QSS_QUALYS_RATE_LIMIT', summary, { statusCode: 503, details })
  if (isRetryableCode(code)) return new QssError('QSS_QUALYS_UNAVAILABLE', summary, { statusCode: 503, details })
  if (/^19\d\d$/.test(code)) return new QssError('QSS_QUALYS_BAD_REQUEST', summary, { statusCode: 502, details })
  return new QssError('QSS_QUALYS_ERROR', summary, { statusCode: 502, details })
}
