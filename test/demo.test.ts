import { test } from 'tap'
import { spawn, execFileSync } from 'node:child_process'
import { once } from 'node:events'

test('the demo starts both simulators and the service, its first sync succeeds, and the printed curl line works', async (t) => {
  const child = spawn(process.execPath, ['--import', 'tsx', new URL('../src/demo.ts', import.meta.url).pathname], {
    env: { ...process.env, PORT: '0', DEMO_HOSTS: '50', LOG_LEVEL: 'error' },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  t.teardown(() => { child.kill('SIGKILL') })
  let out = ''
  child.stdout.on('data', (chunk: Buffer) => { out += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { out += chunk.toString() })
  for (let i = 0; i < 600 && !out.includes('Ctrl-C to stop.'); i++) await new Promise((resolve) => setTimeout(resolve, 100))
  t.match(out, /AUTHENTICATION DISABLED/, 'the banner says auth is off')
  t.match(out, /Not for production/)
  t.match(out, /Sync [0-9a-f-]{36} succeeded/, 'the first sync succeeded')
  t.match(out, /POA&Ms: [1-9]\d* created/, 'and created records')
  t.match(out, /Swagger UI: {2}http:\/\/127\.0\.0\.1:\d+\/docs/)

  const curlLine = /Sync again: {2}(curl .+)$/m.exec(out)?.[1]
  t.ok(curlLine, 'a curl line is printed')
  // Run the printed line as a shell would: it must work as copied.
  const body = execFileSync('sh', ['-c', curlLine as string], { encoding: 'utf8', timeout: 60000 })
  const job = JSON.parse(body) as { status: string, request: { sources: string[] } }
  t.equal(job.status, 'succeeded', 'the printed curl line runs a sync')
  t.same(job.request.sources, ['pc', 'vm'])

  child.kill('SIGINT')
  const [code] = await once(child, 'exit') as [number | null]
  t.equal(code, 0, 'Ctrl-C exits cleanly')
})
