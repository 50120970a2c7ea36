import { evaluate, indexableCondition, parseEncodedQuery, type SimRow } from './servicenow-query.js'
import type { TableStore } from './servicenow-store.js'

/**
 * The Table API over the simulator's store, as plain functions (the HTTP server and the
 * Batch API both call them): status codes, the `{result}` and error envelopes, reference
 * links, `sysparm_*` parameters, `Link` / `X-Total-Count`, and v1's 404 on an empty list.
 */

export interface SimReply {
  status: number
  headers: Record<string, string>
  body: unknown
}

export interface TableRequest {
  method: string
  /** 'v1' or 'v2'; the unversioned path behaves as v1. */
  version: 'v1' | 'v2'
  table: string
  sysId?: string
  params: URLSearchParams
  /** Raw request body text (writes only). */
  body?: string
  contentType?: string
  accept?: string
  /** Origin used in links: `http://127.0.0.1:<port>`. */
  origin: string
}

export function errorReply (status: number, message: string, detail: string | null = null, headers: Record<string, string> = {}): SimReply {
  return { status, headers, body: { error: { message, detail }, status: 'failure' } }
}

const DEFAULT_LIMIT = 10000

function render (store: TableStore, table: string, row: SimRow, params: URLSearchParams, origin: string): Record<string, unknown> {
  const columns = store.columns(table)
  const requested = (params.get('sysparm_fields') ?? '').split(',').map((f) => f.trim()).filter((f) => f !== '')
  // Unknown entries in sysparm_fields are ignored, like an instance does.
  const fields = requested.length > 0 ? requested.filter((f) => columns.has(f)) : Object.keys(row)
  const withLinks = params.get('sysparm_exclude_reference_link') !== 'true'
  const out: Record<string, unknown> = {}
  for (const field of fields) {
    const value = row[field] ?? ''
    const target = store.referenceTarget(table, field)
    out[field] = withLinks && target !== undefined && value !== ''
      ? { link: `${origin}/api/now/table/${target}/${value}`, value }
      : value
  }
  return out
}

function linkHeader (req: TableRequest, offset: number, limit: number, total: number | undefined, pageRows: number): string | undefined {
  const base = `${req.origin}/api/now/${req.version === 'v2' ? 'v2/' : ''}table/${req.table}`
  const at = (o: number) => {
    const p = new URLSearchParams(req.params)
    p.set('sysparm_offset', String(o))
    p.set('sysparm_limit', String(limit))
    return `<${base}?${p.toString()}>`
  }
  const hasNext = total !== undefined ? offset + pageRows < total : pageRows === limit
  // One page only: an instance sends no Link header.
  if (offset === 0 && !hasNext) return undefined
  const links: string[] = [`${at(0)};rel="first"`]
  if (offset > 0) links.push(`${at(Math.max(0, offset - limit))};rel="prev"`)
  if (hasNext) links.push(`${at(offset + limit)};rel="next"`)
  if (total !== undefined) links.push(`${at(Math.max(0, Math.floor((total - 1) / limit) * limit))};rel="last"`)
  return links.join(',')
}

function listRows (store: TableStore, req: TableRequest): SimReply {
  const columns = store.columns(req.table)
  const query = parseEncodedQuery(req.params.get('sysparm_query') ?? '', (f) => columns.has(f))
  const seed = indexableCondition(query)
  const matched = evaluate(seed === undefined ? store.all(req.table) : store.lookup(req.table, seed.field, seed.values), query)
  const limitParam = Number(req.params.get('sysparm_limit') ?? DEFAULT_LIMIT)
  const limit = Number.isInteger(limitParam) && limitParam > 0 ? limitParam : DEFAULT_LIMIT
  const offsetParam = Number(req.params.get('sysparm_offset') ?? 0)
  const offset = Number.isInteger(offsetParam) && offsetParam > 0 ? offsetParam : 0
  const page = matched.slice(offset, offset + limit)
  if (page.length === 0 && req.version === 'v1') {
    return errorReply(404, 'No Record found', 'Records matching query not found. Check query parameter or offset parameter')
  }
  const headers: Record<string, string> = {}
  const total = req.params.get('sysparm_no_count') === 'true' ? undefined : matched.length
  if (total !== undefined) headers['x-total-count'] = String(total)
  if (req.params.get('sysparm_suppress_pagination_header') !== 'true') {
    const link = linkHeader(req, offset, limit, total, page.length)
    if (link !== undefined) headers.link = link
  }
  return { status: 200, headers, body: { result: page.map((row) => render(store, req.table, row, req.params, req.origin)) } }
}

function parseBody (req: TableRequest): Record<string, unknown> | SimReply {
  if (!(req.contentType ?? '').includes('application/json') || req.accept === undefined) {
    return errorReply(400, 'Requested URI does not represent any resource', 'Accept and Content-Type headers must be set for writes')
  }
  try {
    const parsed: unknown = JSON.parse(req.body ?? '')
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object')
    return parsed as Record<string, unknown>
  } catch {
    return errorReply(400, 'Exception while reading request', 'The payload is not valid JSON.')
  }
}

const isReply = (v: unknown): v is SimReply => typeof v === 'object' && v !== null && 'status' in v && 'headers' in v && 'body' in v

export function handleTableRequest (store: TableStore, req: TableRequest): SimReply {
  if (!store.has(req.table)) return errorReply(400, `Invalid table ${req.table}`)
  const method = req.method.toUpperCase()
  if (req.sysId === undefined) {
    if (method === 'GET') return listRows(store, req)
    if (method !== 'POST') return errorReply(405, 'Method not Supported', `${method} needs a sys_id`)
    const body = parseBody(req)
    if (isReply(body)) return body
    const row = store.insert(req.table, body)
    return { status: 201, headers: { location: `${req.origin}/api/now/table/${req.table}/${row.sys_id}` }, body: { result: render(store, req.table, row, req.params, req.origin) } }
  }
  const missing = errorReply(404, 'No Record found', 'Record doesn\'t exist or ACL restricts the record retrieval')
  switch (method) {
    case 'GET': {
      const found = store.find(req.table, req.sysId)
      return found === undefined ? missing : { status: 200, headers: {}, body: { result: render(store, found.physical, found.row, req.params, req.origin) } }
    }
    case 'PATCH':
    case 'PUT': {
      const body = parseBody(req)
      if (isReply(body)) return body
      const row = store.update(req.table, req.sysId, body)
      return row === undefined ? missing : { status: 200, headers: {}, body: { result: render(store, req.table, row, req.params, req.origin) } }
    }
    case 'DELETE':
      return store.delete(req.table, req.sysId) ? { status: 204, headers: {}, body: undefined } : missing
    default:
      return errorReply(405, 'Method not Supported', `${method} is not supported`)
  }
}
