import { test } from 'tap'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import { parseAllDocuments } from 'yaml'

// Renders the chart when a helm binary is at hand (PATH or HELM_BIN); the static checks
// in chart.test.ts run everywhere, these only where helm is installed.
const chartDir = join(fileURLToPath(new URL('../../', import.meta.url)), 'helm/qualys-servicenow-sync')
const helmBin = process.env.HELM_BIN ?? 'helm'
const probe = spawnSync(helmBin, ['version', '--short'], { encoding: 'utf8' })
const skip = probe.error !== undefined || probe.status !== 0 ? `no helm binary (${helmBin}); set HELM_BIN to run` : false

type Manifest = Record<string, any>

function render (...args: string[]): { ok: boolean, docs: Manifest[], stderr: string } {
  const r = spawnSync(helmBin, ['template', 'rel', chartDir, '--namespace', 'ns', ...args], { encoding: 'utf8' })
  const docs = r.status === 0
    ? parseAllDocuments(r.stdout).map((d) => d.toJS() as Manifest).filter((d) => d !== null)
    : []
  return { ok: r.status === 0, docs, stderr: r.stderr }
}
const byKind = (docs: Manifest[], kind: string) => docs.filter((d) => d.kind === kind)
const decode = (b64: string) => Buffer.from(b64, 'base64').toString('utf8')

test('default values with an API key render the base set', { skip }, async (t) => {
  const { ok, docs, stderr } = render('--set', 'secrets.API_KEYS=k1')
  t.ok(ok, stderr)
  t.same(docs.map((d) => d.kind).sort(), ['ConfigMap', 'Deployment', 'Pod', 'Secret', 'Service', 'ServiceAccount'])
  const [deployment] = byKind(docs, 'Deployment')
  const pod = deployment?.spec.template.spec
  const container = pod.containers[0]
  t.equal(deployment?.spec.replicas, 1)
  t.equal(container.livenessProbe.httpGet.path, '/health')
  t.equal(container.readinessProbe.httpGet.path, '/ready')
  t.equal(pod.terminationGracePeriodSeconds, 40)
  t.equal(pod.automountServiceAccountToken, false)
  t.equal(container.securityContext.readOnlyRootFilesystem, true)
  t.same(container.volumeMounts, [{ name: 'tmp', mountPath: '/tmp' }])
  t.match(deployment?.spec.template.metadata.annotations, { 'checksum/config': /^[0-9a-f]{64}$/, 'checksum/secret': /^[0-9a-f]{64}$/ })
  const [configMap] = byKind(docs, 'ConfigMap')
  t.equal(configMap?.data.PORT, '3000')
  t.equal(configMap?.data.SHUTDOWN_GRACE_MS, '25000')
  t.notOk('QUALYS_BASE_URL' in (configMap?.data ?? {}), 'empty settings are left out')
  const [secret] = byKind(docs, 'Secret')
  t.same(Object.keys(secret?.data ?? {}), ['API_KEYS'], 'only non-empty secrets')
  t.equal(decode(secret?.data.API_KEYS), 'k1')
  const [testPod] = byKind(docs, 'Pod')
  t.equal(testPod?.metadata.annotations['helm.sh/hook'], 'test')
  t.match(testPod?.spec.containers[0].args.at(-1), /^http:\/\/rel-qualys-servicenow-sync:80\/health$/)
})

test('every toggle on renders HPA, PDB and the scheduled sync', { skip }, async (t) => {
  const { ok, docs, stderr } = render(
    '--set', 'secrets.API_KEYS=k1', '--set', 'secrets.SCHEDULER_API_KEY=sched', '--set', 'secrets.REDIS_URL=redis://r:6379',
    '--set', 'autoscaling.enabled=true', '--set', 'podDisruptionBudget.enabled=true', '--set', 'scheduledSync.enabled=true',
    '--set-string', 'scheduledSync.body.policyIds={101}', '--set', 'scheduledSync.body.full=true'
  )
  t.ok(ok, stderr)
  t.equal(byKind(docs, 'HorizontalPodAutoscaler').length, 1)
  t.equal(byKind(docs, 'PodDisruptionBudget').length, 1)
  t.notOk('replicas' in (byKind(docs, 'Deployment')[0]?.spec ?? {}), 'the HPA owns replicas')
  const secret = byKind(docs, 'Secret')[0]?.data
  t.equal(decode(secret.API_KEYS), 'k1,sched', 'the scheduler key is accepted by the service')
  const [cron] = byKind(docs, 'CronJob')
  const job = cron?.spec.jobTemplate.spec.template
  const env = Object.fromEntries(job.spec.containers[0].env.map((e: Manifest) => [e.name, e.value ?? e.valueFrom]))
  t.same(env.API_KEY, { secretKeyRef: { name: 'rel-qualys-servicenow-sync', key: 'SCHEDULER_API_KEY' } })
  t.equal(env.SYNC_URL, 'http://rel-qualys-servicenow-sync:80/sync?wait=60')
  t.same(JSON.parse(env.SYNC_BODY), { full: true, policyIds: ['101'] })
  t.equal(job.spec.securityContext.runAsUser, 1000)
  t.same(job.spec.containers[0].securityContext.capabilities, { drop: ['ALL'] })
  t.not(job.metadata.labels['app.kubernetes.io/name'], 'qualys-servicenow-sync', 'cron pods stay out of the Service selector')
})

test('existingSecret: no chart Secret, the pod reads the operator one', { skip }, async (t) => {
  const { ok, docs, stderr } = render('--set', 'existingSecret=ops-managed', '--set', 'replicaCount=2')
  t.ok(ok, stderr)
  t.equal(byKind(docs, 'Secret').length, 0)
  const container = byKind(docs, 'Deployment')[0]?.spec.template.spec.containers[0]
  t.same(container.envFrom[1], { secretRef: { name: 'ops-managed' } })
})

test('a config change rolls the pods', { skip }, async (t) => {
  const annotations = (args: string[]) => byKind(render('--set', 'secrets.API_KEYS=k1', ...args).docs, 'Deployment')[0]?.spec.template.metadata.annotations
  const before = annotations([])
  const after = annotations(['--set', 'config.LOG_LEVEL=debug'])
  t.not(before['checksum/config'], after['checksum/config'])
  t.equal(before['checksum/secret'], after['checksum/secret'])
})

test('render fails on settings that would not run', { skip }, async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [[], /secrets\.API_KEYS is required/],
    [['--set', 'secrets.API_KEYS=k', '--set', 'replicaCount=2'], /needs REDIS_URL/],
    [['--set', 'secrets.API_KEYS=k', '--set', 'autoscaling.enabled=true'], /needs REDIS_URL/],
    [['--set', 'secrets.API_KEYS=k', '--set', 'terminationGracePeriodSeconds=20'], /must exceed config\.SHUTDOWN_GRACE_MS/],
    [['--set', 'secrets.API_KEYS=k', '--set', 'scheduledSync.enabled=true'], /needs secrets\.SCHEDULER_API_KEY/],
    [['--set', 'secrets.API_KEYS=k', '--set', 'secrets.SCHEDULER_API_KEY=s', '--set', 'scheduledSync.enabled=true', '--set', 'scheduledSync.waitSeconds=300'], /must stay below config\.REQUEST_TIMEOUT_MS/],
    [['--set', 'secrets.API_KEYS=k', '--set', 'config.PORT=8080'], /set containerPort, not config\.PORT/]
  ]
  for (const [args, message] of cases) {
    const { ok, stderr } = render(...args)
    t.notOk(ok, `refused: ${args.join(' ') || 'defaults'}`)
    t.match(stderr, message)
  }
  t.ok(render('--set', 'config.AUTH_DISABLED=true').ok, 'AUTH_DISABLED needs no key')
  t.ok(render('--set', 'secrets.API_KEYS=k', '--set', 'config.REDIS_URL=redis://r', '--set', 'replicaCount=3').ok, 'Redis allows replicas')
})
