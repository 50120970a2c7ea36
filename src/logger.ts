import type { LoggerOptions } from 'pino'

/** Field names whose values are credentials wherever they appear in a log line. */
const SECRET_KEYS = [
  'password', 'secret', 'token', 'apiKey', 'api_key', 'apikey', 'clientSecret', 'client_secret',
  'accessToken', 'access_token', 'refreshToken', 'refresh_token', 'authorization', 'cookie'
]

const HEADER_PATHS = ['authorization', 'cookie', 'set-cookie', 'x-api-key', 'x-sn-apikey', 'proxy-authorization']
  .map((h) => `req.headers["${h}"]`)

/** Secret-looking keys at the top of a log object and up to three levels down. */
const FIELD_PATHS = SECRET_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`, `*.*.*.${k}`])

export const REDACT_PATHS = [...HEADER_PATHS, ...FIELD_PATHS]

const SENSITIVE_QUERY = /([?&](?:api[_-]?key|apikey|token|access_token|password|secret|key)=)[^&#]*/gi

/** Masks credential-looking query parameters in a URL before it is logged. */
export function redactUrl (url: string): string {
  return url.replace(SENSITIVE_QUERY, '$1[REDACTED]')
}

interface LoggedRequest {
  method: string
  url: string
  headers: Record<string, unknown>
  ip?: string
  id?: string
}

/**
 * pino options for the service. Request headers are logged (they help operators trace
 * callers) with credentials censored; URLs have secret-looking query parameters masked.
 */
export function loggerOptions (level: string): LoggerOptions {
  return {
    level,
    redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
    serializers: {
      req (req: LoggedRequest) {
        return { method: req.method, url: redactUrl(req.url), headers: req.headers, remoteAddress: req.ip }
      }
    }
  }
}
