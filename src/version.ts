import { readFileSync } from 'node:fs'

/** The package version, read once (works from src/ under tsx and from dist/src/ when built). */
function readVersion (): string {
  for (const rel of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string, version?: string }
      if (pkg.name === 'qualys-servicenow-sync' && pkg.version !== undefined) return pkg.version
    } catch {}
  }
  return '0.0.0'
}

export const VERSION = readVersion()
