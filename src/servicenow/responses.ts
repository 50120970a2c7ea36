import type { IncomingHttpHeaders } from 'node:http'
import { QssError } from '../errors.js'

/**
 * Reading ServiceNow replies: the `{"error": {message, detail}, "status": "failure"}`
 * envelope whatever the HTTP status (it has been seen with 200), `Retry-After`, the
 * `Link` header, and the mapping of failures to stable QssError codes.
 */

export type ServiceNowRecord = Record<string, string>

export interface SnErrorInfo { message: string, detail?: string }

export function parseBody (text: string): unknown {
  if (text === '') return undefined
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

export function errorEnvelope (body: unknown): SnErrorInfo | undefined {
  if (body === null || typeof body !== 'object') return undefined
  const error = (body as { error?: unknown }).error
  if ((body as { status?: unknown }).status !== 'failure' && error === undefined) return undefined
  if (error === null || typeof error !== 'object') return { message: typeof error === 'string' ? error : 'failure' }
  const { message, detail } = error as { message?: unknown, detail?: unknown }
  return {
    message: typeof message === 'string' ? message : 'failure',
    ...(typeof detail === 'string' && detail !== '' ? { detail } : {})
  }
}

/** Flattens a record to strings; reference fields may still arrive as `{link, value}`. */
export function toRecord (value: unknown): ServiceNowRecord {
  const out: ServiceNowRecord = {}
  if (value === null || typeof value !== 'object') return out
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (v === null || v === undefined) out[k] = ''
    else if (typeof v === 'object') out[k] = String((v as { value?: unknown }).value ?? '')
    else out[k] = String(v)
  }
  return out
}

/** Milliseconds a 429 asks us to wait, or undefined without a usable `Retry-After`. */
export function retryAfterMs (headers: IncomingHttpHeaders, now = Date.now()): number | undefined {
  const raw = headers['retry-after']
  if (typeof raw !== 'string' || raw.trim() === '') return undefined
  const seconds = Number(raw)
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000
  const date = Date.parse(raw)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}

/** `rel` → URL from a `Link` header (`<url>;rel="next",<url>;rel="last"`). */
export function parseLinkHeader (header: string | undefined): Map<string, string> {
  const links = new Map<string, string>()
  for (const m of (header ?? '').matchAll(/<([^>]*)>\s*;\s*rel="?([a-z]+)"?/g)) {
    if (m[1] !== undefined && m[2] !== undefined) links.set(m[2], m[1])
  }
  return links
}

export function snMessage (info: SnErrorInfo | undefined): string {
  if (info === undefined) return 'no error message'
  return info.detail === undefined ? info.message : `${info.message} (${info.detail})`
}

/** A ServiceNow refusal as a QssError; `what` names the call (`create u_poam_table`). */
export function failure (status: number, info: SnErrorInfo | undefined, what: string): QssError {
  const message = `ServiceNow ${what}: HTTP ${status}: ${snMessage(info)}`
  const details = { status, ...(info !== undefined ? { serviceNowMessage: info.message } : {}) }
  if (status === 401) return new QssError('QSS_SERVICENOW_AUTH', `${message}. Check the ServiceNow credentials`, { statusCode: 502, details })
  if (status === 403) return new QssError('QSS_SERVICENOW_FORBIDDEN', `${message}. The integration user lacks a role or an ACL refuses the record`, { statusCode: 502, details })
  if (status === 404) return new QssError('QSS_SERVICENOW_NOT_FOUND', message, { statusCode: 404, details })
  if (status === 429) return new QssError('QSS_SERVICENOW_RATE_LIMIT', message, { statusCode: 503, details })
  if (status >= 500) return new QssError('QSS_SERVICENOW_UNAVAILABLE', message, { statusCode: 502, details })
  return new QssError('QSS_SERVICENOW_BAD_REQUEST', message, { statusCode: 502, details })
}
