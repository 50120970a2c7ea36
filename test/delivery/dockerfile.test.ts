import { test } from 'tap'
import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { join, posix } from 'node:path'
import { ConfigSchema } from '../../src/config.js'

// No Docker engine runs the build here, so the Dockerfile is read statically: stages,
// base image, user, commands, and that everything it copies exists or is built.
const root = fileURLToPath(new URL('../../', import.meta.url))
const read = (rel: string) => readFileSync(join(root, rel), 'utf8')

interface Instruction { op: string, args: string, line: number }
interface Stage { name: string, base: string, instructions: Instruction[] }

function parseDockerfile (text: string): Stage[] {
  const stages: Stage[] = []
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const start = i + 1
    let line = lines[i] ?? ''
    if (/^\s*(#|$)/.test(line)) continue
    while (line.endsWith('\\') && i + 1 < lines.length) line = line.slice(0, -1) + ' ' + (lines[++i] ?? '').trim()
    const m = /^\s*([A-Za-z]+)\s+([\s\S]*)$/.exec(line)
    if (m === null) continue
    const op = (m[1] ?? '').toUpperCase()
    const args = (m[2] ?? '').trim()
    if (op === 'FROM') {
      const from = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args)
      stages.push({ name: from?.[2] ?? String(stages.length), base: from?.[1] ?? '', instructions: [] })
    } else {
      stages.at(-1)?.instructions.push({ op, args, line: start })
    }
  }
  return stages
}

const dockerfile = read('Dockerfile')
const stages = parseDockerfile(dockerfile)
const build = stages.find((s) => s.name === 'build')
const runtime = stages.at(-1)
const ops = (stage: Stage | undefined, op: string) => (stage?.instructions ?? []).filter((i) => i.op === op)
const runs = (stage: Stage | undefined) => ops(stage, 'RUN').map((i) => i.args)

/** Exec-form JSON array, or the shell form as one string. */
function execForm (args: string): string[] | string {
  try { return JSON.parse(args) as string[] } catch { return args }
}

interface CopyInstr { from?: string, sources: string[], dest: string }
function copies (stage: Stage | undefined): CopyInstr[] {
  return ops(stage, 'COPY').map((i) => {
    const words = i.args.split(/\s+/)
    const flags = words.filter((w) => w.startsWith('--'))
    const paths = words.filter((w) => !w.startsWith('--'))
    const from = flags.find((f) => f.startsWith('--from='))?.slice('--from='.length)
    return { ...(from !== undefined && { from }), sources: paths.slice(0, -1), dest: paths.at(-1) ?? '' }
  })
}

function workdir (stage: Stage | undefined): string {
  return ops(stage, 'WORKDIR').at(-1)?.args ?? '/'
}

interface TsConfig { extends?: string, include?: string[], compilerOptions?: { outDir?: string, rootDir?: string } }
const buildConfigFile = JSON.parse(read('package.json')).scripts.build.match(/-p\s+(\S+)/)?.[1] as string
const tsBuild = JSON.parse(read(buildConfigFile)) as TsConfig
const tsBase = tsBuild.extends !== undefined ? JSON.parse(read(tsBuild.extends)) as TsConfig : {}
const outDir = tsBuild.compilerOptions?.outDir ?? tsBase.compilerOptions?.outDir
const rootDir = tsBuild.compilerOptions?.rootDir ?? tsBase.compilerOptions?.rootDir

/** Docker's .dockerignore matching: anchored globs, a matched directory excludes its content, last match wins. */
function dockerIgnored (path: string, patterns: string[]): boolean {
  let ignored = false
  const segments = path.split('/')
  for (const raw of patterns) {
    const negate = raw.startsWith('!')
    const pattern = posix.normalize((negate ? raw.slice(1) : raw).replace(/^\//, ''))
    const re = new RegExp('^' + pattern.split('**').map((part) =>
      part.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')).join('.*') + '$')
    for (let i = 1; i <= segments.length; i++) {
      if (re.test(segments.slice(0, i).join('/'))) { ignored = !negate; break }
    }
  }
  return ignored
}
const ignorePatterns = read('.dockerignore').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'))

test('two stages, both on Node 24 slim', async (t) => {
  t.ok(stages.length >= 2, 'multi-stage')
  t.ok(build !== undefined, 'a stage named build')
  t.not(runtime, build, 'the final stage is not the build stage')
  for (const stage of stages) t.match(stage.base, /^node:24(\.\d+)*-(bookworm-)?slim(@sha256:[0-9a-f]{64})?$/, `${stage.name}: ${stage.base}`)
})

test('build stage installs everything and compiles', async (t) => {
  const buildRuns = runs(build)
  t.ok(buildRuns.some((r) => /\bnpm ci\b/.test(r) && !/--omit=dev/.test(r)), 'npm ci with dev dependencies (tsc)')
  t.ok(buildRuns.some((r) => /\bnpm run build\b/.test(r)), 'npm run build')
  const copied = copies(build).flatMap((c) => c.sources).map((s) => s.replace(/\/$/, ''))
  for (const dir of tsBuild.include ?? []) t.ok(copied.includes(dir), `${dir}/ (in ${buildConfigFile} include) is copied before the build`)
  t.ok(copied.includes(buildConfigFile), `${buildConfigFile} is copied`)
  if (tsBuild.extends !== undefined) t.ok(copied.includes(tsBuild.extends.replace(/^\.\//, '')), `${tsBuild.extends} (extended) is copied`)
  t.ok(copied.includes('package-lock.json'), 'the lockfile is copied for npm ci')
})

test('runtime stage: production deps only, non-root, production env', async (t) => {
  t.ok(runs(runtime).some((r) => /\bnpm ci\b/.test(r) && /--omit=dev/.test(r) && /--ignore-scripts/.test(r)), 'npm ci --omit=dev --ignore-scripts')
  t.equal(ops(runtime, 'USER').at(-1)?.args, 'node', 'runs as the node user')
  const userLine = ops(runtime, 'USER').at(-1)?.line ?? Infinity
  t.ok(ops(runtime, 'RUN').every((r) => r.line < userLine), 'installs happen before dropping root')
  t.ok(ops(runtime, 'ENV').some((e) => /^NODE_ENV[= ]production$/.test(e.args)), 'NODE_ENV=production')
  const port = String((ConfigSchema.properties.PORT as { default?: number }).default)
  t.same(ops(runtime, 'EXPOSE').map((e) => e.args), [port], `EXPOSE ${port} (the PORT default)`)
  const runtimeSources = copies(runtime).filter((c) => c.from === undefined).flatMap((c) => c.sources)
  t.ok(runtimeSources.includes('package.json'), 'package.json ships (the app reads its version from it)')
  t.equal(workdir(runtime), '/app')
})

test('CMD runs the server file the build config emits', async (t) => {
  t.ok(outDir !== undefined && rootDir !== undefined, `${buildConfigFile} sets outDir and rootDir`)
  const emitted = posix.join(outDir ?? '', posix.relative(rootDir ?? '.', 'src/server.ts')).replace(/\.ts$/, '.js')
  t.equal(emitted, 'dist/src/server.js')
  const cmd = execForm(ops(runtime, 'CMD').at(-1)?.args ?? '')
  t.same(cmd, ['node', emitted], 'exec form, node as PID 1 receives SIGTERM')
  t.ok(ops(runtime, 'ENTRYPOINT').length === 0, 'no entrypoint wrapper')
  const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string>, main?: string }
  t.equal(pkg.scripts.start, `node ${emitted}`, 'npm start runs the same file')
  t.ok(existsSync(join(root, 'src/server.ts')), 'src/server.ts exists')
  t.ok((tsBuild.include ?? []).includes('src'), 'src is compiled')
})

test('HEALTHCHECK probes /health with node fetch, not curl', async (t) => {
  const [hc] = ops(runtime, 'HEALTHCHECK')
  t.ok(hc !== undefined, 'HEALTHCHECK present')
  const args = hc?.args ?? ''
  t.notMatch(args, /\bcurl\b|\bwget\b/)
  const cmd = execForm(args.replace(/^(--\S+\s+)*CMD\s+/, ''))
  t.ok(Array.isArray(cmd), 'exec form')
  t.same((cmd as string[]).slice(0, 2), ['node', '-e'])
  const script = (cmd as string[])[2] ?? ''
  t.match(script, /fetch\(/)
  t.match(script, /\/health/)
  t.match(script, /process\.exit\(r\.ok \? 0 : 1\)/, 'non-2xx is unhealthy')
  t.match(script, /\(\) => process\.exit\(1\)/, 'a refused connection is unhealthy')
})

test('OCI labels', async (t) => {
  const labels = ops(runtime, 'LABEL').map((l) => l.args).join(' ')
  const pkg = JSON.parse(read('package.json')) as { name: string, license: string }
  t.match(labels, `org.opencontainers.image.title="${pkg.name}"`)
  t.match(labels, /org\.opencontainers\.image\.description="[^"]+"/)
  t.match(labels, /org\.opencontainers\.image\.source=/)
  t.match(labels, `org.opencontainers.image.licenses="${pkg.license}"`)
  t.equal(pkg.license, 'Apache-2.0')
  t.match(labels, /org\.opencontainers\.image\.version="\$\{VERSION\}"/)
  t.ok(ops(runtime, 'ARG').some((a) => /^VERSION\b/.test(a.args)), 'ARG VERSION in the runtime stage')
})

test('every COPY source exists in the context or is built', async (t) => {
  for (const stage of stages) {
    for (const copy of copies(stage)) {
      for (const source of copy.sources) {
        if (copy.from === undefined) {
          t.ok(existsSync(join(root, source)), `${stage.name}: ${source} exists in the repo`)
          t.notOk(dockerIgnored(source.replace(/\/$/, ''), ignorePatterns), `${stage.name}: ${source} is not in .dockerignore`)
        } else {
          const producer = stages.find((s) => s.name === copy.from)
          t.ok(producer !== undefined, `--from=${copy.from} names a stage`)
          const built = posix.join(workdir(producer), outDir ?? '')
          t.equal(posix.normalize(source), built, `${stage.name}: ${source} is the build output (${workdir(producer)} + outDir)`)
        }
      }
    }
  }
})

test('.dockerignore keeps local state and non-build files out of the context', async (t) => {
  for (const path of ['node_modules', 'dist', 'coverage', '.tap', '.git', 'test', 'bench', 'helm', '.env']) {
    t.ok(dockerIgnored(path, ignorePatterns), `${path} ignored`)
  }
  for (const path of ['package.json', 'package-lock.json', 'src/server.ts', 'routes/health.ts', 'schemas/health.ts']) {
    t.notOk(dockerIgnored(path, ignorePatterns), `${path} kept`)
  }
  t.ok(dockerIgnored('node_modules/x/index.js', ['node_modules']), 'a directory pattern covers its content')
  t.notOk(dockerIgnored('src/a.md', ['*.md']), 'patterns are anchored at the context root')
  t.notOk(dockerIgnored('keep.md', ['*.md', '!keep.md']), 'the last matching pattern wins')
})
