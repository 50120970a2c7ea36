import { test } from 'tap'
import { readFileSync } from 'node:fs'
import { configTableRows } from '../src/config-table.js'

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')

test('the README configuration table lists every setting with its real default', async (t) => {
  const documented = new Map<string, string>()
  for (const match of readme.matchAll(/^\| `([A-Z0-9_]+)` \| (?:`([^`]*)`)? \|/gm)) documented.set(match[1] as string, match[2] ?? '')
  for (const row of configTableRows()) {
    t.ok(documented.has(row.name), `${row.name} is in the README (regenerate with npm run config-table)`)
    if (documented.has(row.name)) t.equal(documented.get(row.name), row.default, `${row.name} default`)
  }
  const known = new Set(configTableRows().map((r) => r.name))
  for (const name of documented.keys()) t.ok(known.has(name), `${name} documented in the README exists in the code`)
})

test('the README gives the two set-up commands', async (t) => {
  t.match(readme, 'npm ci && npm run demo')
  t.match(readme, 'npm test')
})
