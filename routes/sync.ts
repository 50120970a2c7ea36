import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { Config } from '../src/config.js'
import { QssError } from '../src/errors.js'
import { TERMINAL_STATUSES, type SyncJob } from '../src/sync/job-model.js'
import type { SyncJobs } from '../src/sync/jobs.js'
import { resolveSyncRequest } from '../src/sync/request.js'
import { ErrorSchema } from '../schemas/error.js'
import { JobIdParamsSchema, JobListQuerySchema, JobListSchema, JobSchema, SyncHeadersSchema, SyncQuerySchema, SyncRequestSchema } from '../schemas/sync.js'

export interface SyncRoutesOptions {
  jobs: SyncJobs
  config: Config
  /** Interval of progress events on `GET /sync/{id}/events`. */
  eventsPollMs?: number
}

const withLinks = (job: SyncJob) => ({ ...job, links: { self: `/sync/${job.id}`, events: `/sync/${job.id}/events` } })

const syncRoutes: FastifyPluginAsyncTypebox<SyncRoutesOptions> = async (app, opts) => {
  const { jobs } = opts
  const errors = { 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema }

  const load = async (id: string) => {
    const job = await jobs.get(id)
    if (job === undefined) throw new QssError('QSS_SYNC_NOT_FOUND', `No sync job ${id}`, { statusCode: 404 })
    return job
  }

  app.post('/sync', {
    schema: {
      tags: ['sync'],
      summary: 'Start a sync (optionally wait for it)',
      description: 'Queues a sync from Qualys to ServiceNow and answers 202 with the job. With `?wait=<s>` it waits up to s seconds and answers 200 with the finished job (202 if still running), so a pipeline can `curl -f` it. One sync runs at a time: a second call gets 409 `QSS_SYNC_IN_PROGRESS` with the running job id. The same `Idempotency-Key` returns the same job.',
      operationId: 'startSync',
      body: SyncRequestSchema,
      querystring: SyncQuerySchema,
      headers: SyncHeadersSchema,
      response: { 200: JobSchema, 202: JobSchema, ...errors, 409: ErrorSchema, 503: ErrorSchema }
    }
  }, async (request, reply) => {
    const syncRequest = resolveSyncRequest(request.body ?? {}, opts.config)
    const { job, created } = await jobs.submit(syncRequest, request.headers['idempotency-key'])
    reply.header('location', `/sync/${job.id}`)
    if (!created) reply.header('idempotent-replayed', 'true')
    const wait = request.query.wait ?? 0
    const current = wait > 0 ? (await jobs.waitFor(job.id, wait * 1000)) ?? job : job
    return reply.code(TERMINAL_STATUSES.has(current.status) ? 200 : 202).send(withLinks(current))
  })

  app.get('/sync', {
    schema: {
      tags: ['sync'],
      summary: 'Recent sync jobs, newest first',
      operationId: 'listSyncs',
      querystring: JobListQuerySchema,
      response: { 200: JobListSchema, ...errors }
    }
  }, async (request) => ({ items: (await jobs.recent(request.query.limit ?? 20)).map(withLinks) }))

  app.get('/sync/:id', {
    schema: {
      tags: ['sync'],
      summary: 'One sync job: status, progress and result',
      operationId: 'getSync',
      params: JobIdParamsSchema,
      response: { 200: JobSchema, ...errors, 404: ErrorSchema }
    }
  }, async (request) => withLinks(await load(request.params.id)))

  app.delete('/sync/:id', {
    schema: {
      tags: ['sync'],
      summary: 'Cancel a sync at its next page boundary',
      operationId: 'cancelSync',
      params: JobIdParamsSchema,
      response: { 202: JobSchema, ...errors, 404: ErrorSchema }
    }
  }, async (request, reply) => {
    const job = await jobs.cancel(request.params.id)
    if (job === undefined) throw new QssError('QSS_SYNC_NOT_FOUND', `No sync job ${request.params.id}`, { statusCode: 404 })
    return reply.code(202).send(withLinks(job))
  })

  app.get('/sync/:id/events', {
    schema: {
      tags: ['sync'],
      summary: 'Follow a sync as Server-Sent Events',
      description: '`progress` events carry the job whenever it changes; a final `done` event carries the finished job, then the stream ends.',
      operationId: 'streamSyncEvents',
      params: JobIdParamsSchema,
      produces: ['text/event-stream'],
      response: { 200: { type: 'string', description: 'text/event-stream' }, ...errors, 404: ErrorSchema }
    }
  }, async (request, reply) => {
    let job = await load(request.params.id)
    reply.hijack()
    const res = reply.raw
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-request-id': request.id
    })
    const client = { connected: true }
    request.raw.on('close', () => { client.connected = false })
    const send = (event: string, data: SyncJob) => res.write(`event: ${event}\ndata: ${JSON.stringify(withLinks(data))}\n\n`)
    let lastUpdate = ''
    const pollMs = opts.eventsPollMs ?? 500
    while (client.connected) {
      if (TERMINAL_STATUSES.has(job.status)) {
        send('done', job)
        break
      }
      if (job.progress.updatedAt !== lastUpdate) {
        lastUpdate = job.progress.updatedAt
        send('progress', job)
      }
      await new Promise((resolve) => setTimeout(resolve, pollMs))
      job = (await jobs.get(job.id)) ?? job
    }
    res.end()
  })
}

export default syncRoutes
