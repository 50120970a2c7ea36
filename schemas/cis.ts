import { Type } from 'typebox'

/** Mirrors CoverageReport in src/findings/coverage.ts. */

const IdentifierSchema = Type.Union([Type.Literal('ip'), Type.Literal('ipv6'), Type.Literal('dns'), Type.Literal('fqdn'), Type.Literal('netbios')])

export const CoverageHostSchema = Type.Object({
  qualysHostId: Type.String(),
  ip: Type.Optional(Type.String()),
  ipv6: Type.Optional(Type.String()),
  dns: Type.Optional(Type.String()),
  fqdn: Type.Optional(Type.String()),
  netbios: Type.Optional(Type.String()),
  lastSeen: Type.String({ description: 'ISO-8601 UTC: when a sync last carried a finding of this host' }),
  reason: Type.Union([Type.Literal('ambiguous'), Type.Literal('unmatched'), Type.Literal('unsafe'), Type.Literal('not_evaluated')], {
    description: 'ambiguous: several CIs and nothing to choose; unmatched: no CI; unsafe: its identifiers carry query syntax and were not looked up; not_evaluated: no match recorded yet'
  }),
  candidates: Type.Optional(Type.Integer({ description: 'CIs found, for ambiguous hosts' })),
  unsafeIdentifiers: Type.Optional(Type.Array(IdentifierSchema, { description: 'For unsafe hosts: the identifiers carrying encoded-query syntax (^ = , or control characters)' }))
})

const coverageList = (description: string) => Type.Object({
  total: Type.Integer({ description: 'Hosts in this state' }),
  items: Type.Array(CoverageHostSchema, { description: 'The first `limit` of them, in Qualys host id order' }),
  omitted: Type.Integer({ description: 'Hosts counted in total but left out of items by the limit' })
}, { description })

export const COVERAGE_DEFAULT_LIMIT = 100

export const CoverageQuerySchema = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000, default: COVERAGE_DEFAULT_LIMIT, description: 'Most hosts listed per list (ambiguous, unmatched); counts are always complete' }))
}, { additionalProperties: false })

export const CoverageSchema = Type.Object({
  generatedAt: Type.String({ description: 'ISO-8601 UTC' }),
  hostsSeen: Type.Integer({ description: 'Distinct Qualys hosts in the findings store' }),
  matched: Type.Integer({ description: 'Hosts matched to exactly one CI' }),
  matchedByRule: Type.Record(Type.String(), Type.Integer(), { description: 'Matched hosts per matching rule' }),
  ambiguous: coverageList('Hosts several CIs matched with nothing to choose between them: never guessed'),
  unmatched: coverageList('Unmatched, unsafe and not yet evaluated hosts: their POA&Ms carry no CI')
}, {
  examples: [{
    generatedAt: '2025-03-01T06:10:00.000Z',
    hostsSeen: 25,
    matched: 21,
    matchedByRule: { fqdn: 15, name: 4, ip: 2 },
    ambiguous: { total: 1, omitted: 0, items: [{ qualysHostId: '100161', ip: '10.0.0.24', dns: 'app-00023.corp.example.com', lastSeen: '2025-03-01T06:05:12.345Z', reason: 'ambiguous', candidates: 2 }] },
    unmatched: {
      total: 3,
      omitted: 1,
      items: [
        { qualysHostId: '100140', ip: '10.0.0.21', dns: 'web-00020.corp.example.com', lastSeen: '2025-03-01T06:05:12.345Z', reason: 'unmatched' },
        { qualysHostId: '100168', ip: '10.0.0.25', dns: 'x,y=z.corp.example.com', netbios: 'X,Y=Z', lastSeen: '2025-03-01T06:05:12.345Z', reason: 'unsafe', unsafeIdentifiers: ['dns', 'netbios'] }
      ]
    }
  }]
})
