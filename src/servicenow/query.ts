import { QssError } from '../errors.js'

/**
 * Encoded-query builder that cannot be injected. ServiceNow does not quote values: a `^`
 * starts a new condition (`x^ORsys_id!=0` matches every row), a `,` inside IN adds a
 * value, a newline ends the query. Values that could change the query's shape are
 * rejected with QSS_QUERY_UNSAFE_VALUE instead of escaped, because the syntax has no
 * escape. Callers with scanner data check `isSafeQueryValue` first and match the rest
 * some other way (or not at all).
 *
 *   q().eq('install_status', '1').in('name', names).orderBy('sys_id').toString()
 */

/** Most values one IN condition carries; longer lists are split into several queries. */
export const MAX_IN_VALUES = 100

const FIELD = /^[a-z0-9_]+(\.[a-z0-9_]+)*$/
// `^` and control characters change any condition; `=` is refused too, as the design says,
// although it only changes the meaning of some operators.
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\^=\u0000-\u001f\u007f]/
const MAX_VALUE_LENGTH = 1000

export function isSafeQueryValue (value: string, inList = false): boolean {
  return value !== '' && value.length <= MAX_VALUE_LENGTH && !UNSAFE.test(value) && !(inList && value.includes(','))
}

function describe (value: string): string {
  const shown = JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value)
  if (value === '') return 'an empty value (use isEmpty())'
  if (value.length > MAX_VALUE_LENGTH) return `a value longer than ${MAX_VALUE_LENGTH} characters`
  if (value.includes('^')) return `${shown}: contains "^" (query separator)`
  if (value.includes('=')) return `${shown}: contains "=" (operator)`
  if (value.includes(',')) return `${shown}: contains "," inside an IN list`
  return `${shown}: contains a newline or control character`
}

export function assertSafeValue (field: string, value: string, inList = false): string {
  if (!isSafeQueryValue(value, inList)) {
    throw new QssError('QSS_QUERY_UNSAFE_VALUE', `Refused to put ${describe(value)} into the ServiceNow query on "${field}"`, {
      statusCode: 422,
      details: { field }
    })
  }
  return value
}

function assertField (field: string): string {
  if (!FIELD.test(field)) {
    throw new QssError('QSS_QUERY_UNSAFE_VALUE', `Invalid ServiceNow field name ${JSON.stringify(field)}`, { statusCode: 422, details: { field } })
  }
  return field
}

/** Splits a list into chunks of at most `size` (IN lists, batched lookups). */
export function chunk<T> (items: readonly T[], size = MAX_IN_VALUES): T[][] {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

export class EncodedQuery {
  private readonly terms: string[] = []
  private readonly order: string[] = []
  private joiner: '^' | '^OR' | '^NQ' = '^'

  private add (term: string): this {
    if (this.terms.length > 0) this.terms.push(this.joiner, term)
    else this.terms.push(term)
    this.joiner = '^'
    return this
  }

  private cond (field: string, op: string, value: string): this {
    return this.add(`${assertField(field)}${op}${assertSafeValue(field, value)}`)
  }

  /** The next condition is OR'ed with the previous one. */
  or (): this { this.joiner = '^OR'; return this }
  /** The next condition starts a new OR'ed group (`^NQ`). */
  newQuery (): this { this.joiner = '^NQ'; return this }

  eq (field: string, value: string): this { return this.cond(field, '=', value) }
  ne (field: string, value: string): this { return this.cond(field, '!=', value) }
  startsWith (field: string, value: string): this { return this.cond(field, 'STARTSWITH', value) }
  endsWith (field: string, value: string): this { return this.cond(field, 'ENDSWITH', value) }
  like (field: string, value: string): this { return this.cond(field, 'LIKE', value) }
  lt (field: string, value: string): this { return this.cond(field, '<', value) }
  gt (field: string, value: string): this { return this.cond(field, '>', value) }
  isEmpty (field: string): this { return this.add(`${assertField(field)}ISEMPTY`) }
  isNotEmpty (field: string): this { return this.add(`${assertField(field)}ISNOTEMPTY`) }

  in (field: string, values: readonly string[]): this { return this.list(field, 'IN', values) }
  notIn (field: string, values: readonly string[]): this { return this.list(field, 'NOT IN', values) }

  private list (field: string, op: string, values: readonly string[]): this {
    if (values.length === 0) {
      throw new QssError('QSS_QUERY_UNSAFE_VALUE', `Empty ${op} list on "${field}": it would not restrict the query`, { statusCode: 422, details: { field } })
    }
    if (values.length > MAX_IN_VALUES) {
      throw new QssError('QSS_QUERY_UNSAFE_VALUE', `${op} list on "${field}" has ${values.length} values; split it with chunk() (at most ${MAX_IN_VALUES})`, { statusCode: 422, details: { field } })
    }
    for (const v of values) assertSafeValue(field, v, true)
    return this.add(`${assertField(field)}${op}${values.join(',')}`)
  }

  orderBy (field: string): this { this.order.push(`ORDERBY${assertField(field)}`); return this }
  orderByDesc (field: string): this { this.order.push(`ORDERBYDESC${assertField(field)}`); return this }

  hasOrder (): boolean { return this.order.length > 0 }

  toString (): string {
    return [this.terms.join(''), ...this.order].filter((t) => t !== '').join('^')
  }
}

export function q (): EncodedQuery {
  return new EncodedQuery()
}
