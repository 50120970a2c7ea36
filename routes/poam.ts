import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { QssError } from '../src/errors.js'
import type { SyncServices } from '../src/sync/wiring.js'
import { ErrorSchema } from '../schemas/error.js'
import { FindingParamsSchema } from '../schemas/findings.js'
import { OscalDocumentSchema, OscalQuerySchema, PoamPreviewItemSchema, PoamPreviewRequestSchema, PoamPreviewSchema } from '../schemas/poam.js'

export interface PoamRoutesOptions {
  preview: SyncServices['preview']
  exportOscal: SyncServices['exportOscal']
}

/** Previews of what the next sync would send, read against the live ServiceNow records. */
const poamRoutes: FastifyPluginAsyncTypebox<PoamRoutesOptions> = async (app, opts) => {
  const errors = { 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema, 502: ErrorSchema, 503: ErrorSchema }

  app.post('/poam/preview', {
    schema: {
      tags: ['poam'],
      summary: 'Preview the POA&M payloads and actions the next sync would send',
      description: 'Give `findingIds` or a `filter` (first 500 findings). Nothing is written.',
      operationId: 'previewPoams',
      body: PoamPreviewRequestSchema,
      response: { 200: PoamPreviewSchema, ...errors }
    }
  }, async (request) => {
    const { findingIds, filter } = request.body
    if (findingIds !== undefined && filter !== undefined) {
      throw new QssError('QSS_REQUEST_INVALID', 'Give findingIds or filter, not both', { statusCode: 400 })
    }
    const preview = await opts.preview(findingIds !== undefined ? { findingIds } : { filter: filter ?? {} })
    return preview
  })

  app.get('/poam/oscal', {
    schema: {
      tags: ['poam'],
      summary: 'Export the open weaknesses as an OSCAL 1.1.2 POA&M (JSON)',
      description: 'Built from the failing findings of the last sync, mapped as a sync maps them. Filter by policy or source to keep an export under 50,000 findings.',
      operationId: 'exportOscalPoam',
      querystring: OscalQuerySchema,
      response: { 200: OscalDocumentSchema, ...errors, 422: ErrorSchema }
    }
  }, async (request) => {
    const { systemId, ...filter } = request.query
    return await opts.exportOscal({ systemId, filter })
  })

  app.get('/findings/:id/poam', {
    schema: {
      tags: ['poam', 'findings'],
      summary: 'The POA&M payload and action the next sync would send for one finding',
      operationId: 'getFindingPoam',
      params: FindingParamsSchema,
      response: { 200: PoamPreviewItemSchema, ...errors, 409: ErrorSchema }
    }
  }, async (request) => {
    const preview = await opts.preview({ findingIds: [request.params.id] })
    const item = preview.items.find((i) => i.findingIds.includes(request.params.id))
    if (item === undefined) {
      const skipped = preview.skipped.find((s) => s.findingId === request.params.id)
      throw new QssError('QSS_POAM_NOT_MAPPED', `Finding ${request.params.id} maps to no POA&M (${skipped?.reason ?? 'not mapped'})`, { statusCode: 409 })
    }
    return item
  })
}

export default poamRoutes
