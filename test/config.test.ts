import { test } from 'tap'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConfigError, loadConfig, serviceNowAuthMode } from '../src/config.js'

test('defaults apply with a minimal environment', async (t) => {
  const c = loadConfig({ API_KEYS: 'a,b' })
  t.equal(c.PORT, 3000)
  t.equal(c.HOST, '0.0.0.0')
  t.equal(c.POAM_TABLE, 'u_poam_table')
  t.equal(c.SERVICENOW_CONCURRENCY, 4)
  t.equal(c.CI_MATCH_RULES, 'fqdn,name,ip')
})

test('every problem is listed at once, with variable names', async (t) => {
  const err = t.throws(() => loadConfig({
    PORT: 'abc', LOG_LEVEL: 'loud', POAM_PROFILE: 'x', CI_MATCH_RULES: 'fqdn,mac', QUALYS_BASE_URL: 'https://q'
  })) as ConfigError
  t.type(err, ConfigError)
  const msg = err.message
  for (const name of ['PORT', 'LOG_LEVEL', 'POAM_PROFILE', 'CI_MATCH_RULES', 'API_KEYS', 'QUALYS_USERNAME', 'QUALYS_PASSWORD']) {
    t.match(msg, name, `names ${name}`)
  }
  t.ok(err.problems.length >= 7)
})

test('refuses to start without API keys unless auth is explicitly disabled', async (t) => {
  t.throws(() => loadConfig({}), /API_KEYS: required/)
  t.equal(loadConfig({ AUTH_DISABLED: 'true' }).AUTH_DISABLED, true)
})

test('secrets accept *_FILE paths; both forms at once is an error', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'qss-cfg-'))
  const file = join(dir, 'pw')
  writeFileSync(file, 's3cret\n')
  const c = loadConfig({ API_KEYS: 'k', QUALYS_BASE_URL: 'https://q.example', QUALYS_USERNAME: 'u', QUALYS_PASSWORD_FILE: file })
  t.equal(c.QUALYS_PASSWORD, 's3cret', 'trailing newline of the mounted file is dropped')
  t.throws(() => loadConfig({ API_KEYS: 'k', QUALYS_PASSWORD: 'x', QUALYS_PASSWORD_FILE: file }), /both set/)
  const err = t.throws(() => loadConfig({ API_KEYS: 'k', SERVICENOW_API_KEY_FILE: join(dir, 'missing') })) as Error
  t.match(err.message, /SERVICENOW_API_KEY_FILE: cannot read/)
  t.notMatch(err.message, /s3cret/)
})

test('ServiceNow credentials select the auth mode', async (t) => {
  const base = { API_KEYS: 'k', SERVICENOW_URL: 'https://sn.example' }
  t.equal(serviceNowAuthMode(loadConfig({ ...base, SERVICENOW_API_KEY: 'x' })), 'apikey')
  t.equal(serviceNowAuthMode(loadConfig({ ...base, SERVICENOW_USERNAME: 'u', SERVICENOW_PASSWORD: 'p', SERVICENOW_CLIENT_ID: 'c', SERVICENOW_CLIENT_SECRET: 's' })), 'oauth')
  t.equal(serviceNowAuthMode(loadConfig({ ...base, SERVICENOW_USERNAME: 'u', SERVICENOW_PASSWORD: 'p' })), 'basic')
  t.throws(() => loadConfig(base), /no credentials/)
  t.throws(() => loadConfig({ ...base, SERVICENOW_CLIENT_ID: 'c', SERVICENOW_USERNAME: 'u', SERVICENOW_PASSWORD: 'p' }), /OAuth needs both/)
})

test('an API-only replica needs Redis', async (t) => {
  t.throws(() => loadConfig({ API_KEYS: 'k', WORKER: 'false' }), /WORKER=false needs REDIS_URL/)
})
