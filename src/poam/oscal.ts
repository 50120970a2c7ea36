import { assetLabel } from './text.js'
import type { PoamAsset, PoamItem } from './item.js'
import { uuidV5 } from './uuid.js'

/**
 * OSCAL 1.1.2 POA&M export (JSON). One POA&M record becomes one `poam-item` with one
 * observation (what Qualys saw, on which inventory items) and one risk (rating, status,
 * deadline, remediation milestone). Every uuid is derived from stable names (correlation
 * id, Qualys host id, system id), so re-exporting the same state gives the same
 * document apart from `last-modified`. Arrays that would be empty are left out: OSCAL
 * requires at least one entry in every array it allows. `poam-items` is required, so an
 * export of no records is not a valid document; callers should not publish one.
 */
export const OSCAL_VERSION = '1.1.2'
export const FEDRAMP_NS = 'https://fedramp.gov/ns/oscal'
const NIST_NS = 'http://csrc.nist.gov/ns/oscal'

export interface OscalOptions {
  /** The system the POA&M belongs to (FedRAMP: the package ID). */
  systemId: string
  systemIdType?: string
  title?: string
  version?: string
  /** Link to the system security plan, when there is one. */
  sspHref?: string
  now: Date | string
}

type Json = Record<string, unknown>

const instant = (date: string): string => `${date}T00:00:00Z`
const prop = (name: string, value: string, ns?: string): Json => ns === undefined ? { name, value } : { name, ns, value }
const nonEmpty = <T>(key: string, values: T[]): Json => values.length === 0 ? {} : { [key]: values }

/** OSCAL control ids are lower-case tokens (`ra-5`); Qualys control IDs are not controls. */
function oscalControlIds (controls: readonly string[]): string[] {
  return controls.filter((c) => /^[A-Za-z]{2}-\d+(\(\d+\))?$/.test(c)).map((c) => c.toLowerCase().replace(/\((\d+)\)$/, '.$1'))
}

export function toOscalPoam (records: Iterable<PoamItem | { item: PoamItem }>, options: OscalOptions): Json {
  const items = [...records].map((r) => 'item' in r ? r.item : r).sort((a, b) => a.correlationId.localeCompare(b.correlationId))
  const tools = new Map<string, string>()
  const inventory = new Map<string, PoamAsset>()
  for (const item of items) {
    tools.set(item.detectorSource, uuidV5(`tool:${item.detectorSource}`))
    for (const asset of item.assets) inventory.set(asset.qualysHostId, asset)
  }
  const assetUuid = (a: PoamAsset): string => uuidV5(`asset:qualys-host:${a.qualysHostId}`)
  const actor = (item: PoamItem): Json => ({ actors: [{ type: 'tool', 'actor-uuid': tools.get(item.detectorSource) }] })

  const observations = items.map((item) => ({
    uuid: uuidV5(`observation:${item.correlationId}`),
    title: item.weaknessName,
    description: item.summary,
    methods: ['TEST'],
    types: ['finding'],
    origins: [actor(item)],
    ...nonEmpty('subjects', item.assets.map((a) => ({ 'subject-uuid': assetUuid(a), type: 'inventory-item', title: assetLabel(a) }))),
    collected: instant(item.originalDetectionDate)
  }))

  const risks = items.map((item) => ({
    uuid: uuidV5(`risk:${item.correlationId}`),
    title: item.weaknessName,
    description: item.weaknessDescription,
    statement: item.summary,
    ...nonEmpty('props', oscalControlIds(item.controls).map((id) => prop('impacted-control-id', id))),
    status: item.open ? 'open' : 'closed',
    origins: [actor(item)],
    characterizations: [{
      origin: actor(item),
      facets: [{ name: 'risk', system: NIST_NS, value: item.risk.toLowerCase() }]
    }],
    deadline: instant(item.scheduledCompletionDate),
    remediations: [{
      uuid: uuidV5(`remediation:${item.correlationId}`),
      lifecycle: 'planned',
      title: 'Remediation plan',
      description: item.remediationPlan,
      tasks: [{
        uuid: uuidV5(`milestone:${item.correlationId}`),
        type: 'milestone',
        title: 'Scheduled completion',
        timing: { 'on-date': { date: instant(item.scheduledCompletionDate) } }
      }]
    }],
    'related-observations': [{ 'observation-uuid': uuidV5(`observation:${item.correlationId}`) }]
  }))

  const poamItems = items.map((item) => ({
    uuid: uuidV5(`poam-item:${item.correlationId}`),
    title: item.weaknessName,
    description: item.summary,
    props: [prop('POAM-ID', item.correlationId, FEDRAMP_NS)],
    'related-observations': [{ 'observation-uuid': uuidV5(`observation:${item.correlationId}`) }],
    'related-risks': [{ 'risk-uuid': uuidV5(`risk:${item.correlationId}`) }]
  }))

  const components = [...tools].sort().map(([title, uuid]) => ({
    uuid,
    type: 'software',
    title,
    description: `${title}, the scanner that detected these weaknesses.`,
    status: { state: 'operational' }
  }))
  const inventoryItems = [...inventory.values()].sort((a, b) => a.qualysHostId.localeCompare(b.qualysHostId)).map((a) => ({
    uuid: assetUuid(a),
    description: assetLabel(a),
    props: [
      prop('asset-id', a.qualysHostId),
      ...(a.fqdn === undefined ? [] : [prop('fqdn', a.fqdn)]),
      ...(a.ip === undefined ? [] : [prop('ipv4-address', a.ip)])
    ]
  }))
  const localDefinitions = { ...nonEmpty('components', components), ...nonEmpty('inventory-items', inventoryItems) }

  return {
    'plan-of-action-and-milestones': {
      uuid: uuidV5(`poam:${options.systemId}`),
      metadata: {
        title: options.title ?? `POA&M for ${options.systemId}`,
        'last-modified': new Date(options.now).toISOString(),
        version: options.version ?? new Date(options.now).toISOString().slice(0, 10),
        'oscal-version': OSCAL_VERSION
      },
      ...(options.sspHref === undefined ? {} : { 'import-ssp': { href: options.sspHref } }),
      'system-id': options.systemIdType === undefined ? { id: options.systemId } : { 'identifier-type': options.systemIdType, id: options.systemId },
      ...(Object.keys(localDefinitions).length === 0 ? {} : { 'local-definitions': localDefinitions }),
      ...nonEmpty('observations', observations),
      ...nonEmpty('risks', risks),
      'poam-items': poamItems
    }
  }
}
