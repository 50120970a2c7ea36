import { randomUUID } from 'node:crypto'
import tap from 'tap'
import type { CiMatch, FindingHost } from '../../src/findings/model.js'
import { createMetrics } from '../../src/metrics.js'
import { createCiMatcher } from '../../src/servicenow/cmdb.js'
import { hostIdentifiers, parseMatchRules } from '../../src/servicenow/host-identifiers.js'
import { CmdbShape, HostQuirk, simSysId, type SimHost } from '../../src/sim/hosts.js'
import { RedisKvStore } from '../../src/store/redis-kv-store.js'
import { startTestRedis, type TestRedis } from '../helpers/redis.js'
import { simWithClient } from './fixtures/sim-client.js'

/** A host as the Qualys posture report gives it: DNS (quirks and all), IP, NetBIOS. */
function findingHost (h: SimHost): FindingHost {
  return {
    qualysHostId: h.qualysHostId,
    ip: h.ip,
    ...(h.dns !== undefined ? { dns: h.dns } : {}),
    ...(h.netbios !== undefined ? { netbios: h.netbios } : {})
  }
}

/** What matching must give for each estate host, from the shape the generator built. */
function expected (h: SimHost, hosts: SimHost[]): CiMatch {
  const own = simSysId('ci', h.index)
  if (h.quirk === HostQuirk.duplicateName) {
    return { sysId: simSysId('ci', h.index - 1), rule: 'fqdn', value: `${(hosts[h.index - 1]?.hostname ?? '')}.corp.example.com` }
  }
  switch (h.cmdb) {
    case CmdbShape.fqdn: return { sysId: own, rule: 'fqdn', value: h.fqdn ?? '' }
    case CmdbShape.nameOnly: return { sysId: own, rule: 'name', value: h.hostname ?? '' }
    case CmdbShape.adapterIp: return { sysId: own, rule: 'ip', value: h.ip }
    case CmdbShape.ambiguous: return { reason: 'ambiguous', candidates: 2 }
    case CmdbShape.missing: return { reason: 'unmatched' }
  }
}

let redis: TestRedis
tap.before(async () => { redis = await startTestRedis() })
tap.teardown(async () => { await redis.stop() })
const kv = () => new RedisKvStore(redis.client(), `cmdb-test-${randomUUID()}`)

tap.test('host identifiers are normalised and hostile ones dropped', async (t) => {
  t.same(hostIdentifiers({ qualysHostId: '1', dns: 'WEB-01.Corp.Example.COM.', netbios: 'WEB-01', ip: '10.0.0.1' }),
    { fqdn: ['web-01.corp.example.com'], name: ['web-01'], ip: ['10.0.0.1'] })
  t.same(hostIdentifiers({ qualysHostId: '2', dns: 'evil^ORsys_id!=0.corp.example.com', netbios: 'X,Y=Z', ip: '10.0.0.2' }),
    { fqdn: [], name: [], ip: ['10.0.0.2'] })
  t.same(hostIdentifiers({ qualysHostId: '3', dns: '10.0.0.3', ip: 'not-an-ip' }), { fqdn: [], name: [], ip: [] }, 'an IP in DNS is no name')
  t.same(parseMatchRules('fqdn, name,ip'), ['fqdn', 'name', 'ip'])
  t.throws(() => parseMatchRules('fqdn,serial'), /Unknown CI match rule "serial"/)
})

tap.test('every estate shape ends as expected, in a few batched queries', async (t) => {
  const { sim, client } = await simWithClient(t, { seed: 3, hosts: 75 })
  const matcher = createCiMatcher({ client, kv: kv(), ciClass: 'cmdb_ci_server', rules: ['fqdn', 'name', 'ip'], ttlSec: 3600, negativeTtlSec: 60 })
  sim.resetStats()
  const result = await matcher.resolve(sim.estate.hosts.map(findingHost))
  for (const h of sim.estate.hosts) {
    t.same(result.get(h.qualysHostId), expected(h, sim.estate.hosts), `${h.cmdb}/${h.quirk} host ${h.index}`)
  }
  // One query per rule (ip: CI, adapters, and the adapters' parent CIs), not one per host.
  t.equal(sim.stats.calls['GET cmdb_ci_server'], 4)
  t.equal(sim.stats.calls['GET cmdb_ci_network_adapter'], 1)
})

tap.test('rule order decides; a rule left out is not used', async (t) => {
  const { sim, client } = await simWithClient(t, { hosts: 25 })
  const fqdnHost = sim.estate.hosts.find((h) => h.cmdb === CmdbShape.fqdn && h.quirk === HostQuirk.none) as SimHost
  const nameHost = sim.estate.hosts.find((h) => h.cmdb === CmdbShape.nameOnly) as SimHost
  const ipFirst = createCiMatcher({ client, kv: kv(), ciClass: 'cmdb_ci_server', rules: ['ip', 'fqdn'], ttlSec: 60, negativeTtlSec: 60 })
  const out = await ipFirst.resolve([fqdnHost, nameHost].map(findingHost))
  t.same(out.get(fqdnHost.qualysHostId), { sysId: simSysId('ci', fqdnHost.index), rule: 'ip', value: fqdnHost.ip })
  t.same(out.get(nameHost.qualysHostId), { reason: 'unmatched' }, 'the name rule is not configured')
})

tap.test('hostile hosts: unmatched, and no query widened', async (t) => {
  const { sim, client } = await simWithClient(t, { hosts: 100 })
  const hostile = sim.estate.hosts.filter((h) => h.quirk === HostQuirk.hostile)
  const matcher = createCiMatcher({ client, kv: kv(), ciClass: 'cmdb_ci_server', rules: ['fqdn', 'name', 'ip'], ttlSec: 60, negativeTtlSec: 60 })
  sim.resetStats()
  const out = await matcher.resolve(hostile.map(findingHost))
  for (const h of hostile) t.same(out.get(h.qualysHostId), { reason: 'unmatched' }, h.dns ?? h.qualysHostId)
  t.same(sim.stats.rowsReturned, {}, 'not one CMDB row came back (their IPs are not in the CMDB)')
  t.equal(sim.stats.calls['GET cmdb_ci_server'], 1, 'only the IP rule queried the CIs')
})

tap.test('Redis cache: warm re-run makes no call, hits and misses counted, negative results expire sooner', async (t) => {
  const { sim, client } = await simWithClient(t, { hosts: 25 })
  const store = kv()
  const metrics = createMetrics()
  const make = () => createCiMatcher({ client, kv: store, ciClass: 'cmdb_ci_server', rules: ['fqdn', 'name', 'ip'], ttlSec: 3600, negativeTtlSec: 1, metrics })
  const hosts = sim.estate.hosts.map(findingHost)
  const first = await make().resolve(hosts)
  sim.resetStats()

  const warm = make()
  t.same(await warm.resolve(hosts), first)
  t.equal(sim.stats.total, 0, 'a warm re-run makes zero CMDB calls')
  t.equal(warm.stats().hits, hosts.length)
  const counted = await metrics.registry.getSingleMetricAsString('qss_ci_cache_lookups_total')
  t.match(counted, new RegExp(`result="hit"} ${hosts.length}`))
  t.match(counted, new RegExp(`result="miss"} ${hosts.length}`))

  const negatives = [...first.values()].filter((m) => !('sysId' in m)).length
  await new Promise((resolve) => setTimeout(resolve, 1100))
  const later = make()
  await later.resolve(hosts)
  t.same(later.stats(), { hits: hosts.length - negatives, misses: negatives, coalesced: 0 }, 'only the negative results expired')
  t.ok(sim.stats.total > 0)
})

tap.test('concurrent lookups of the same hosts share one set of queries', async (t) => {
  const { sim, client } = await simWithClient(t, { hosts: 25, latencyMs: 20 })
  const matcher = createCiMatcher({ client, kv: kv(), ciClass: 'cmdb_ci_server', rules: ['fqdn', 'name', 'ip'], ttlSec: 60, negativeTtlSec: 60 })
  const hosts = sim.estate.hosts.map(findingHost)
  sim.resetStats()
  const [a, b] = await Promise.all([matcher.resolve(hosts), matcher.resolve(hosts)])
  t.same(a, b)
  t.equal(sim.stats.calls['GET cmdb_ci_server'], 4, 'the second caller waited for the first one\'s queries')
  t.ok(matcher.stats().coalesced > 0)
})
