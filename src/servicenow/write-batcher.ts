import { isQssError } from '../errors.js'
import type { BatchAnswer, BatchRequest, ClientLog, ServiceNowClient } from './client.js'
import { failure, type ServiceNowRecord } from './responses.js'

/**
 * Record writes that arrive together leave together: single creates, updates and deletes
 * are queued and sent as Batch API calls of up to `maxItems`, with no more calls in flight
 * than the client has lanes. Each item still costs the instance its own time (items run
 * one after another), so this saves round trips and their per-call overhead, never
 * server time; the throughput bound stays `writes x item time / lanes`.
 *
 * A lone write goes as a plain Table API call. Each item keeps its own outcome: a refused
 * item fails alone with the code its status would get as a single call. Items the
 * instance did not reach before its batch time limit ran nothing and are sent again
 * (and later batches are made no larger than what the instance got through). An
 * instance that refuses the Batch API itself gets plain calls from then on.
 */
export interface RecordWriter {
  create (table: string, payload: Readonly<Record<string, string>>): Promise<ServiceNowRecord>
  update (table: string, sysId: string, changed: Readonly<Record<string, string>>): Promise<ServiceNowRecord>
  /** false when the record was already gone. */
  remove (table: string, sysId: string): Promise<boolean>
}

export interface WriteBatcherOptions {
  client: Pick<ServiceNowClient, 'batch' | 'create' | 'update' | 'remove'>
  /** Most writes in one Batch API call (1: every write is a Table API call of its own). */
  maxItems: number
  /** Calls in flight at once: the client's concurrency (more would only wait in its limiter). */
  lanes: number
  /** Told when the instance cuts batches short or refuses the Batch API. */
  log?: ClientLog | undefined
}

interface WriteOutcome {
  record: ServiceNowRecord
  /** A delete that found the record already gone. */
  gone: boolean
}

interface PendingWrite {
  request: BatchRequest
  resolve: (outcome: WriteOutcome) => void
  reject: (err: unknown) => void
}

export class WriteBatcher implements RecordWriter {
  private readonly queue: PendingWrite[] = []
  private inFlight = 0
  private scheduled = false
  private readonly configuredMax: number
  private maxItems: number
  private batchRefused = false

  constructor (private readonly options: WriteBatcherOptions) {
    this.configuredMax = Math.max(1, Math.floor(options.maxItems))
    this.maxItems = this.configuredMax
  }

  /** Largest batch sent from now on (lowered when the instance cut a batch short). */
  get batchSize (): number { return this.maxItems }

  async create (table: string, payload: Readonly<Record<string, string>>): Promise<ServiceNowRecord> {
    return (await this.enqueue({ method: 'POST', table, body: payload })).record
  }

  async update (table: string, sysId: string, changed: Readonly<Record<string, string>>): Promise<ServiceNowRecord> {
    return (await this.enqueue({ method: 'PATCH', table, sysId, body: changed })).record
  }

  async remove (table: string, sysId: string): Promise<boolean> {
    return !(await this.enqueue({ method: 'DELETE', table, sysId })).gone
  }

  private async enqueue (request: BatchRequest): Promise<WriteOutcome> {
    return await new Promise<WriteOutcome>((resolve, reject) => {
      this.queue.push({ request, resolve, reject })
      this.schedule()
    })
  }

  // Deferred to the next turn of the event loop, so writes issued together (a page's
  // plan) are all queued before the first call is cut.
  private schedule () {
    if (this.scheduled) return
    this.scheduled = true
    setImmediate(() => {
      this.scheduled = false
      this.pump()
    })
  }

  private pump () {
    const lanes = Math.max(1, this.options.lanes)
    while (this.inFlight < lanes && this.queue.length > 0) {
      // Spread what is waiting over the free lanes, so a short queue does not ride one lane.
      const size = Math.min(this.maxItems, Math.ceil(this.queue.length / (lanes - this.inFlight)))
      const items = this.queue.splice(0, size)
      this.inFlight++
      this.send(items).catch((err: unknown) => {
        // Never leave a caller waiting: settling an item twice is a no-op.
        for (const item of items) item.reject(err)
      }).finally(() => {
        this.inFlight--
        if (this.queue.length > 0) this.schedule()
      })
    }
  }

  private async send (items: PendingWrite[]): Promise<void> {
    if (items.length === 1) {
      const [item] = items as [PendingWrite]
      await this.sendOne(item)
      return
    }
    let answers: BatchAnswer[]
    try {
      answers = await this.options.client.batch(items.map((i) => i.request))
    } catch (err) {
      if (isQssError(err) && BATCH_REFUSED.has(err.code)) {
        // Refused before any item ran (no Batch API role, endpoint off): write one by one.
        this.batchRefused = true
        this.maxItems = 1
        this.options.log?.warn({ code: err.code }, 'ServiceNow refused the Batch API: POA&M writes go one Table API call each from now on')
        this.queue.unshift(...items)
        return
      }
      // Otherwise what ran is unknown, exactly as for a single create that failed.
      for (const item of items) item.reject(err)
      return
    }
    const unserviced: PendingWrite[] = []
    items.forEach((item, i) => {
      const answer = answers[i]
      if (answer === undefined || answer.status === 0) unserviced.push(item)
      else if (answer.status >= 200 && answer.status < 300) item.resolve({ record: answer.record ?? {}, gone: false })
      else if (answer.status === 404 && item.request.method === 'DELETE') item.resolve({ record: {}, gone: true })
      else item.reject(failure(answer.status, { message: answer.error ?? 'no error message' }, operation(item.request)))
    })
    if (unserviced.length === 0) {
      this.growBack()
      return
    }
    // The instance ran out of batch time: later batches carry no more than it got through,
    // and what it did not reach (it ran none of it) goes first in the queue.
    this.maxItems = Math.max(1, items.length - unserviced.length)
    this.options.log?.warn({ sent: items.length, unserviced: unserviced.length, batchSize: this.maxItems }, 'ServiceNow stopped a batch at its time limit: the rest is sent again in smaller batches')
    this.queue.unshift(...unserviced)
  }

  // A slow spell shrank the batches: each write that went through whole grows them by one.
  private growBack () {
    if (!this.batchRefused && this.maxItems < this.configuredMax) this.maxItems++
  }

  private async sendOne (item: PendingWrite) {
    const { client } = this.options
    const { method, table, sysId = '', body = {} } = item.request
    try {
      if (method === 'DELETE') item.resolve({ record: {}, gone: !(await client.remove(table, sysId)) })
      else item.resolve({ record: method === 'POST' ? await client.create(table, body) : await client.update(table, sysId, body), gone: false })
      this.growBack()
    } catch (err) {
      item.reject(err)
    }
  }
}

/** Answers to the Batch API call itself that mean none of its items ran. */
const BATCH_REFUSED = new Set(['QSS_SERVICENOW_FORBIDDEN', 'QSS_SERVICENOW_NOT_FOUND', 'QSS_SERVICENOW_BAD_REQUEST'])

const VERBS = { POST: 'create', PATCH: 'update', DELETE: 'delete' } as const
const operation = (request: BatchRequest) => `${VERBS[request.method]} ${request.table}`

/** Straight Table API calls, one per write. */
export function directWriter (client: Pick<ServiceNowClient, 'create' | 'update' | 'remove'>): RecordWriter {
  return {
    create: async (table, payload) => await client.create(table, payload),
    update: async (table, sysId, changed) => await client.update(table, sysId, changed),
    remove: async (table, sysId) => await client.remove(table, sysId)
  }
}
