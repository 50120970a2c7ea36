import fp from 'fastify-plugin'
import type { FastifyError, FastifyInstance } from 'fastify'
import { isQssError } from '../errors.js'

/** The one error body every failing request gets. */
export interface ErrorBody {
  statusCode: number
  code: string
  error: string
  message: string
  details?: Record<string, unknown>
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Entity',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout'
}

export function errorBody (statusCode: number, code: string, message: string, details?: Record<string, unknown>): ErrorBody {
  const body: ErrorBody = { statusCode, code, error: STATUS_TEXT[statusCode] ?? 'Error', message }
  if (details !== undefined) body.details = details
  return body
}

interface ValidationIssue { keyword?: string, instancePath?: string, message?: string, params?: Record<string, unknown> }

const shown = (value: unknown) => JSON.stringify(String(value).slice(0, 60))

/**
 * A schema failure as a sentence that says what to fix: the part of the request, the
 * field, and for the two mistakes people make most (a misspelt or unsupported field, a
 * value outside a list) the offending name or the accepted values.
 */
function validationMessage (err: FastifyError): string {
  const where = `${err.validationContext ?? 'request'}`
  const issues = (err.validation ?? []) as ValidationIssue[]
  const issue = issues[0]
  if (issue === undefined) return err.message
  const path = issue.instancePath ?? ''
  if (issue.keyword === 'additionalProperties' && issue.params?.additionalProperty !== undefined) {
    return `${where}${path} has an unknown property ${shown(issue.params.additionalProperty)}: see the schema in /docs`
  }
  // A list of literals fails as one `const` error per literal (then `anyOf`): name them all.
  const allowed = issue.keyword === 'enum' && Array.isArray(issue.params?.allowedValues)
    ? issue.params.allowedValues
    : issues.filter((i) => i.keyword === 'const' && (i.instancePath ?? '') === path).map((i) => i.params?.allowedValue)
  if (allowed.length > 0) return `${where}${path} must be one of: ${allowed.map(String).join(', ')}`
  return `${where}${path} ${issue.message ?? err.message}`
}

/**
 * One error handler for the whole app. Client errors keep their message (it tells the
 * caller what to fix); 5xx messages are logged and replaced, since they may carry
 * upstream text, hostnames or worse. Fastify's own codes (FST_*) are mapped to QSS_ ones
 * so callers match on one family.
 */
async function errorHandler (app: FastifyInstance) {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    let status = err.statusCode ?? 500
    let code: string
    let message = err.message
    let details: Record<string, unknown> | undefined
    if (isQssError(err)) {
      status = err.statusCode
      code = err.code
      details = err.details
    } else if (err.validation !== undefined) {
      status = 400
      code = 'QSS_REQUEST_INVALID'
      message = validationMessage(err)
    } else if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      code = 'QSS_REQUEST_MEDIA_TYPE'
    } else if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      code = 'QSS_REQUEST_TOO_LARGE'
    } else if (status < 500) {
      code = 'QSS_REQUEST_INVALID'
    } else {
      code = 'QSS_INTERNAL'
    }
    if (status >= 500) {
      request.log.error({ err }, 'request failed')
      if (!isQssError(err)) message = 'Internal server error'
    } else {
      request.log.info({ code, statusCode: status }, message)
    }
    if (status === 429 || status === 503) {
      const retryAfter = details?.retryAfterSec
      if (typeof retryAfter === 'number') reply.header('retry-after', String(Math.ceil(retryAfter)))
    }
    return reply.code(status).send(errorBody(status, code, message, details))
  })

  app.setNotFoundHandler((request, reply) => {
    return reply.code(404).send(errorBody(404, 'QSS_NOT_FOUND', `Route ${request.method} ${request.url.split('?')[0]} not found`))
  })
}

export default fp(errorHandler, { name: 'qss-error-handler', fastify: '5.x' })
