import { PassThrough } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import { buildApp, type AppDeps } from '../src/app.js'
import { type Config, loadConfig } from '../src/config.js'

export const TEST_API_KEY = 'test-key-0123456789abcdef'

/** A valid configuration for tests: quiet logs, one API key, everything else default. */
export function testConfig (overrides: Partial<Config> = {}): Config {
  return { ...loadConfig({ API_KEYS: TEST_API_KEY, LOG_LEVEL: 'silent' }), ...overrides }
}

export const authHeaders = { authorization: `Bearer ${TEST_API_KEY}` }

interface Teardown { teardown (fn: () => unknown): void }

/** Builds the app for one test and closes it when the test ends. */
export async function build (t: Teardown, overrides: Partial<Config> = {}, deps: AppDeps = {}): Promise<FastifyInstance> {
  const app = await buildApp(testConfig(overrides), deps)
  t.teardown(() => app.close())
  await app.ready()
  return app
}

/** A log sink whose lines tests can read back. */
export function captureLogs () {
  const stream = new PassThrough()
  const chunks: string[] = []
  stream.on('data', (chunk: Buffer) => chunks.push(chunk.toString('utf8')))
  return { stream, text: () => chunks.join('') }
}
