import { test } from 'tap'
import { readFileSync } from 'node:fs'
import { renderOpenApiDocument } from '../src/openapi-document.js'
import { build } from './helper.js'

test('the committed openapi/openapi.json matches what the app generates', async (t) => {
  const committed = readFileSync(new URL('../openapi/openapi.json', import.meta.url), 'utf8')
  const generated = await renderOpenApiDocument()
  t.equal(committed, generated, 'openapi/openapi.json is stale: run `npm run openapi` and commit the result')
})

test('the served document is OpenAPI 3.1 with both security schemes and an operationId on every route', async (t) => {
  const app = await build(t)
  const res = await app.inject({ url: '/openapi.json' })
  t.equal(res.statusCode, 200, 'public: no key needed')
  const doc = res.json()
  t.equal(doc.openapi, '3.1.0')
  t.ok(doc.components.securitySchemes.bearerAuth)
  t.ok(doc.components.securitySchemes.apiKeyAuth)
  const ids = new Set<string>()
  for (const [path, methods] of Object.entries<Record<string, { operationId?: string, tags?: string[], summary?: string, responses?: object }>>(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      t.ok(op.operationId, `${method} ${path} has an operationId`)
      t.notOk(ids.has(op.operationId as string), `${op.operationId} is unique`)
      ids.add(op.operationId as string)
      t.ok(op.tags?.length, `${method} ${path} has tags`)
      t.ok(op.summary, `${method} ${path} has a summary`)
      t.ok(op.responses, `${method} ${path} documents its responses`)
    }
  }
})

test('the document never carries a secret from the configuration', async (t) => {
  const app = await build(t, { API_KEYS: 'very-secret-api-key-1', SERVICENOW_PASSWORD: 'sn-secret-pw', QUALYS_PASSWORD: 'q-secret-pw' })
  const body = (await app.inject({ url: '/openapi.json' })).body
  for (const secret of ['very-secret-api-key-1', 'sn-secret-pw', 'q-secret-pw']) t.notMatch(body, secret)
})

test('Swagger UI is served at /docs without a key', async (t) => {
  const app = await build(t)
  const res = await app.inject({ url: '/docs/' })
  t.equal(res.statusCode, 200)
  t.match(res.body, /swagger-ui/i)
})
