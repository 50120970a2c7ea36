import { test } from 'tap'
import { buildApp } from '../src/app.js'
import { authHeaders, build, captureLogs, TEST_API_KEY, testConfig } from './helper.js'

test('probes answer without a key', async (t) => {
  const app = await build(t)
  const health = await app.inject({ url: '/health' })
  t.equal(health.statusCode, 200)
  t.same(health.json(), { status: 'ok' })
  const ready = await app.inject({ url: '/ready' })
  t.equal(ready.statusCode, 200)
  t.equal(ready.json().status, 'ready')
})

test('protected routes need a valid key', async (t) => {
  const app = await build(t)
  const missing = await app.inject({ url: '/metrics' })
  t.equal(missing.statusCode, 401)
  t.same(Object.keys(missing.json()).sort(), ['code', 'error', 'message', 'statusCode'])
  t.equal(missing.json().code, 'QSS_AUTH_MISSING')
  t.match(missing.headers['www-authenticate'], /Bearer/)

  const wrong = await app.inject({ url: '/metrics', headers: { authorization: 'Bearer nope' } })
  t.equal(wrong.statusCode, 403)
  t.equal(wrong.json().code, 'QSS_AUTH_INVALID')

  const prefix = await app.inject({ url: '/metrics', headers: { 'x-api-key': TEST_API_KEY.slice(0, -1) } })
  t.equal(prefix.statusCode, 403, 'a prefix of a key is not the key')

  const bearer = await app.inject({ url: '/metrics', headers: authHeaders })
  t.equal(bearer.statusCode, 200)
  const header = await app.inject({ url: '/metrics', headers: { 'x-api-key': TEST_API_KEY } })
  t.equal(header.statusCode, 200)
})

test('several keys are accepted (rotation)', async (t) => {
  const app = await build(t, { API_KEYS: 'old-key,new-key' })
  for (const key of ['old-key', 'new-key']) {
    t.equal((await app.inject({ url: '/metrics', headers: { authorization: `Bearer ${key}` } })).statusCode, 200)
  }
})

test('AUTH_DISABLED opens every route', async (t) => {
  const app = await build(t, { API_KEYS: undefined, AUTH_DISABLED: true })
  t.equal((await app.inject({ url: '/metrics' })).statusCode, 200)
})

test('x-request-id is echoed when safe, generated otherwise', async (t) => {
  const app = await build(t)
  const echoed = await app.inject({ url: '/health', headers: { 'x-request-id': 'pipeline-42.run-7' } })
  t.equal(echoed.headers['x-request-id'], 'pipeline-42.run-7')
  const hostile = await app.inject({ url: '/health', headers: { 'x-request-id': 'a\nfake log line' } })
  t.not(hostile.headers['x-request-id'], 'a\nfake log line')
  t.match(hostile.headers['x-request-id'], /^[0-9a-f-]{36}$/)
})

test('unknown routes get the error shape', async (t) => {
  const app = await build(t)
  const res = await app.inject({ url: '/nope', headers: authHeaders })
  t.equal(res.statusCode, 404)
  t.equal(res.json().code, 'QSS_NOT_FOUND')
})

test('metrics expose request durations by route template and status', async (t) => {
  const app = await build(t)
  await app.inject({ url: '/health' })
  const res = await app.inject({ url: '/metrics', headers: authHeaders })
  t.match(res.headers['content-type'], /text\/plain/)
  t.match(res.body, /qss_http_request_duration_seconds_bucket\{[^}]*route="\/health"[^}]*status="200"/)
  t.match(res.body, /process_cpu_user_seconds_total/)
})

test('logs of a request carrying secrets show none of them', async (t) => {
  const logs = captureLogs()
  const secrets = ['sk-bearer-AAAA1111', 'sk-x-api-key-BBBB2222', 'sn-api-key-CCCC3333', 'session=DDDD4444', 'qs-token-EEEE5555']
  const app = await build(t, { LOG_LEVEL: 'info', API_KEYS: secrets[0] }, { logStream: logs.stream })
  await app.inject({
    url: `/metrics?token=${secrets[4]}`,
    headers: { authorization: `Bearer ${secrets[0]}`, 'x-api-key': secrets[1], 'x-sn-apikey': secrets[2], cookie: secrets[3] }
  })
  app.log.info({ qualys: { password: 'pw-FFFF6666' }, clientSecret: 'cs-GGGG7777', nested: { deeper: { token: 'tk-HHHH8888' } } }, 'a service log')
  const text = logs.text()
  t.match(text, /incoming request/, 'the request was logged')
  t.match(text, /\[REDACTED\]/)
  for (const secret of [...secrets, 'pw-FFFF6666', 'cs-GGGG7777', 'tk-HHHH8888']) t.notMatch(text, secret, `${secret} is not logged`)
})

test('5xx messages are hidden, 4xx kept, codes stable', async (t) => {
  const app = await buildApp(testConfig({ AUTH_DISABLED: true }))
  t.teardown(() => app.close())
  app.get('/boom', async () => { throw new Error('db password=hunter2 at 10.0.0.5') })
  app.get('/bad', { schema: { querystring: { type: 'object', properties: { n: { type: 'integer' } } } } }, async () => 'ok')
  const boom = await app.inject({ url: '/boom' })
  t.equal(boom.statusCode, 500)
  t.same(boom.json(), { statusCode: 500, code: 'QSS_INTERNAL', error: 'Internal Server Error', message: 'Internal server error' })
  const bad = await app.inject({ url: '/bad?n=abc' })
  t.equal(bad.statusCode, 400)
  t.equal(bad.json().code, 'QSS_REQUEST_INVALID')
  t.match(bad.json().message, /querystring/)
})

test('a request the schema refuses is told what to fix: the unknown field, or the accepted values', async (t) => {
  const app = await buildApp(testConfig({ AUTH_DISABLED: true }))
  t.teardown(() => app.close())
  const cases: Array<[string, string, unknown, string]> = [
    ['GET', '/findings?status=bogus', undefined, 'querystring/status must be one of: failed, passed, error'],
    ['GET', '/findings?limt=5', undefined, 'querystring has an unknown property "limt": see the schema in /docs'],
    ['POST', '/sync', { sources: ['xx'] }, 'body/sources/0 must be one of: pc, vm'],
    ['POST', '/sync', { dryrun: true }, 'body has an unknown property "dryrun": see the schema in /docs'],
    ['POST', '/sync', { policyIds: ['abc'] }, 'body/policyIds/0 must match pattern "^[0-9]{1,12}$"']
  ]
  for (const [method, url, payload, message] of cases) {
    const res = await app.inject({ method: method as 'GET' | 'POST', url, ...(payload === undefined ? {} : { payload: payload as object }) })
    t.same([res.statusCode, res.json().code, res.json().message], [400, 'QSS_REQUEST_INVALID', message], `${method} ${url} ${JSON.stringify(payload ?? '')}`)
  }
})
