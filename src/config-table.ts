import { ConfigSchema, FILE_SETTINGS } from './config.js'

interface SettingSchema { default?: unknown, description?: string }

/** The configuration table of the README, generated from ConfigSchema (`npm run config-table`). */
export function configTableRows (): Array<{ name: string, default: string, meaning: string }> {
  return Object.entries(ConfigSchema.properties as Record<string, SettingSchema>).map(([name, schema]) => ({
    name,
    default: schema.default === undefined ? '' : String(schema.default),
    meaning: (schema.description ?? '') + ((FILE_SETTINGS as readonly string[]).includes(name) && !(schema.description ?? '').includes('_FILE') ? ' `_FILE` accepted.' : '')
  }))
}

export function renderConfigTable (): string {
  const lines = ['| Variable | Default | Meaning |', '|---|---|---|']
  for (const row of configTableRows()) {
    lines.push(`| \`${row.name}\` | ${row.default === '' ? '' : `\`${row.default}\``} | ${row.meaning.replace(/\|/g, '\\|')} |`)
  }
  return lines.join('\n')
}
