import { test } from 'tap'
import { readFileSync, readdirSync, statSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { join, relative } from 'node:path'
import { parse } from 'yaml'
import { ConfigSchema, FILE_SETTINGS, SECRET_SETTINGS, loadConfig } from '../../src/config.js'
import { firstAction, hasPath, parseSkeleton, valuesReferences } from './template-scan.js'

const root = fileURLToPath(new URL('../../', import.meta.url))
const chartDir = join(root, 'helm/qualys-servicenow-sync')
const templatesDir = join(chartDir, 'templates')

const read = (path: string) => readFileSync(path, 'utf8')
const chart = parse(read(join(chartDir, 'Chart.yaml'))) as Record<string, unknown>
const values = parse(read(join(chartDir, 'values.yaml'))) as Record<string, any>
const pkg = JSON.parse(read(join(root, 'package.json'))) as { name: string, version: string }
const schemaProps = ConfigSchema.properties as Record<string, { default?: unknown }>

function walk (dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? walk(path) : [path]
  })
}
const templates = walk(templatesDir).map((path) => ({ name: relative(templatesDir, path), text: read(path) }))
const template = (name: string) => templates.find((t) => t.name === name)?.text ?? ''

const MANIFESTS: Record<string, { kind: string, apiVersion: string, toggle?: RegExp }> = {
  'deployment.yaml': { kind: 'Deployment', apiVersion: 'apps/v1' },
  'service.yaml': { kind: 'Service', apiVersion: 'v1' },
  'configmap.yaml': { kind: 'ConfigMap', apiVersion: 'v1' },
  'secret.yaml': { kind: 'Secret', apiVersion: 'v1', toggle: /^if not \.Values\.existingSecret$/ },
  'serviceaccount.yaml': { kind: 'ServiceAccount', apiVersion: 'v1', toggle: /^if \.Values\.serviceAccount\.create$/ },
  'hpa.yaml': { kind: 'HorizontalPodAutoscaler', apiVersion: 'autoscaling/v2', toggle: /^if \.Values\.autoscaling\.enabled$/ },
  'pdb.yaml': { kind: 'PodDisruptionBudget', apiVersion: 'policy/v1', toggle: /^if \.Values\.podDisruptionBudget\.enabled$/ },
  'cronjob.yaml': { kind: 'CronJob', apiVersion: 'batch/v1', toggle: /^if \.Values\.scheduledSync\.enabled$/ },
  'tests/test-connection.yaml': { kind: 'Pod', apiVersion: 'v1' }
}

test('Chart.yaml describes an application chart of this service', async (t) => {
  t.equal(chart.apiVersion, 'v2')
  t.equal(chart.name, pkg.name, 'chart name is the package name (and the directory name)')
  t.equal(chart.type, 'application')
  t.match(String(chart.version), /^\d+\.\d+\.\d+/, 'chart version is semver')
  t.equal(String(chart.appVersion), pkg.version, 'appVersion (the default image tag) follows package.json')
})

test('the chart has the helm create layout', async (t) => {
  const names = templates.map((x) => x.name).sort()
  for (const name of [...Object.keys(MANIFESTS), '_helpers.tpl', 'NOTES.txt']) {
    t.ok(names.includes(name), `templates/${name} exists`)
  }
})

test('every .Values path a template uses exists in values.yaml', async (t) => {
  let count = 0
  for (const { name, text } of templates) {
    for (const ref of valuesReferences(text)) {
      count++
      t.ok(hasPath(values, ref.path), `${name}:${ref.line} .Values.${ref.path.join('.')}`)
    }
  }
  t.ok(count > 50, `found ${count} references (the scanner sees the templates)`)
})

test('every top-level value is used by some template', async (t) => {
  const used = new Set(templates.flatMap(({ text }) => valuesReferences(text).map((r) => r.path[0])))
  for (const key of Object.keys(values)) t.ok(used.has(key), `.Values.${key} is used`)
})

test('the value scanner follows with-blocks and ignores range elements', async (t) => {
  const refs = valuesReferences([
    '{{- with .Values.a.b }}{{ .c.d }}{{ $.Values.e }}{{ else }}{{ .Values.f }}{{ end }}',
    '{{- range $k, $v := .Values.g }}{{ .h }}{{ end }}',
    '{{ include "x" (dict "root" .) | nindent 4 }}{{ printf "%s.y" .Values.i.j }}{{ $z.Values }}'
  ].join('\n')).map((r) => r.path.join('.'))
  t.same(refs, ['a.b', 'a.b.c.d', 'e', 'f', 'g', 'i.j'])
})

test('each manifest template has a sane skeleton with the expected kind and toggle', async (t) => {
  for (const [name, expected] of Object.entries(MANIFESTS)) {
    const text = template(name)
    let docs: Array<Record<string, unknown>> = []
    t.doesNotThrow(() => { docs = parseSkeleton(text) }, `${name} parses as YAML once actions are blanked`)
    const manifests = docs.filter((d) => d !== null && typeof d === 'object')
    t.equal(manifests.length, 1, `${name} holds one manifest`)
    t.equal(manifests[0]?.kind, expected.kind, `${name} kind`)
    t.equal(manifests[0]?.apiVersion, expected.apiVersion, `${name} apiVersion`)
    t.ok(manifests[0]?.metadata !== undefined, `${name} has metadata`)
    if (expected.toggle !== undefined) t.match(firstAction(text).replace(/^-\s*/, ''), expected.toggle, `${name} is toggled`)
  }
})

test('probes: liveness on /health, readiness on /ready, on the named http port', async (t) => {
  t.equal(values.livenessProbe.httpGet.path, '/health')
  t.equal(values.readinessProbe.httpGet.path, '/ready')
  t.equal(values.livenessProbe.httpGet.port, 'http')
  t.equal(values.readinessProbe.httpGet.port, 'http')
  if (values.startupProbe !== undefined) t.equal(values.startupProbe.httpGet.path, '/health', 'startup waits for liveness, not for dependencies')
  const deployment = template('deployment.yaml')
  t.match(deployment, /livenessProbe:\n\s+\{\{- toYaml \.Values\.livenessProbe /)
  t.match(deployment, /readinessProbe:\n\s+\{\{- toYaml \.Values\.readinessProbe /)
  t.match(deployment, /- name: http\n\s+containerPort: \{\{ \.Values\.containerPort \}\}/)
  t.equal(values.containerPort, schemaProps.PORT?.default, 'containerPort is the service default PORT (and the image EXPOSE)')
  t.match(template('configmap.yaml'), /PORT: \{\{ \.Values\.containerPort \| quote \}\}/, 'the app listens where the probes look')
})

test('the pod outlives the service shutdown grace', async (t) => {
  const graceMs = Number(values.terminationGracePeriodSeconds) * 1000
  const schemaDefault = Number(schemaProps.SHUTDOWN_GRACE_MS?.default)
  t.ok(schemaDefault > 0, 'SHUTDOWN_GRACE_MS has a default in ConfigSchema')
  t.ok(graceMs > schemaDefault, `terminationGracePeriodSeconds (${graceMs} ms) > SHUTDOWN_GRACE_MS default (${schemaDefault} ms)`)
  t.ok(graceMs > Number(values.config.SHUTDOWN_GRACE_MS), 'and > config.SHUTDOWN_GRACE_MS from values')
  t.match(template('deployment.yaml'), /terminationGracePeriodSeconds: \{\{ \.Values\.terminationGracePeriodSeconds \}\}/)
  t.match(template('_helpers.tpl'), /terminationGracePeriodSeconds[\s\S]*must exceed config\.SHUTDOWN_GRACE_MS/, 'render fails when they disagree')
})

test('config: only settings the service knows, valid values, no secrets', async (t) => {
  const config = values.config as Record<string, unknown>
  for (const name of Object.keys(config)) {
    t.ok(Object.hasOwn(schemaProps, name), `config.${name} is a ConfigSchema setting`)
    if ((SECRET_SETTINGS as readonly string[]).includes(name)) t.equal(config[name], '', `config.${name} ships empty`)
  }
  t.notOk(Object.hasOwn(config, 'PORT'), 'PORT comes from containerPort')
  const env: Record<string, string> = { API_KEYS: 'test-key' }
  for (const [name, value] of Object.entries(config)) env[name] = String(value)
  t.doesNotThrow(() => loadConfig(env), 'the service accepts the default config values')
})

test('secrets: every secret setting listed, nothing shipped, names the service knows', async (t) => {
  const secrets = values.secrets as Record<string, unknown>
  const known = new Set<string>([...SECRET_SETTINGS, ...FILE_SETTINGS, 'SCHEDULER_API_KEY'])
  for (const name of SECRET_SETTINGS) t.ok(Object.hasOwn(secrets, name), `secrets.${name} is listed`)
  for (const [name, value] of Object.entries(secrets)) {
    t.ok(known.has(name), `secrets.${name} is a known name`)
    t.equal(value, '', `secrets.${name} ships empty`)
  }
  t.equal(values.existingSecret, '')
  const deployment = template('deployment.yaml')
  t.match(deployment, /secretRef:\n\s+name: \{\{ include "qualys-servicenow-sync\.secretName" \. \}\}/, 'secrets reach the pod through envFrom')
  t.match(template('_helpers.tpl'), /default \(include "qualys-servicenow-sync\.fullname" \.\) \.Values\.existingSecret/, 'existingSecret replaces the chart Secret')
  t.match(deployment, /checksum\/config: \{\{ include \(print \$\.Template\.BasePath "\/configmap\.yaml"\) \. \| sha256sum \}\}/)
  t.match(deployment, /checksum\/secret: \{\{ include \(print \$\.Template\.BasePath "\/secret\.yaml"\) \. \| sha256sum \}\}/)
})

test('hardened pods: non-root node user, read-only root, no privileges', async (t) => {
  const pod = values.podSecurityContext
  const container = values.securityContext
  t.equal(pod.runAsNonRoot, true)
  t.equal(pod.runAsUser, 1000, 'uid of the image user node')
  t.equal(pod.seccompProfile.type, 'RuntimeDefault')
  t.equal(container.runAsNonRoot, true)
  t.equal(container.runAsUser, 1000)
  t.equal(container.readOnlyRootFilesystem, true)
  t.equal(container.allowPrivilegeEscalation, false)
  t.same(container.capabilities.drop, ['ALL'])
  t.equal(container.seccompProfile.type, 'RuntimeDefault')
  t.equal(values.serviceAccount.automount, false)
  t.ok(values.resources.requests !== undefined && values.resources.limits?.memory !== undefined, 'requests and a memory limit')
  const deployment = template('deployment.yaml')
  t.match(deployment, /- name: tmp\n\s+mountPath: \/tmp/, '/tmp is writable')
  t.match(deployment, /- name: tmp\n\s+emptyDir:/)
  for (const name of ['deployment.yaml', 'cronjob.yaml', 'tests/test-connection.yaml']) {
    const text = template(name)
    t.match(text, /toYaml \.Values\.podSecurityContext/, `${name}: pod securityContext`)
    t.match(text, /toYaml \.Values\.securityContext/, `${name}: container securityContext`)
    t.match(text, /automountServiceAccountToken: (false|\{\{ \.Values\.serviceAccount\.automount \}\})/, `${name}: no token`)
  }
})

test('scheduled sync: curl POST /sync with the scheduler key from the secret', async (t) => {
  const s = values.scheduledSync
  t.equal(s.enabled, false, 'off by default')
  t.ok(typeof s.schedule === 'string' && s.schedule.trim().split(/\s+/).length === 5, 'five-field cron schedule')
  for (const key of Object.keys(s.body ?? {})) t.ok(['policyIds', 'sources', 'dryRun', 'full'].includes(key), `body.${key} is a /sync field`)
  const requestTimeout = Number(values.config.REQUEST_TIMEOUT_MS ?? schemaProps.REQUEST_TIMEOUT_MS?.default)
  t.ok(s.waitSeconds * 1000 < requestTimeout, 'the wait ends before the server request timeout')
  const cron = template('cronjob.yaml')
  t.match(cron, /key: SCHEDULER_API_KEY/)
  t.match(cron, /name: \{\{ include "qualys-servicenow-sync\.secretName" \. \}\}/, 'the same secret as the service')
  t.match(cron, /http:\/\/%s:%v\/sync\?wait=%v/)
  t.match(cron, /curl --fail-with-body -sS/)
  t.match(cron, /-X POST -H @- -H 'content-type: application\/json'/)
  t.match(cron, /Authorization: Bearer %s/)
  t.match(cron, /concurrencyPolicy: Forbid/)
  t.match(values.curlImage.repository, /curl/)
  t.match(template('_helpers.tpl'), /set \$data "API_KEYS"/, 'the chart Secret appends the scheduler key to API_KEYS')
})

test('multi-replica without Redis is refused at render', async (t) => {
  const helpers = template('_helpers.tpl')
  t.match(helpers, /if or \(gt \(int \.Values\.replicaCount\) 1\) \.Values\.autoscaling\.enabled/)
  t.match(helpers, /fail "replicaCount > 1 or autoscaling\.enabled needs REDIS_URL/)
  t.equal(values.replicaCount, 1, 'one replica by default (in-memory stores work)')
  t.match(template('deployment.yaml'), /^\{\{- include "qualys-servicenow-sync\.validate" \. \}\}/, 'checks run with the Deployment')
})

test('helm test pod curls /health; NOTES explain port-forward, /docs and /health', async (t) => {
  const pod = template('tests/test-connection.yaml')
  t.match(pod, /"helm\.sh\/hook": test/)
  t.match(pod, /\/health/)
  const notes = template('NOTES.txt')
  t.match(notes, /port-forward svc\//)
  t.match(notes, /\/docs/)
  t.match(notes, /curl -fsS http:\/\/127\.0\.0\.1:3000\/health/)
})

test('the chart README documents every value and render-time check', async (t) => {
  const readme = read(join(chartDir, 'README.md'))
  const table = readme.slice(readme.indexOf('## Values'))
  for (const key of Object.keys(values)) t.match(table, new RegExp('`' + key + '[.`]'), `${key} is in the values table`)
  for (const section of ['autoscaling', 'podDisruptionBudget', 'scheduledSync', 'serviceAccount']) {
    for (const key of Object.keys(values[section])) t.match(table, `\`${section}.${key}`, `${section}.${key} is in the values table`)
  }
  const fails = [...template('_helpers.tpl').matchAll(/fail /g)].length
  t.equal(fails, 6, 'six render-time checks, each in the README table')
  t.equal([...readme.slice(readme.indexOf('## Checks at render time'), readme.indexOf('## Values')).matchAll(/^\| (?!Condition|---)/gm)].length, fails)
})
