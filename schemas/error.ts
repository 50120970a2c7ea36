import { Type } from 'typebox'

/** The body of every error answer. `code` is stable (`QSS_<AREA>_<REASON>`): match on it. */
export const ErrorSchema = Type.Object({
  statusCode: Type.Integer(),
  code: Type.String({ description: 'Stable error code, e.g. QSS_AUTH_MISSING' }),
  error: Type.String({ description: 'HTTP status text' }),
  message: Type.String({ description: 'What went wrong and, for client errors, what to fix' }),
  details: Type.Optional(Type.Record(Type.String(), Type.Unknown()))
}, { examples: [{ statusCode: 401, code: 'QSS_AUTH_MISSING', error: 'Unauthorized', message: 'Missing API key: send Authorization: Bearer <key> or X-API-Key: <key>' }] })
