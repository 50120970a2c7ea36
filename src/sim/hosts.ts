import { SeededRandom, hashSeed } from './random.js'

/**
 * The simulated estate: hosts as Qualys sees them and the CMDB rows ServiceNow holds for
 * them, generated together from one seed so both simulators describe the same world.
 * Every awkward case real estates have appears at a fixed rhythm (by index), so even a
 * 25-host world contains each one and tests can name the host they expect to see.
 */

/** What the CMDB holds for a host, i.e. how CI matching is expected to end. */
export const CmdbShape = {
  /** A CI with fqdn, name and ip_address: matches on the first rule. */
  fqdn: 'fqdn',
  /** A CI with the short name only (no fqdn, no IP): matches on `name`. */
  nameOnly: 'name-only',
  /** A CI named by asset tag, its IP only on a cmdb_ci_network_adapter row: matches on `ip`. */
  adapterIp: 'adapter-ip',
  /** No CI at all: unmatched. */
  missing: 'missing',
  /** Two CIs with the same short name and nothing else to tell them apart: ambiguous. */
  ambiguous: 'ambiguous'
} as const
export type CmdbShape = typeof CmdbShape[keyof typeof CmdbShape]

/** Naming quirks seen in real scanner data. */
export const HostQuirk = {
  none: 'none',
  upperCase: 'upper-case',
  trailingDot: 'trailing-dot',
  /** Same DNS name as the previous host (re-imaged or cloned machine), another IP. */
  duplicateName: 'duplicate-name',
  /** DNS/NetBIOS carrying encoded-query syntax (`^`, `,`, `=`). */
  hostile: 'hostile'
} as const
export type HostQuirk = typeof HostQuirk[keyof typeof HostQuirk]

export interface SimHost {
  index: number
  /** Qualys host ID (HOST/ID), numeric text. */
  qualysHostId: string
  ip: string
  /** Qualys DNS field (here the FQDN, as Qualys commonly reports it), quirks applied. */
  dns?: string
  /** DNS_DATA/FQDN. */
  fqdn?: string
  /** DNS_DATA/HOSTNAME. */
  hostname?: string
  netbios?: string
  os: string
  trackingMethod: 'IP' | 'DNS' | 'NETBIOS' | 'AGENT'
  cmdb: CmdbShape
  quirk: HostQuirk
}

export interface SimCi {
  sys_id: string
  sys_class_name: string
  name: string
  fqdn: string
  host_name: string
  ip_address: string
  os: string
  install_status: string
  operational_status: string
}

export interface SimNetworkAdapter {
  sys_id: string
  name: string
  ip_address: string
  /** sys_id of the hardware CI the adapter belongs to. */
  cmdb_ci: string
}

export interface SimEstate {
  hosts: SimHost[]
  cis: SimCi[]
  adapters: SimNetworkAdapter[]
}

export const SIM_DOMAIN = 'corp.example.com'

const OSES = [
  { os: 'Red Hat Enterprise Linux 8.9', ciClass: 'cmdb_ci_linux_server' },
  { os: 'Ubuntu 22.04.4 LTS', ciClass: 'cmdb_ci_linux_server' },
  { os: 'Windows Server 2019 Datacenter', ciClass: 'cmdb_ci_win_server' },
  { os: 'Windows Server 2022 Standard', ciClass: 'cmdb_ci_win_server' },
  { os: 'Oracle Linux 9.3', ciClass: 'cmdb_ci_linux_server' },
  { os: 'AIX 7.2', ciClass: 'cmdb_ci_server' }
]
const ROLES = ['web', 'db', 'app', 'dc', 'files', 'mq', 'cache', 'batch']
const HOSTILE_NAMES = ['evil^ORsys_id!=0', 'x,y=z', 'a^NQname!=b', 'name=1^ORDERBYsys_id']

/** 25-slot rhythm of CMDB shapes: 60% fqdn, 12% name-only, 8% adapter IP, 12% missing, 4% ambiguous, 4% hostile (missing). */
function shapeOf (index: number): { cmdb: CmdbShape, hostile: boolean } {
  const slot = index % 25
  if (slot < 15) return { cmdb: CmdbShape.fqdn, hostile: false }
  if (slot < 18) return { cmdb: CmdbShape.nameOnly, hostile: false }
  if (slot < 20) return { cmdb: CmdbShape.adapterIp, hostile: false }
  if (slot < 23) return { cmdb: CmdbShape.missing, hostile: false }
  if (slot < 24) return { cmdb: CmdbShape.ambiguous, hostile: false }
  return { cmdb: CmdbShape.missing, hostile: true }
}

/** Deterministic sys_id-like 32-hex id. */
export function simSysId (...parts: Array<string | number>): string {
  let out = ''
  for (let i = 0; out.length < 32; i++) out += hashSeed(...parts, i).toString(16).padStart(8, '0')
  return out.slice(0, 32)
}

export function hostIp (index: number): string {
  const n = index + 1
  return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`
}

export function generateEstate (options: { seed: number, hosts: number }): SimEstate {
  const hosts: SimHost[] = []
  const cis: SimCi[] = []
  const adapters: SimNetworkAdapter[] = []
  for (let index = 0; index < options.hosts; index++) {
    const rnd = new SeededRandom(hashSeed(options.seed, 'host', index))
    const role = rnd.pick(ROLES)
    const platform = rnd.pick(OSES)
    const { cmdb, hostile } = shapeOf(index)
    let short = `${role}-${String(index).padStart(5, '0')}`
    let quirk: HostQuirk = HostQuirk.none
    const previous = hosts[index - 1]
    if (hostile) {
      quirk = HostQuirk.hostile
      short = HOSTILE_NAMES[Math.floor(index / 25) % HOSTILE_NAMES.length] as string
    } else if (index % 25 === 14 && previous !== undefined && previous.hostname !== undefined) {
      quirk = HostQuirk.duplicateName
      short = previous.hostname
    }
    const fqdn = `${short}.${SIM_DOMAIN}`
    let dns = fqdn
    if (quirk === HostQuirk.none && index % 10 === 3) { quirk = HostQuirk.upperCase; dns = fqdn.toUpperCase() }
    if (quirk === HostQuirk.none && index % 10 === 7) { quirk = HostQuirk.trailingDot; dns = `${fqdn}.` }
    const isWindows = platform.ciClass === 'cmdb_ci_win_server'
    const host: SimHost = {
      index,
      qualysHostId: String(100000 + index * 7),
      ip: hostIp(index),
      dns,
      fqdn,
      hostname: short,
      os: platform.os,
      trackingMethod: rnd.chance(0.2) ? 'AGENT' : 'IP',
      cmdb,
      quirk
    }
    if (isWindows || hostile) host.netbios = short.toUpperCase().slice(0, 15)
    hosts.push(host)

    const ciBase = {
      sys_class_name: platform.ciClass,
      os: platform.os,
      install_status: '1',
      operational_status: '1'
    }
    if (quirk === HostQuirk.duplicateName) continue // the previous host's CI covers this name
    switch (cmdb) {
      case CmdbShape.fqdn:
        cis.push({ ...ciBase, sys_id: simSysId('ci', index), name: short, fqdn, host_name: short, ip_address: host.ip })
        break
      case CmdbShape.nameOnly:
        cis.push({ ...ciBase, sys_id: simSysId('ci', index), name: short.toUpperCase(), fqdn: '', host_name: '', ip_address: '' })
        break
      case CmdbShape.adapterIp: {
        const sysId = simSysId('ci', index)
        cis.push({ ...ciBase, sys_id: sysId, name: `ASSET-${String(index).padStart(6, '0')}`, fqdn: '', host_name: '', ip_address: '' })
        adapters.push({ sys_id: simSysId('nic', index), name: 'eth0', ip_address: host.ip, cmdb_ci: sysId })
        break
      }
      case CmdbShape.ambiguous:
        for (const copy of [0, 1]) {
          cis.push({ ...ciBase, sys_id: simSysId('ci', index, copy), name: short, fqdn: '', host_name: '', ip_address: '' })
        }
        break
      case CmdbShape.missing:
        break
    }
  }
  return { hosts, cis, adapters }
}
