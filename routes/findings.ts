import type { FastifyInstance } from 'fastify'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { QssError } from '../src/errors.js'
import type { FindingsPage, FindingsStore } from '../src/findings/store.js'
import { ErrorSchema } from '../schemas/error.js'
import { FINDINGS_DEFAULT_LIMIT, FindingParamsSchema, FindingSchema, FindingsPageSchema, FindingsQuerySchema } from '../schemas/findings.js'
import cisRoutes from './cis.js'

export interface FindingsRoutesOptions {
  store: FindingsStore
}

/** Read access to the findings store: what Qualys reported, how it matched the CMDB, which POA&M it maps to. */
const findingsRoutes: FastifyPluginAsyncTypebox<FindingsRoutesOptions> = async (app, { store }) => {
  app.get('/findings', {
    schema: {
      tags: ['findings'],
      summary: 'List findings, filtered, in id order, one page at a time',
      description: 'Filters combine with AND. Follow `nextCursor` until it is absent; a page may hold fewer than `limit` items when a sparse filter reached the per-request scan cap.',
      operationId: 'listFindings',
      querystring: FindingsQuerySchema,
      response: { 200: FindingsPageSchema, 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema }
    }
  }, async (request, reply) => {
    const { limit, cursor, ...filter } = request.query
    const body = await store.queryJson(filter, { limit: limit ?? FINDINGS_DEFAULT_LIMIT, ...(cursor !== undefined ? { cursor } : {}) })
    // JSON text with a JSON content type is sent as is: the store wrote these documents from
    // the model the schema mirrors, and parsing and re-serialising them dominated the cost.
    // The cast only tells the type provider what the text holds.
    return reply.type('application/json; charset=utf-8').send(body as unknown as FindingsPage)
  })

  app.get('/findings/:id', {
    schema: {
      tags: ['findings'],
      summary: 'Get one finding with its CI match and POA&M link',
      operationId: 'getFinding',
      params: FindingParamsSchema,
      response: { 200: FindingSchema, 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema }
    }
  }, async (request) => {
    const finding = await store.get(request.params.id)
    if (finding === undefined) {
      throw new QssError('QSS_FINDING_NOT_FOUND', `No finding with id ${request.params.id}`, { statusCode: 404 })
    }
    return finding
  })
}

export default findingsRoutes

/** Registers every route reading the findings store (findings and CI coverage). */
export async function registerFindingsApi (app: FastifyInstance, store: FindingsStore): Promise<void> {
  await app.register(findingsRoutes, { store })
  await app.register(cisRoutes, { store })
}
