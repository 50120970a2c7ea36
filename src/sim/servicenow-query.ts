/**
 * The ServiceNow simulator's encoded-query evaluator. It reproduces the parts of real
 * behaviour that bite integrations:
 * - values are not quoted, so `^`, `^OR`, `^NQ` and `,` (inside IN) in a value change the
 *   query exactly as they would on an instance (a hostile host name widens a naive query);
 * - a condition on a field the table does not have is silently ignored, which widens the
 *   query (a misspelt field matches every row);
 * - string comparison for `=`, `!=`, `IN`, `NOT IN`, `STARTSWITH`, `ENDSWITH`, `LIKE` is
 *   case-insensitive, as on typical instances (default collation); clients must not rely on
 *   it either way.
 */

export type SimRow = Record<string, string>

const OPERATORS = [
  'ISNOTEMPTY', 'ISEMPTY', 'NOT IN', 'NOT LIKE', 'NOTLIKE', 'IN', 'LIKE', 'STARTSWITH', 'ENDSWITH',
  '!=', '>=', '<=', '=', '<', '>'
] as const
type Operator = typeof OPERATORS[number]

interface Condition { field: string, op: Operator, value: string }
/** Conditions OR'ed together (`a=1^ORb=2`). */
type Disjunction = Condition[]
/** Disjunctions AND'ed together (`^`). */
type Group = Disjunction[]

export interface ParsedQuery {
  /** Groups OR'ed together (`^NQ`); no group means every row. */
  groups: Group[]
  orderBy: Array<{ field: string, desc: boolean }>
}

function parseCondition (term: string): Condition | undefined {
  const field = /^[a-z0-9_.]+/.exec(term)?.[0]
  if (field === undefined) return undefined
  const rest = term.slice(field.length)
  for (const op of OPERATORS) {
    if (rest.startsWith(op)) return { field, op, value: rest.slice(op.length) }
  }
  return undefined
}

/**
 * Parses an encoded query. `knownField` decides which conditions count; the others are
 * dropped the way an instance drops them.
 */
export function parseEncodedQuery (query: string, knownField: (field: string) => boolean): ParsedQuery {
  const parsed: ParsedQuery = { groups: [], orderBy: [] }
  if (query === '') return parsed
  for (const groupText of query.split('^NQ')) {
    const group: Group = []
    for (const term of groupText.split('^')) {
      if (term === '' || term === 'EQ') continue
      if (term.startsWith('ORDERBYDESC')) { parsed.orderBy.push({ field: term.slice(11), desc: true }); continue }
      if (term.startsWith('ORDERBY')) { parsed.orderBy.push({ field: term.slice(7), desc: false }); continue }
      const isOr = term.startsWith('OR') && group.length > 0
      const condition = parseCondition(isOr ? term.slice(2) : term)
      if (condition === undefined || !knownField(condition.field)) continue
      const last = group[group.length - 1]
      if (isOr && last !== undefined) last.push(condition)
      else group.push([condition])
    }
    parsed.groups.push(group)
  }
  return parsed
}

const lower = (s: string) => s.toLowerCase()

// Short decimal numbers compare as numbers (priority, counts); everything else, sys_ids and
// `YYYY-MM-DD HH:mm:ss` dates included, compares as text, which keeps the order total.
const SMALL_NUMBER = /^-?\d{1,15}(\.\d+)?$/

function compare (a: string, b: string): number {
  if (SMALL_NUMBER.test(a) && SMALL_NUMBER.test(b)) return Number(a) - Number(b)
  const la = lower(a)
  const lb = lower(b)
  if (la !== lb) return la < lb ? -1 : 1
  return a < b ? -1 : a > b ? 1 : 0
}

function likeMatches (cell: string, pattern: string): boolean {
  // LIKE is "contains"; `%` inside the pattern is a wildcard.
  const escaped = lower(pattern).split('%').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')
  return new RegExp(escaped, 's').test(lower(cell))
}

// A condition's lower-cased value (and IN list) is computed once per query, not once per row:
// lookups scan whole tables, and tables grow to tens of thousands of rows in benchmarks.
const loweredValue = new WeakMap<Condition, string>()
const loweredList = new WeakMap<Condition, Set<string>>()

function valueOf (c: Condition): string {
  let v = loweredValue.get(c)
  if (v === undefined) { v = lower(c.value); loweredValue.set(c, v) }
  return v
}

function listOf (c: Condition): Set<string> {
  let set = loweredList.get(c)
  if (set === undefined) { set = new Set(c.value.split(',').map(lower)); loweredList.set(c, set) }
  return set
}

function conditionMatches (row: SimRow, c: Condition): boolean {
  const cell = row[c.field] ?? ''
  switch (c.op) {
    case 'ISEMPTY': return cell === ''
    case 'ISNOTEMPTY': return cell !== ''
    case '=': return lower(cell) === valueOf(c)
    case '!=': return lower(cell) !== valueOf(c)
    case 'IN': return listOf(c).has(lower(cell))
    case 'NOT IN': return !listOf(c).has(lower(cell))
    case 'STARTSWITH': return lower(cell).startsWith(lower(c.value))
    case 'ENDSWITH': return lower(cell).endsWith(lower(c.value))
    case 'LIKE': return likeMatches(cell, c.value)
    case 'NOT LIKE':
    case 'NOTLIKE': return !likeMatches(cell, c.value)
    case '<': return compare(cell, c.value) < 0
    case '>': return compare(cell, c.value) > 0
    case '<=': return compare(cell, c.value) <= 0
    case '>=': return compare(cell, c.value) >= 0
  }
}

export function rowMatches (row: SimRow, query: ParsedQuery): boolean {
  if (query.groups.length === 0) return true
  return query.groups.some((group) => group.every((any) => any.some((c) => conditionMatches(row, c))))
}

/**
 * A condition every matching row must meet and that an index can answer (`field=value` or
 * `fieldINa,b`, AND'ed at the top level of a single group), or undefined. The rows it
 * selects still go through `evaluate`.
 */
export function indexableCondition (query: ParsedQuery): { field: string, values: string[] } | undefined {
  if (query.groups.length !== 1) return undefined
  for (const any of query.groups[0] ?? []) {
    const c = any.length === 1 ? any[0] : undefined
    if (c === undefined) continue
    if (c.op === '=') return { field: c.field, values: [c.value] }
    if (c.op === 'IN') return { field: c.field, values: c.value.split(',') }
  }
  return undefined
}

/** Filters and orders rows; ties keep insertion order (an instance gives no guarantee). */
export function evaluate (rows: Iterable<SimRow>, query: ParsedQuery): SimRow[] {
  const out: SimRow[] = []
  for (const row of rows) if (rowMatches(row, query)) out.push(row)
  if (query.orderBy.length === 0) return out
  return out.sort((a, b) => {
    for (const { field, desc } of query.orderBy) {
      const d = compare(a[field] ?? '', b[field] ?? '')
      if (d !== 0) return desc ? -d : d
    }
    return 0
  })
}
