import got, { type Got, type Response } from 'got'
import { QssError } from '../errors.js'
import type { Metrics } from '../metrics.js'
import type { LimitGovernor } from './governor.js'
import { isRateLimitCode, isRetryableCode, readSimpleReturn, simpleReturnError } from './simple-return.js'
import { parseQualysXml, type ParsedXml } from './xml.js'

/**
 * One Qualys FO call, done right: form POST through one got instance (Basic auth,
 * X-Requested-With, explicit timeout, no redirects, no got retries), paced by the limit
 * governor, retried with back-off on 5xx, network errors and 999, waiting on 409, and
 * checked for SIMPLE_RETURN whatever the HTTP status.
 *
 *   const transport = createTransport(options)
 *   await transport.call({ path, params, operation, page }): ParsedXml
 *
 * Errors never carry the Authorization header, the password or got's request options.
 */

export interface TransportOptions {
  baseUrl: string
  username: string
  password: string
  requestedWith: string
  timeoutMs: number
  governor: LimitGovernor
  metrics?: Metrics
  log?: { debug: (obj: object, msg?: string) => void, warn: (obj: object, msg?: string) => void }
  /** Retries after 5xx / network errors / 999 (default 3). */
  retries?: number
  /** First back-off step (default 1000 ms), doubled per retry. */
  retryBaseMs?: number
  /** 409s tolerated for one call before giving up (default 10). */
  max409?: number
}

export interface CallRequest { path: string, params: URLSearchParams, operation: string, page: number }

const RETRYABLE_NETWORK = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNABORTED', 'EHOSTUNREACH', 'ENETUNREACH', 'ERR_GOT_REQUEST_ERROR'])

export function createTransport (options: TransportOptions) {
  const http: Got = got.extend({
    prefixUrl: '',
    headers: {
      authorization: `Basic ${Buffer.from(`${options.username}:${options.password}`).toString('base64')}`,
      'x-requested-with': options.requestedWith,
      accept: 'text/xml, application/xml'
    },
    timeout: { request: options.timeoutMs },
    retry: { limit: 0 },
    throwHttpErrors: false,
    followRedirect: false,
    responseType: 'text'
  })
  const retries = options.retries ?? 3
  const retryBaseMs = options.retryBaseMs ?? 1000
  const max409 = options.max409 ?? 10
  const counters = { calls: 0, rejected409: 0, retries: 0 }
  const origin = new URL(options.baseUrl).origin

  const backoff = async (path: string, attempt: number) => {
    counters.retries++
    const ms = Math.round(retryBaseMs * 2 ** attempt * (0.75 + Math.random() / 2))
    await options.governor.wait(path, 'retry', ms)
  }

  async function send (req: CallRequest): Promise<Response<string>> {
    const permit = await options.governor.acquire(req.path)
    try {
      counters.calls++
      const response = await http.post(`${origin}${req.path}`, { body: req.params.toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } })
      await permit.observe(response.headers)
      options.metrics?.upstreamCalls.inc({ target: 'qualys', operation: req.operation, status: String(response.statusCode) })
      return response
    } finally {
      await permit.release()
    }
  }

  function networkError (err: unknown, req: CallRequest, final: boolean): { retry: boolean, error: QssError } {
    const code = (err as { code?: string }).code ?? 'ERROR'
    const timedOut = (err as { name?: string }).name === 'TimeoutError' || code === 'ETIMEDOUT'
    options.metrics?.upstreamCalls.inc({ target: 'qualys', operation: req.operation, status: timedOut ? 'timeout' : 'network' })
    const error = timedOut
      ? new QssError('QSS_QUALYS_TIMEOUT', `Qualys ${req.path} (page ${req.page}) did not answer within ${options.timeoutMs} ms${final ? ' after retries' : ''}`, { statusCode: 504, details: { endpoint: req.path, page: req.page } })
      : new QssError('QSS_QUALYS_UNAVAILABLE', `Qualys ${req.path} (page ${req.page}) unreachable: ${code}`, { statusCode: 503, details: { endpoint: req.path, page: req.page, networkCode: code } })
    return { retry: timedOut || RETRYABLE_NETWORK.has(code) || code.startsWith('E'), error }
  }

  async function call (req: CallRequest): Promise<ParsedXml> {
    let attempt = 0
    let rejections = 0
    for (;;) {
      let response: Response<string>
      try {
        response = await send(req)
      } catch (err) {
        if (err instanceof QssError) throw err
        const { retry, error } = networkError(err, req, attempt >= retries)
        if (!retry || attempt >= retries) throw error
        options.log?.warn({ endpoint: req.path, page: req.page, attempt, code: error.code }, 'qualys call failed, retrying')
        await backoff(req.path, attempt++)
        continue
      }
      const status = response.statusCode
      const where = { endpoint: req.path, page: req.page }
      const looksXml = /^\s*(<\?xml|<!--|<!DOCTYPE\s+[A-Z_]+|<[A-Z_]+[\s>])/.test(response.body.slice(0, 512))
      let parsed: ParsedXml | undefined
      if (looksXml || status === 200) parsed = parseQualysXml(response.body, where)
      const sr = parsed?.root === 'SIMPLE_RETURN' ? readSimpleReturn(parsed.body) : undefined
      if (status === 409 || isRateLimitCode(sr?.code)) {
        counters.rejected409++
        if (++rejections > max409) throw simpleReturnError(sr ?? { items: {} }, { endpoint: req.path, httpStatus: status })
        const secondsToWait = Number(sr?.items.SECONDS_TO_WAIT ?? response.headers['x-ratelimit-towait-sec'] ?? 0)
        options.log?.warn({ endpoint: req.path, page: req.page, code: sr?.code, secondsToWait }, 'qualys limit reached')
        await options.governor.after409(req.path, { code: sr?.code, secondsToWait }, rejections)
        continue
      }
      if (status >= 500 || isRetryableCode(sr?.code)) {
        if (attempt < retries) {
          options.log?.warn({ endpoint: req.path, page: req.page, attempt, status }, 'qualys server error, retrying')
          await backoff(req.path, attempt++)
          continue
        }
        const text = sr === undefined ? '' : ` CODE ${sr.code ?? ''}: ${sr.text ?? ''}`
        throw new QssError('QSS_QUALYS_UNAVAILABLE', `Qualys ${req.path} (page ${req.page}) answered HTTP ${status}${text} after ${retries} retries`, { statusCode: 503, details: { endpoint: req.path, page: req.page, httpStatus: status, qualysCode: sr?.code } })
      }
      if (sr !== undefined) throw simpleReturnError(sr, { endpoint: req.path, httpStatus: status })
      if (status === 401) throw simpleReturnError({ items: {}, text: 'Bad Login/Password' }, { endpoint: req.path, httpStatus: status })
      if (status !== 200 || parsed === undefined) {
        throw new QssError(status >= 400 && status < 500 ? 'QSS_QUALYS_BAD_REQUEST' : 'QSS_QUALYS_ERROR', `Qualys ${req.path} (page ${req.page}) answered HTTP ${status} without a Qualys XML body`, { statusCode: 502, details: { endpoint: req.path, page: req.page, httpStatus: status } })
      }
      options.log?.debug({ endpoint: req.path, page: req.page, status, invalidCharsStripped: parsed.invalidCharsStripped }, 'qualys page')
      return parsed
    }
  }

  return { call, counters }
}

export type QualysTransport = ReturnType<typeof createTransport>
