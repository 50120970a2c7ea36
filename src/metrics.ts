import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

/**
 * Every metric the service exposes, on a registry of its own (never the global one, so
 * that several app instances in one process, as in tests, do not collide). Services take
 * this object, not Fastify, so the worker and the routes record into the same place.
 */
export function createMetrics () {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  return {
    registry,
    httpDuration: new Histogram({
      name: 'qss_http_request_duration_seconds',
      help: 'HTTP request duration by route and status',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry]
    }),
    upstreamCalls: new Counter({
      name: 'qss_upstream_calls_total',
      help: 'Calls to Qualys and ServiceNow by target, operation and HTTP status',
      labelNames: ['target', 'operation', 'status'] as const,
      registers: [registry]
    }),
    upstreamWaitSeconds: new Counter({
      name: 'qss_upstream_wait_seconds_total',
      help: 'Time spent waiting for upstream limits (Qualys pacing/409, ServiceNow 429)',
      labelNames: ['target', 'reason'] as const,
      registers: [registry]
    }),
    cacheLookups: new Counter({
      name: 'qss_ci_cache_lookups_total',
      help: 'CI match cache lookups by result (hit, miss)',
      labelNames: ['result'] as const,
      registers: [registry]
    }),
    syncDuration: new Histogram({
      name: 'qss_sync_duration_seconds',
      help: 'Sync job duration by outcome',
      labelNames: ['outcome'] as const,
      buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600],
      registers: [registry]
    }),
    syncRecords: new Counter({
      name: 'qss_sync_records_total',
      help: 'POA&M records handled by action (create, update, close, reopen, noop, error)',
      labelNames: ['action'] as const,
      registers: [registry]
    }),
    openPoams: new Gauge({
      name: 'qss_open_poams',
      help: 'Open POA&M records by risk, as of the last sync',
      labelNames: ['risk'] as const,
      registers: [registry]
    })
  }
}

export type Metrics = ReturnType<typeof createMetrics>
