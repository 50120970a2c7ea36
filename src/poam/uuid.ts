import { createHash } from 'node:crypto'

/** Namespace of every uuid this service derives; fixed forever, or exports change identity. */
export const QSS_UUID_NAMESPACE = '6f1c9f0e-3b8a-4d2e-9c57-0a4e8b1d2f63'

/**
 * RFC 4122 version 5 (SHA-1, name-based) uuid. The same name always yields the same
 * uuid, which OSCAL asks for ("assigned per-subject ... consistently across revisions").
 */
export function uuidV5 (name: string, namespace: string = QSS_UUID_NAMESPACE): string {
  const ns = Buffer.from(namespace.replace(/-/g, ''), 'hex')
  const bytes = createHash('sha1').update(ns).update(name, 'utf8').digest().subarray(0, 16)
  bytes[6] = ((bytes[6] as number) & 0x0f) | 0x50
  bytes[8] = ((bytes[8] as number) & 0x3f) | 0x80
  const hex = bytes.toString('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}
