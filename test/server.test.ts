import { test } from 'tap'
import { spawn } from 'node:child_process'
import { once } from 'node:events'

const server = new URL('../src/server.ts', import.meta.url).pathname

async function start (env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', server], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout.on('data', (c: Buffer) => { out += c.toString() })
  child.stderr.on('data', (c: Buffer) => { out += c.toString() })
  return { child, output: () => out }
}

test('a misconfigured start exits 1 and names every problem at once', async (t) => {
  const { child, output } = await start({ PORT: 'x', POAM_PROFILE: 'other', QUALYS_BASE_URL: 'https://q.example' })
  const [code] = await once(child, 'exit') as [number]
  t.equal(code, 1)
  for (const name of ['PORT', 'POAM_PROFILE', 'API_KEYS', 'QUALYS_USERNAME', 'QUALYS_PASSWORD']) t.match(output(), name)
})

test('with a minimal environment the service starts, answers, and stops on SIGTERM', async (t) => {
  const { child, output } = await start({ API_KEYS: 'k', PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info' })
  t.teardown(() => { child.kill('SIGKILL') })
  let address: string | undefined
  for (let i = 0; i < 200 && address === undefined; i++) {
    address = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(output())?.[1]
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  t.ok(address, 'it logs where it listens')
  for (const path of ['/health', '/ready', '/openapi.json', '/docs/']) t.equal((await fetch(`${address}${path}`)).status, 200, path)
  t.equal((await fetch(`${address}/metrics`)).status, 401, 'metrics need the key')
  t.equal((await fetch(`${address}/metrics`, { headers: { authorization: 'Bearer k' } })).status, 200)
  child.kill('SIGTERM')
  const [code] = await once(child, 'exit') as [number]
  t.equal(code, 0, 'graceful stop')
  t.match(output(), /shutting down/)
})
