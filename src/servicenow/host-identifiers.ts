import { isIP } from 'node:net'
import type { FindingHost } from '../findings/model.js'
import { isSafeQueryValue } from './query.js'

/**
 * What a Qualys host can be matched on, per CI match rule, normalised the same way the
 * CMDB values are compared: lower case, no trailing dot, short name = first DNS label.
 * Only values that are well-formed host names or IP addresses come out, so scanner data
 * with query syntax (`evil^ORsys_id!=0`) is never offered to a query.
 */

export const MATCH_RULES = ['fqdn', 'name', 'ip'] as const
export type MatchRule = typeof MATCH_RULES[number]

export type HostIdentifiers = Record<MatchRule, string[]>

const HOST_NAME = /^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$/

/** Parses `CI_MATCH_RULES` (`fqdn,name,ip`); unknown or repeated rules are refused. */
export function parseMatchRules (text: string): MatchRule[] {
  const rules = text.split(',').map((r) => r.trim()).filter((r) => r !== '')
  const out: MatchRule[] = []
  for (const rule of rules) {
    if (!(MATCH_RULES as readonly string[]).includes(rule)) throw new Error(`Unknown CI match rule "${rule}" (known: ${MATCH_RULES.join(', ')})`)
    if (out.includes(rule as MatchRule)) throw new Error(`CI match rule "${rule}" is listed twice`)
    out.push(rule as MatchRule)
  }
  if (out.length === 0) throw new Error('No CI match rule given')
  return out
}

export function normaliseHostName (value: string): string {
  return value.trim().toLowerCase().replace(/\.+$/, '')
}

function validName (value: string): boolean {
  return HOST_NAME.test(value) && value.length <= 253 && isSafeQueryValue(value, true)
}

const unique = (values: Array<string | undefined>) => [...new Set(values.filter((v): v is string => v !== undefined && v !== ''))]

export function hostIdentifiers (host: FindingHost): HostIdentifiers {
  // Qualys puts an IP in DNS fields when reverse lookup failed: that is no name.
  const names = unique([host.fqdn, host.dns].map((v) => v === undefined ? undefined : normaliseHostName(v))).filter((n) => isIP(n) === 0)
  const fqdn = names.filter((n) => n.includes('.') && validName(n))
  const short = unique([
    ...names.map((n) => n.split('.')[0]),
    host.netbios === undefined ? undefined : normaliseHostName(host.netbios)
  ]).filter(validName)
  const ip = unique([host.ip, host.ipv6].map((v) => v?.trim().toLowerCase())).filter((v) => isIP(v) !== 0 && isSafeQueryValue(v, true))
  return { fqdn, name: short, ip }
}
