/**
 * Domain errors with stable codes. Services throw these; the HTTP error handler turns
 * them into `{statusCode, code, error, message}`. Codes follow `QSS_<AREA>_<REASON>` and
 * never change once published: callers and alerting match on them.
 */
export class QssError extends Error {
  readonly code: string
  readonly statusCode: number
  readonly details: Record<string, unknown> | undefined

  constructor (code: string, message: string, options: { statusCode?: number, details?: Record<string, unknown>, cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'QssError'
    this.code = code
    this.statusCode = options.statusCode ?? 500
    this.details = options.details
  }
}

export function isQssError (value: unknown): value is QssError {
  return value instanceof QssError
}
