import { Risk } from '../findings/model.js'

/**
 * FedRAMP Rev5 RA-5(d) remediation windows, counted from the original detection date.
 * The clock never restarts on later scans: callers pass the date kept on the record.
 */
export const REMEDIATION_DAYS: Record<Risk, number> = { [Risk.High]: 30, [Risk.Moderate]: 90, [Risk.Low]: 180 }

const DAY_MS = 86_400_000
const DATE_PREFIX = /^(\d{4})-(\d{2})-(\d{2})/

/** `YYYY-MM-DD` of an instant, in UTC. */
export function utcDate (value: Date | string): string {
  const date = typeof value === 'string' ? new Date(value) : value
  if (Number.isNaN(date.getTime())) throw new RangeError(`not a date: ${String(value)}`)
  return date.toISOString().slice(0, 10)
}

/**
 * The `YYYY-MM-DD` a stored value starts with (ServiceNow returns dates as `YYYY-MM-DD`
 * and date-times as `YYYY-MM-DD HH:mm:ss`), or undefined when it does not look like one.
 */
export function datePart (value: string | undefined): string | undefined {
  const m = DATE_PREFIX.exec(value ?? '')
  if (m === null) return undefined
  const date = `${m[1]}-${m[2]}-${m[3]}`
  return Number.isNaN(Date.parse(`${date}T00:00:00Z`)) ? undefined : date
}

/** Adds whole days to a `YYYY-MM-DD` date, in UTC (no daylight-saving drift). */
export function addDays (date: string, days: number): string {
  const start = Date.parse(`${date}T00:00:00Z`)
  if (Number.isNaN(start)) throw new RangeError(`not a date: ${date}`)
  return new Date(start + days * DAY_MS).toISOString().slice(0, 10)
}

export function scheduledCompletionDate (originalDetectionDate: string, risk: Risk): string {
  return addDays(originalDetectionDate, REMEDIATION_DAYS[risk])
}

/** The later of two optional ISO instants or dates. */
export function latest (a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined) return b
  if (b === undefined) return a
  return Date.parse(a) >= Date.parse(b) ? a : b
}

export function earliest (a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined) return b
  if (b === undefined) return a
  return Date.parse(a) <= Date.parse(b) ? a : b
}

/** True when the value parses as an instant; scanner dates that do not are ignored. */
export function isInstant (value: string | undefined): value is string {
  return value !== undefined && value !== '' && !Number.isNaN(Date.parse(value))
}
