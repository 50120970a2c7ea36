import { QssError } from '../errors.js'

/**
 * Keyset pagination over id-ordered indexes. The memory store runs scanIndexes; the Redis
 * store runs the same walk as a server-side script (redis-store.ts), and the contract test
 * holds both to the same pages, caps and cursors.
 */

export function encodeCursor (lastId: string): string {
  return Buffer.from(lastId, 'utf8').toString('base64url')
}

const BASE64URL = /^[A-Za-z0-9_-]{1,700}$/

/** The id a cursor continues after. Anything we did not hand out is a client error. */
export function decodeCursor (cursor: string): string {
  const id = BASE64URL.test(cursor) ? Buffer.from(cursor, 'base64url').toString('utf8') : ''
  // Round-tripping rejects padding tricks and bytes that were never UTF-8 text.
  if (id === '' || encodeCursor(id) !== cursor || /\p{Cc}/u.test(id)) {
    throw new QssError('QSS_REQUEST_INVALID', 'cursor is not one this API returned: pass nextCursor from the previous page unchanged', { statusCode: 400 })
  }
  return id
}

/** Sets of ids, each kept in id (byte) order. */
export interface OrderedIndexes {
  /** Size of each index; 0 for one that does not exist. */
  sizes (terms: readonly string[]): Promise<number[]>
  /** Up to `count` ids of `term` strictly after `after` (from the start when undefined). */
  range (term: string, after: string | undefined, count: number): Promise<string[]>
  /** For each term, whether each id belongs to it. */
  contains (terms: readonly string[], ids: readonly string[]): Promise<boolean[][]>
}

export interface ScanResult {
  ids: string[]
  /** The id to continue after; undefined when the driving index is exhausted. */
  continueAfter?: string
}

const MIN_BATCH = 64
const MAX_BATCH = 1000

/**
 * Walks the smallest index among `terms` from `after`, keeping the ids that every other
 * index also holds, until `limit` ids are kept, the index ends, or `cap` ids have been
 * examined. The cap bounds the work of a sparse intersection: the caller gets what was
 * found and a place to continue, never a request that scans 200,000 entries.
 */
export async function scanIndexes (indexes: OrderedIndexes, terms: readonly string[], opts: { limit: number, after?: string, cap: number }): Promise<ScanResult> {
  const ordered = [...terms]
  if (terms.length > 1) {
    const sizes = new Map((await indexes.sizes(terms)).map((size, i) => [terms[i] as string, size]))
    // Smallest first: it drives the walk, and the next smallest rejects a candidate soonest.
    ordered.sort((a, b) => (sizes.get(a) ?? 0) - (sizes.get(b) ?? 0))
    if ((sizes.get(ordered[0] as string) ?? 0) === 0) return { ids: [] }
  }
  const [driverTerm, ...others] = ordered as [string, ...string[]]

  const ids: string[] = []
  let after = opts.after
  let examined = 0
  // Without other filters every id is kept, so fetch exactly what is missing; with them,
  // start at twice that and grow, since the density of matches is unknown.
  let batch = others.length === 0 ? opts.limit : Math.min(MAX_BATCH, Math.max(MIN_BATCH, opts.limit * 2))
  for (;;) {
    const room = Math.min(batch, opts.cap - examined)
    // One extra id tells whether anything follows without another round trip.
    const fetched = await indexes.range(driverTerm, after, room + 1)
    const candidates = fetched.slice(0, room)
    const member = others.length === 0 ? [] : await indexes.contains(others, candidates)
    for (let i = 0; i < candidates.length; i++) {
      const id = candidates[i] as string
      examined++
      after = id
      if (!member.every((flags) => flags[i] === true)) continue
      ids.push(id)
      if (ids.length === opts.limit) {
        return i + 1 < fetched.length ? { ids, continueAfter: id } : { ids }
      }
    }
    if (fetched.length <= room) return { ids }
    if (examined >= opts.cap) return after === undefined ? { ids } : { ids, continueAfter: after }
    batch = others.length === 0 ? opts.limit - ids.length : Math.min(MAX_BATCH, batch * 2)
  }
}
