import { test } from 'tap'
import { baseCorrelationId, correlationGeneration, correlationIdFor, recreatedCorrelationId, supersededCorrelationId } from '../../src/poam/correlation.js'
import { pcFinding, vmFinding } from './fixtures.js'

test('finding grouping: id from the finding id, stable and query-safe', async (t) => {
  const f = pcFinding('1', '100')
  t.equal(correlationIdFor(f, 'finding'), `qss-${f.id}`)
  t.equal(correlationIdFor(pcFinding('1', '100', { evaluatedAt: '2025-01-01T00:00:00Z' }), 'finding'), correlationIdFor(f, 'finding'))
  t.match(correlationIdFor(f, 'finding'), /^[a-z0-9-]+$/)
})

test('control grouping: one id per policy x control (PC) or QID (VM), whatever the host', async (t) => {
  t.equal(correlationIdFor(pcFinding('1', '100'), 'control'), correlationIdFor(pcFinding('2', '100'), 'control'))
  t.not(correlationIdFor(pcFinding('1', '100'), 'control'), correlationIdFor(pcFinding('1', '101'), 'control'))
  t.not(correlationIdFor(pcFinding('1', '100'), 'control'), correlationIdFor(pcFinding('1', '100', { policy: { id: '43' } }), 'control'))
  t.equal(correlationIdFor(vmFinding('1', '38170'), 'control'), correlationIdFor(vmFinding('9', '38170'), 'control'))
  t.match(correlationIdFor(vmFinding('1', '38170'), 'control'), /^qss-vmqid-[0-9a-f]{32}$/)
  t.match(correlationIdFor(pcFinding('1', '100'), 'control'), /^qss-pcctl-[0-9a-f]{32}$/)
})

test('recreated ids: generation suffix derived from the closed record id', async (t) => {
  const base = correlationIdFor(pcFinding('1', '100'), 'finding')
  const r1 = recreatedCorrelationId(base)
  const r2 = recreatedCorrelationId(r1)
  t.equal(r1, `${base}-r1`)
  t.equal(r2, `${base}-r2`)
  t.equal(recreatedCorrelationId(base), r1, 'deterministic')
  t.equal(baseCorrelationId(r2), base)
  t.equal(correlationGeneration(base), 0)
  t.equal(correlationGeneration(r2), 2)
  t.equal(supersededCorrelationId(r2), r1)
  t.equal(supersededCorrelationId(r1), base)
  t.equal(supersededCorrelationId(base), undefined)
  t.ok(r2.startsWith(base), 'a family is one STARTSWITH query')
})
