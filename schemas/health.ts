import { Type } from 'typebox'

export const HealthSchema = Type.Object({
  status: Type.Literal('ok')
}, { description: 'The process is alive', examples: [{ status: 'ok' }] })

export const ReadySchema = Type.Object({
  status: Type.Union([Type.Literal('ready'), Type.Literal('not_ready')]),
  checks: Type.Record(Type.String(), Type.Boolean(), { description: 'Each dependency and whether it answered' })
}, { examples: [{ status: 'ready', checks: { redis: true } }] })
