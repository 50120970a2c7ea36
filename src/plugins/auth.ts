import { createHash, timingSafeEqual } from 'node:crypto'
import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { errorBody } from './error-handler.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Routes reachable without an API key (probes, docs). */
    public?: boolean
  }
}

export interface AuthOptions {
  apiKeys: readonly string[]
  disabled: boolean
}

// Hashing both sides first makes every comparison the same length, so neither the key's
// length nor its prefix leaks through timing.
const digest = (value: string) => createHash('sha256').update(value).digest()

/** Checks a presented key against every configured key without stopping at the first match. */
export function keyMatches (presented: string, keyDigests: readonly Buffer[]): boolean {
  const candidate = digest(presented)
  let matched = false
  for (const key of keyDigests) matched = timingSafeEqual(candidate, key) || matched
  return matched
}

function presentedKey (request: FastifyRequest): string | undefined {
  const header = request.headers.authorization
  if (typeof header === 'string') {
    const match = /^Bearer\s+(.+)$/i.exec(header.trim())
    return match?.[1]
  }
  const apiKey = request.headers['x-api-key']
  return typeof apiKey === 'string' ? apiKey.trim() : undefined
}

/**
 * API-key authentication on every route but the public ones. 401 when no key is
 * presented (or an unreadable Authorization header), 403 when a key is presented but
 * is not one of ours.
 */
async function auth (app: FastifyInstance, opts: AuthOptions) {
  if (opts.disabled) return
  const keyDigests = opts.apiKeys.map(digest)
  app.addHook('onRequest', async (request, reply) => {
    if (request.routeOptions.config.public === true) return
    // Swagger UI's static assets are public; the UI itself asks for the key ("Authorize").
    if (request.url === '/docs' || request.url.startsWith('/docs/')) return
    const key = presentedKey(request)
    if (key === undefined || key === '') {
      return reply.code(401).header('www-authenticate', 'Bearer realm="qualys-servicenow-sync"')
        .send(errorBody(401, 'QSS_AUTH_MISSING', 'Missing API key: send Authorization: Bearer <key> or X-API-Key: <key>'))
    }
    if (!keyMatches(key, keyDigests)) {
      return reply.code(403).send(errorBody(403, 'QSS_AUTH_INVALID', 'The API key is not valid'))
    }
  })
}

export default fp(auth, { name: 'qss-auth', fastify: '5.x' })
