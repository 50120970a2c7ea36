import type { TableStore } from './servicenow-store.js'
import { errorReply, handleTableRequest, type SimReply } from './servicenow-table-api.js'

/**
 * The Batch API (`POST /api/now/v1/batch`): Table API requests carried base64-encoded in
 * one call and run one after another under the caller's session, each answered with its
 * own status. A batch saves round trips, not server time: each item costs the simulator's
 * latency, as a request of its own would, and items not started within the time limit
 * (the instance cuts a batch at 30 s) are left in `unserviced_requests`.
 */

export interface BatchRunOptions {
  /** Server time of one item (the simulator's latency). */
  itemMs: number
  /** Items not started this long after the batch began are not serviced. */
  timeLimitMs: number
  /** An injected fault answering this item instead of the Table API. */
  fault?: (method: string, table: string) => SimReply | undefined
}

// Timers may fire a fraction of a millisecond early against performance.now(): sleep again until the deadline has passed.
const sleepUntil = async (deadline: number) => {
  for (let ms = deadline - performance.now(); ms > 0; ms = deadline - performance.now()) {
    await new Promise((resolve) => setTimeout(resolve, Math.ceil(ms)))
  }
}

interface BatchItem {
  id?: string
  method?: string
  url?: string
  headers?: Array<{ name?: string, value?: string }>
  body?: string
}

const STATUS_TEXT: Record<number, string> = { 200: 'OK', 201: 'Created', 204: 'No Content', 400: 'Bad Request', 404: 'Not Found', 405: 'Method Not Allowed' }

function header (item: BatchItem, name: string): string | undefined {
  return item.headers?.find((h) => h.name?.toLowerCase() === name)?.value
}

export async function runBatch (
  bodyText: string,
  origin: string,
  store: TableStore,
  record: (method: string, table: string, reply: SimReply) => void,
  options: BatchRunOptions = { itemMs: 0, timeLimitMs: 30_000 }
): Promise<SimReply> {
  let batch: { batch_request_id?: string, rest_requests?: BatchItem[] }
  try {
    batch = JSON.parse(bodyText) as typeof batch
  } catch {
    return errorReply(400, 'Exception while reading request', 'The payload is not valid JSON.')
  }
  if (!Array.isArray(batch.rest_requests)) return errorReply(400, 'rest_requests is required')
  const started = performance.now()
  const serviced: unknown[] = []
  const unserviced: string[] = []
  for (const [index, item] of batch.rest_requests.entries()) {
    if (performance.now() - started >= options.timeLimitMs) {
      unserviced.push(item.id ?? '')
      continue
    }
    // Items run one after another: item k ends k+1 item-times after the start (a deadline,
    // so timer lateness does not pile up over a long batch).
    await sleepUntil(started + (index + 1) * options.itemMs)
    const method = (item.method ?? 'GET').toUpperCase()
    const url = new URL(item.url ?? '', origin)
    const m = /^\/api\/now\/(?:(v1|v2)\/)?table\/([^/]+)(?:\/([^/]+))?$/.exec(url.pathname)
    let reply: SimReply
    if (m === null) {
      reply = errorReply(400, 'Requested URI does not represent any resource')
    } else {
      const table = decodeURIComponent(m[2] ?? '')
      const accept = header(item, 'accept')
      reply = options.fault?.(method, table) ?? handleTableRequest(store, {
        method,
        version: m[1] === 'v2' ? 'v2' : 'v1',
        table,
        ...(m[3] !== undefined ? { sysId: decodeURIComponent(m[3]) } : {}),
        params: url.searchParams,
        body: item.body === undefined ? '' : Buffer.from(item.body, 'base64').toString('utf8'),
        contentType: header(item, 'content-type') ?? '',
        ...(accept !== undefined ? { accept } : {}),
        origin
      })
      record(method, table, reply)
    }
    serviced.push({
      id: item.id ?? '',
      status_code: reply.status,
      status_text: STATUS_TEXT[reply.status] ?? '',
      headers: Object.entries(reply.headers).map(([name, value]) => ({ name, value })),
      body: reply.body === undefined ? '' : Buffer.from(JSON.stringify(reply.body)).toString('base64'),
      execution_time: Math.round(options.itemMs)
    })
  }
  return { status: 200, headers: {}, body: { batch_request_id: batch.batch_request_id ?? '', serviced_requests: serviced, unserviced_requests: unserviced } }
}
