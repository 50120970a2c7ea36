import { readFileSync } from 'node:fs'
import envSchema from 'env-schema'
import { Type, type Static } from 'typebox'

const Bool = (def: boolean, description: string) => Type.Boolean({ default: def, description })
const Int = (def: number, min: number, max: number, description: string) =>
  Type.Integer({ default: def, minimum: min, maximum: max, description })
const Text = (description: string, extra: Record<string, unknown> = {}) => Type.String({ description, ...extra })
const Choice = <const T extends string[]>(values: readonly [...T], def: T[number], description: string) =>
  Type.Enum(values, { default: def, description })

/**
 * Every setting of the service, read from the environment. This schema is the single
 * source of truth: defaults, validation, the README's configuration table (a test
 * compares them) and the `Config` type all come from it.
 */
export const ConfigSchema = Type.Object({
  PORT: Int(3000, 0, 65535, 'HTTP port.'),
  HOST: Text('Listen address.', { default: '0.0.0.0' }),
  LOG_LEVEL: Choice(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'info', 'Log level (pino).'),
  REDIS_URL: Type.Optional(Text('Redis URL. Unset: in-memory stores and an in-process queue (one process only). Secret (`_FILE` accepted).')),
  REDIS_KEY_PREFIX: Text('Prefix of every Redis key.', { default: 'qss', pattern: '^[A-Za-z0-9_-]+$' }),
  API_KEYS: Type.Optional(Text('Comma-separated API keys accepted as `Authorization: Bearer <key>` or `X-API-Key`. Secret (`_FILE` accepted).')),
  AUTH_DISABLED: Bool(false, 'Serve without API keys (development only).'),
  SHUTDOWN_GRACE_MS: Int(25000, 0, 600000, 'Time given to in-flight requests and running syncs to finish or checkpoint on SIGTERM.'),
  REQUEST_TIMEOUT_MS: Int(120000, 1000, 3600000, 'HTTP server request timeout (covers `POST /sync?wait=`).'),
  WORKER: Bool(true, 'Run sync jobs in this process. `false` makes an API-only replica (needs REDIS_URL).'),
  JOB_LOCK_MS: Int(30000, 1000, 600000, 'With Redis: how long a worker may go silent before another worker takes its job over and resumes it.'),

  QUALYS_BASE_URL: Type.Optional(Text('Qualys API platform URL, e.g. https://qualysapi.qualys.com (per region).')),
  QUALYS_USERNAME: Type.Optional(Text('Qualys API user. `_FILE` accepted.')),
  QUALYS_PASSWORD: Type.Optional(Text('Qualys API password. Secret (`_FILE` accepted).')),
  QUALYS_POLICY_IDS: Text('Comma-separated Policy Compliance policy IDs synced by default.', { default: '', pattern: '^[0-9, ]*$' }),
  QUALYS_PAGE_SIZE: Int(1000, 1, 1000000, 'Records per Qualys page (`truncation_limit`).'),
  QUALYS_TIMEOUT_MS: Int(120000, 1000, 3600000, 'Timeout of one Qualys call.'),
  QUALYS_REQUESTED_WITH: Text('Value of the mandatory `X-Requested-With` header.', { default: 'qualys-servicenow-sync' }),
  QUALYS_VM_ENABLED: Bool(false, 'Also sync VM host detections by default.'),
  QUALYS_VM_SEVERITIES: Text('VM severities synced.', { default: '3,4,5', pattern: '^[1-5](,[1-5])*$' }),

  SERVICENOW_URL: Type.Optional(Text('ServiceNow instance URL, e.g. https://example.service-now.com.')),
  SERVICENOW_USERNAME: Type.Optional(Text('ServiceNow user (Basic auth, or OAuth password grant). `_FILE` accepted.')),
  SERVICENOW_PASSWORD: Type.Optional(Text('ServiceNow password. Secret (`_FILE` accepted).')),
  SERVICENOW_CLIENT_ID: Type.Optional(Text('OAuth client id; with a client secret selects OAuth. `_FILE` accepted.')),
  SERVICENOW_CLIENT_SECRET: Type.Optional(Text('OAuth client secret. Secret (`_FILE` accepted).')),
  SERVICENOW_API_KEY: Type.Optional(Text('API key sent as `x-sn-apikey`. Secret (`_FILE` accepted).')),
  SERVICENOW_CONCURRENCY: Int(4, 1, 32, 'Concurrent ServiceNow calls, shared by every caller (and by all replicas with Redis).'),
  SERVICENOW_TIMEOUT_MS: Int(60000, 1000, 600000, 'Timeout of one ServiceNow call.'),
  SERVICENOW_PAGE_SIZE: Int(500, 1, 10000, 'Rows per ServiceNow list page (`sysparm_limit`).'),
  SERVICENOW_BATCH_SIZE: Int(20, 1, 100, 'Most POA&M creates/updates sent together in one Batch API call when several wait (1: one Table API call each). Items still run one by one on the instance, which stops a batch at 30 s: keep SERVICENOW_TIMEOUT_MS above that.'),

  POAM_TABLE: Text('Target table of POA&M records.', { default: 'u_poam_table', pattern: '^[a-z0-9_]+$' }),
  POAM_PROFILE: Choice(['custom', 'grc'], 'custom', 'Field mapping profile: `custom` (u_poam_table) or `grc` (sn_grc_issue).'),
  POAM_FIELD_MAP_FILE: Type.Optional(Text('JSON file overriding the profile field map.')),
  POAM_GROUPING: Choice(['finding', 'control'], 'finding', 'One POA&M per finding (host x control) or per policy x control.'),
  POAM_REOPEN: Choice(['reopen', 'recreate'], 'reopen', 'On recurrence: reopen the closed record, or create a new one referencing it.'),
  POAM_UNMATCHED: Choice(['create', 'skip'], 'create', 'Whether hosts with no CMDB match still get POA&Ms.'),
  CLOSE_MAX_PER_RUN: Int(500, 0, 1000000, 'Most closures one sync may make.'),
  CLOSE_MAX_PERCENT: Int(20, 0, 100, 'Most closures one sync may make, as a percent of open records.'),
  DELTA_OVERLAP_SEC: Int(3600, 0, 604800, 'Overlap subtracted from the last checkpoint for delta syncs.'),

  CI_CLASS: Text('CMDB class queried for CIs (its subclasses included).', { default: 'cmdb_ci_server', pattern: '^[a-z0-9_]+$' }),
  CI_MATCH_RULES: Text('Ordered CI match rules: fqdn, name, ip.', { default: 'fqdn,name,ip', pattern: '^(fqdn|name|ip)(,(fqdn|name|ip))*$' }),
  CI_CACHE_TTL_SEC: Int(86400, 0, 2592000, 'CI match cache lifetime.'),
  CI_CACHE_NEGATIVE_TTL_SEC: Int(3600, 0, 2592000, 'Lifetime of a cached "no match".')
}, { additionalProperties: false })

export type Config = Static<typeof ConfigSchema>

/** Settings that also accept `<NAME>_FILE`, a path whose content is the value. */
export const FILE_SETTINGS = [
  'REDIS_URL', 'API_KEYS', 'QUALYS_USERNAME', 'QUALYS_PASSWORD', 'SERVICENOW_USERNAME',
  'SERVICENOW_PASSWORD', 'SERVICENOW_CLIENT_ID', 'SERVICENOW_CLIENT_SECRET', 'SERVICENOW_API_KEY'
] as const

/** Settings whose values never appear in logs, errors or API output. */
export const SECRET_SETTINGS = [
  'REDIS_URL', 'API_KEYS', 'QUALYS_PASSWORD', 'SERVICENOW_PASSWORD', 'SERVICENOW_CLIENT_SECRET', 'SERVICENOW_API_KEY'
] as const

export class ConfigError extends Error {
  readonly problems: string[]
  constructor (problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`)
    this.name = 'ConfigError'
    this.problems = problems
  }
}

type Env = Record<string, string | undefined>

/** Splits a comma-separated setting, trimming and dropping empty entries. */
export function listSetting (value: string | undefined): string[] {
  return (value ?? '').split(',').map((s) => s.trim()).filter((s) => s.length > 0)
}

/**
 * Reads and validates the configuration. Every problem is collected so that one failed
 * start tells the operator everything to fix, not one variable per restart.
 */
export function loadConfig (env: Env = process.env): Config {
  const problems: string[] = []
  const input: Env = {}
  for (const key of Object.keys(ConfigSchema.properties)) {
    if (env[key] !== undefined && env[key] !== '') input[key] = env[key]
  }
  for (const key of FILE_SETTINGS) {
    const path = env[`${key}_FILE`]
    if (path === undefined || path === '') continue
    if (input[key] !== undefined) {
      problems.push(`${key} and ${key}_FILE are both set: keep one`)
      continue
    }
    try {
      input[key] = readFileSync(path, 'utf8').replace(/\r?\n$/, '')
    } catch (err) {
      problems.push(`${key}_FILE: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`)
    }
  }

  let config: Config | undefined
  try {
    config = envSchema<Config>({
      schema: ConfigSchema,
      data: input,
      dotenv: false
    })
  } catch (err) {
    problems.push(...describeSchemaErrors(err))
  }
  // Cross-field rules run even when the schema failed, so one start lists every problem.
  problems.push(...crossFieldProblems(config ?? looselyTyped(input)))
  if (problems.length > 0 || config === undefined) throw new ConfigError(problems)
  return config
}

interface AjvIssue { instancePath?: string, message?: string, params?: Record<string, unknown>, keyword?: string }

function describeSchemaErrors (err: unknown): string[] {
  const issues = (err as { errors?: AjvIssue[] }).errors
  if (!Array.isArray(issues)) return [String((err as Error).message)]
  const seen = new Set<string>()
  const out: string[] = []
  for (const issue of issues) {
    const name = (issue.instancePath ?? '').replace(/^\//, '') || String(issue.params?.additionalProperty ?? 'environment')
    if (seen.has(name)) continue
    seen.add(name)
    const schema = (ConfigSchema.properties as Record<string, { enum?: string[] }>)[name]
    const allowed = schema?.enum?.join(', ')
    out.push(allowed !== undefined ? `${name}: must be one of ${allowed}` : `${name}: ${issue.message ?? 'invalid'}`)
  }
  return out
}

function looselyTyped (input: Env): Config {
  const flag = (v: string | undefined) => v === 'true' || v === '1'
  return { ...input, AUTH_DISABLED: flag(input.AUTH_DISABLED), WORKER: input.WORKER === undefined || flag(input.WORKER) } as unknown as Config
}

function crossFieldProblems (c: Config): string[] {
  const problems: string[] = []
  if (listSetting(c.API_KEYS).length === 0 && !c.AUTH_DISABLED) {
    problems.push('API_KEYS: required (comma-separated keys), or set AUTH_DISABLED=true to serve without authentication')
  }
  if (!c.WORKER && c.REDIS_URL === undefined) {
    problems.push('WORKER=false needs REDIS_URL: without Redis no other process can run the jobs')
  }
  if (c.QUALYS_BASE_URL !== undefined) {
    if (c.QUALYS_USERNAME === undefined) problems.push('QUALYS_USERNAME: required when QUALYS_BASE_URL is set')
    if (c.QUALYS_PASSWORD === undefined) problems.push('QUALYS_PASSWORD: required when QUALYS_BASE_URL is set')
    if (!/^https?:\/\//.test(c.QUALYS_BASE_URL)) problems.push('QUALYS_BASE_URL: must be an http(s) URL')
  }
  if (c.SERVICENOW_URL !== undefined) {
    if (!/^https?:\/\//.test(c.SERVICENOW_URL)) problems.push('SERVICENOW_URL: must be an http(s) URL')
    const hasOauth = c.SERVICENOW_CLIENT_ID !== undefined || c.SERVICENOW_CLIENT_SECRET !== undefined
    if (hasOauth && (c.SERVICENOW_CLIENT_ID === undefined || c.SERVICENOW_CLIENT_SECRET === undefined)) {
      problems.push('SERVICENOW_CLIENT_ID and SERVICENOW_CLIENT_SECRET: OAuth needs both')
    }
    const hasBasic = c.SERVICENOW_USERNAME !== undefined && c.SERVICENOW_PASSWORD !== undefined
    if (c.SERVICENOW_API_KEY === undefined && !hasBasic && !hasOauth) {
      problems.push('SERVICENOW_URL is set but no credentials are: set SERVICENOW_API_KEY, or SERVICENOW_USERNAME and SERVICENOW_PASSWORD (with SERVICENOW_CLIENT_ID/SECRET for OAuth)')
    }
    if (c.SERVICENOW_USERNAME !== undefined && c.SERVICENOW_PASSWORD === undefined && c.SERVICENOW_API_KEY === undefined) {
      problems.push('SERVICENOW_PASSWORD: required with SERVICENOW_USERNAME')
    }
  }
  return problems
}

/** The ServiceNow auth mode the credentials select, most specific first. */
export function serviceNowAuthMode (c: Config): 'apikey' | 'oauth' | 'basic' {
  if (c.SERVICENOW_API_KEY !== undefined) return 'apikey'
  if (c.SERVICENOW_CLIENT_ID !== undefined && c.SERVICENOW_CLIENT_SECRET !== undefined) return 'oauth'
  return 'basic'
}
