import Fastify, { type FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import errorHandler from '../../src/plugins/error-handler.js'
import openapi from '../../src/plugins/swagger.js'
import type { FindingsStore } from '../../src/findings/store.js'
import { registerFindingsApi } from '../../routes/findings.js'

interface Teardown { teardown (fn: () => unknown): void }

/**
 * The findings API as the service mounts it: same ajv options as buildApp, the one error
 * handler and the OpenAPI plugin, without the parts (auth, stores) these tests do not need.
 */
export async function buildFindingsApp (t: Teardown, store: FindingsStore): Promise<FastifyInstance> {
  const app = Fastify({
    logger: false,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true } }
  }).withTypeProvider<TypeBoxTypeProvider>()
  await app.register(errorHandler)
  await app.register(openapi, { version: 'test' })
  await registerFindingsApi(app, store)
  t.teardown(() => app.close())
  await app.ready()
  return app
}
