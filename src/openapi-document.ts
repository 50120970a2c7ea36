import { buildApp } from './app.js'
import { loadConfig } from './config.js'

/**
 * The OpenAPI document exactly as the app serves it, rendered with a neutral
 * configuration (no Redis, no upstreams) so that the committed openapi/openapi.json
 * depends on the code alone, never on an environment.
 */
export async function renderOpenApiDocument (): Promise<string> {
  const app = await buildApp(loadConfig({ API_KEYS: 'openapi-render-only', LOG_LEVEL: 'silent' }))
  try {
    await app.ready()
    return `${JSON.stringify(app.swagger(), null, 2)}\n`
  } finally {
    await app.close()
  }
}
