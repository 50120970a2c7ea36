import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { coverageReport } from '../src/findings/coverage.js'
import type { FindingsStore } from '../src/findings/store.js'
import { ErrorSchema } from '../schemas/error.js'
import { COVERAGE_DEFAULT_LIMIT, CoverageQuerySchema, CoverageSchema } from '../schemas/cis.js'

export interface CisRoutesOptions {
  store: FindingsStore
}

/** CMDB coverage: lets a team fix its CMDB before the first real sync. */
const cisRoutes: FastifyPluginAsyncTypebox<CisRoutesOptions> = async (app, { store }) => {
  app.get('/cis/coverage', {
    schema: {
      tags: ['cis'],
      summary: 'How the hosts seen by Qualys matched CMDB CIs: counts per rule, ambiguous and unmatched hosts',
      operationId: 'getCiCoverage',
      querystring: CoverageQuerySchema,
      response: { 200: CoverageSchema, 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema }
    }
  }, async (request) => await coverageReport(store, { limit: request.query.limit ?? COVERAGE_DEFAULT_LIMIT }))
}

export default cisRoutes
