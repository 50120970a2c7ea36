import { once } from 'node:events'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { createComplianceWorld, type ComplianceWorld, type RescanRequest } from './compliance.js'
import { ENDPOINTS, ParamError } from './qualys-handlers.js'
import { DEFAULT_LIMITS, EndpointLimits, type QualysLimits } from './qualys-limits.js'
import { simpleReturnXml, type XmlTraps } from './qualys-xml.js'

/**
 * A Qualys API simulator (classic FO APIs) on node:http, for tests, benchmarks and demos.
 *
 *   startQualysSim(options?): Promise<QualysSim>
 *     sim.url, sim.username, sim.password, sim.world (world.rescan(...)), sim.stats,
 *     sim.setFaults(faults), sim.setLimits(limits), sim.close()
 *
 * Serves policy list, control list, posture info, host list detection and the
 * KnowledgeBase by GET or form POST; requires Basic auth and X-Requested-With; enforces
 * rate and concurrency limits per endpoint with 409 + SIMPLE_RETURN 1965/1960; streams
 * large pages. Test-only endpoints, no auth (they exist only in this simulator):
 *   GET /__sim/stats, POST /__sim/rescan (RescanRequest JSON), POST /__sim/faults (Faults JSON)
 */

export interface Faults {
  /** Extra delay before each answer. */
  latencyMs?: number
  /** The next N list calls answer 503 with an HTML body. */
  serverErrors?: number
  /** The next N list calls answer HTTP 999 with SIMPLE_RETURN 999. */
  internalErrors?: number
  /** The next N list calls stop mid-body (clean end of a cut response). */
  truncatedBodies?: number
  /** The next `count` list calls answer this SIMPLE_RETURN (e.g. 2001 with HTTP 200). */
  simpleReturn?: { code: string, text: string, status?: number, count: number }
  /** The next N pagination URLs point at another host. */
  offOriginWarnings?: number
  /** Only these endpoints (policy, control, posture, detection, kb) get the faults above; default all. */
  endpoints?: string[]
  doctype?: boolean
  keepAliveEvery?: number
  invalidChars?: boolean
}

export interface QualysSimOptions {
  port?: number
  seed?: number
  hosts?: number
  policies?: number
  controlsPerPolicy?: number
  technologiesPerControl?: number
  failRate?: number
  vm?: boolean
  limits?: Partial<QualysLimits>
  latencyMs?: number
  faults?: Faults
  username?: string
  password?: string
}

export interface QualysSimStats {
  calls: Record<string, number>
  rejected409: number
  rejected409ByEndpoint: Record<string, number>
  peakConcurrency: Record<string, number>
  statuses: Record<string, number>
}

export interface QualysSim {
  url: string
  username: string
  password: string
  world: ComplianceWorld
  readonly stats: QualysSimStats
  setFaults (faults: Faults): void
  setLimits (limits: Partial<QualysLimits>): void
  close (): Promise<void>
}

const DEFAULT_TRAPS: XmlTraps = { doctype: true, keepAliveEvery: 0, invalidChars: false }
const MAX_BODY = 1024 * 1024

async function readBody (req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > MAX_BODY) throw new ParamError('1905', 'request body too large')
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks).toString('utf8')
}

async function writeChunks (res: ServerResponse, body: string | Iterable<string>, cutAfterBytes?: number): Promise<void> {
  let written = 0
  for (const chunk of typeof body === 'string' ? [body] : body) {
    const piece = cutAfterBytes !== undefined && written + chunk.length > cutAfterBytes ? chunk.slice(0, Math.max(0, cutAfterBytes - written)) : chunk
    written += piece.length
    if (!res.write(piece)) await once(res, 'drain')
    if (res.destroyed || (cutAfterBytes !== undefined && written >= cutAfterBytes)) break
  }
  res.end()
}

export async function startQualysSim (options: QualysSimOptions = {}): Promise<QualysSim> {
  const world = createComplianceWorld({
    seed: options.seed ?? 1,
    hosts: options.hosts ?? 25,
    policies: options.policies ?? 2,
    controlsPerPolicy: options.controlsPerPolicy ?? 8,
    technologiesPerControl: options.technologiesPerControl ?? 1,
    failRate: options.failRate ?? 0.3,
    vm: options.vm ?? true
  })
  const username = options.username ?? 'sim_user'
  const password = options.password ?? 'sim-password-1'
  const expectedAuth = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`
  let limits: QualysLimits = { ...DEFAULT_LIMITS, ...options.limits }
  const limiters = new Map<string, EndpointLimits>()
  let faults: Faults = { latencyMs: options.latencyMs, ...options.faults }
  const stats: QualysSimStats = { calls: {}, rejected409: 0, rejected409ByEndpoint: {}, peakConcurrency: {}, statuses: {} }
  let url = ''

  const limiterFor = (name: string) => {
    let l = limiters.get(name)
    if (l === undefined) { l = new EndpointLimits(limits); limiters.set(name, l) }
    return l
  }
  const take = (key: 'serverErrors' | 'internalErrors' | 'truncatedBodies' | 'offOriginWarnings', endpoint: string): boolean => {
    const left = faults[key] ?? 0
    if (left <= 0 || (faults.endpoints !== undefined && !faults.endpoints.includes(endpoint))) return false
    faults[key] = left - 1
    return true
  }

  function send (res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}) {
    stats.statuses[status] = (stats.statuses[status] ?? 0) + 1
    res.writeHead(status, { 'content-type': 'text/xml;charset=UTF-8', ...headers })
    res.end(body)
  }

  async function simRoute (req: IncomingMessage, res: ServerResponse, path: string) {
    const json = (status: number, value: unknown) => { res.writeHead(status, { 'content-type': 'application/json' }); res.end(JSON.stringify(value)) }
    if (req.method === 'GET' && path === '/__sim/stats') return json(200, stats)
    if (req.method === 'POST' && path === '/__sim/rescan') return json(200, world.rescan(JSON.parse(await readBody(req) || '{}') as RescanRequest))
    if (req.method === 'POST' && path === '/__sim/faults') { faults = JSON.parse(await readBody(req) || '{}') as Faults; return json(200, faults) }
    return json(404, { error: 'unknown simulator route' })
  }

  async function handle (req: IncomingMessage, res: ServerResponse) {
    const requestUrl = new URL(req.url ?? '/', 'http://sim.invalid')
    if (requestUrl.pathname.startsWith('/__sim/')) return await simRoute(req, res, requestUrl.pathname)
    const endpoint = ENDPOINTS.find((e) => e.path.test(requestUrl.pathname))
    if (endpoint === undefined) return send(res, 404, '<html><body><h1>404 Not Found</h1></body></html>', { 'content-type': 'text/html' })
    if (req.headers.authorization !== expectedAuth) {
      return send(res, 401, simpleReturnXml('', 'Bad Login/Password'), { 'www-authenticate': 'Basic realm="MSP Portal"' })
    }
    if (req.headers['x-requested-with'] === undefined || req.headers['x-requested-with'] === '') {
      return send(res, 400, simpleReturnXml('1903', 'Missing required header X-Requested-With'))
    }
    const params = new URLSearchParams(requestUrl.search)
    if (req.method === 'POST') for (const [k, v] of new URLSearchParams(await readBody(req))) params.append(k, v)

    const name = endpoint.name
    stats.calls[name] = (stats.calls[name] ?? 0) + 1
    const limiter = limiterFor(name)
    const admission = limiter.enter(Date.now())
    stats.peakConcurrency[name] = limiter.peakConcurrency
    if (!admission.ok) {
      stats.rejected409++
      stats.rejected409ByEndpoint[name] = (stats.rejected409ByEndpoint[name] ?? 0) + 1
      const body = admission.code === '1965'
        ? simpleReturnXml('1965', `This API cannot be run again for another ${admission.secondsToWait} seconds.`, { SECONDS_TO_WAIT: String(admission.secondsToWait) })
        : simpleReturnXml('1960', `This API cannot be run again until ${admission.running} currently running API instance has finished.`, { CALLS_TO_FINISH: String(admission.running) })
      return send(res, 409, body, admission.headers)
    }
    res.once('close', admission.release)
    try {
      if ((faults.latencyMs ?? 0) > 0) await new Promise((resolve) => setTimeout(resolve, faults.latencyMs))
      if (take('serverErrors', name)) return send(res, 503, '<html><body>Service Temporarily Unavailable</body></html>', { ...admission.headers, 'content-type': 'text/html' })
      if (take('internalErrors', name)) return send(res, 999, simpleReturnXml('999', 'Internal error. Please contact customer support.'), admission.headers)
      const forced = faults.simpleReturn
      if (forced !== undefined && forced.count > 0 && (faults.endpoints === undefined || faults.endpoints.includes(name))) {
        forced.count--
        return send(res, forced.status ?? 200, simpleReturnXml(forced.code, forced.text), admission.headers)
      }
      const traps: XmlTraps = { ...DEFAULT_TRAPS, ...definedTraps(faults) }
      const origin = take('offOriginWarnings', name) ? 'https://attacker.example.net' : url
      const nextUrl = (idMin: string) => {
        const next = new URLSearchParams(params)
        next.set('id_min', idMin)
        return `${origin}${requestUrl.pathname}?${next.toString()}`
      }
      const body = endpoint.handler(world, { params, traps, nextUrl })
      const cut = take('truncatedBodies', name)
      stats.statuses['200'] = (stats.statuses['200'] ?? 0) + 1
      res.writeHead(200, { 'content-type': 'text/xml;charset=UTF-8', ...admission.headers })
      await writeChunks(res, body, cut ? 400 : undefined)
    } catch (err) {
      if (err instanceof ParamError) return send(res, 400, simpleReturnXml(err.qualysCode, err.message), admission.headers)
      throw err
    }
  }

  const server = createServer({ keepAlive: true }, (req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, simpleReturnXml('999', `Simulator failure: ${(err as Error).message}`))
      else res.destroy()
    })
  })
  server.listen(options.port ?? 0, '127.0.0.1')
  await once(server, 'listening')
  const address = server.address() as { port: number }
  url = `http://127.0.0.1:${address.port}`

  return {
    url,
    username,
    password,
    world,
    get stats () { return stats },
    setFaults: (next) => { faults = { ...next } },
    setLimits: (next) => {
      limits = { ...limits, ...next }
      for (const l of limiters.values()) l.limits = limits
    },
    close: async () => {
      server.closeAllConnections()
      server.close()
      await once(server, 'close').catch(() => {})
    }
  }
}

function definedTraps (faults: Faults): Partial<XmlTraps> {
  const out: Partial<XmlTraps> = {}
  if (faults.doctype !== undefined) out.doctype = faults.doctype
  if (faults.keepAliveEvery !== undefined) out.keepAliveEvery = faults.keepAliveEvery
  if (faults.invalidChars !== undefined) out.invalidChars = faults.invalidChars
  return out
}
