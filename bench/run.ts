import { existsSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'

/**
 * Runs every benchmark and prints one summary table. Each bench module exports
 * `run(): Promise<Record<string, string | number>>`. `npm run bench -- <name>...` runs
 * only the named ones. Figures, not pass/fail: targets are printed beside them.
 */
const BENCHES: Array<{ name: string, file: string }> = [
  { name: 'qualys-parse', file: './qualys-parse.ts' },
  { name: 'qualys-rss', file: './qualys-rss.ts' },
  { name: 'sync', file: './sync-cold-warm.ts' },
  { name: 'findings-query', file: './findings-query.ts' }
]

const only = process.argv.slice(2).filter((a) => !a.startsWith('-'))
const rows: Array<[string, string, string]> = []
const machine = `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`
process.stdout.write(`machine: ${machine}\n`)

for (const bench of BENCHES) {
  if (only.length > 0 && !only.includes(bench.name)) continue
  const url = new URL(bench.file, import.meta.url)
  if (!existsSync(url)) {
    rows.push([bench.name, '(missing)', ''])
    continue
  }
  process.stdout.write(`running ${bench.name}...\n`)
  const started = Date.now()
  try {
    const mod = await import(url.href) as { run: () => Promise<Record<string, string | number>> }
    const figures = await mod.run()
    for (const [key, value] of Object.entries(figures)) {
      rows.push([bench.name, key, String(value)])
      process.stdout.write(`  ${key}: ${String(value)}\n`)
    }
  } catch (err) {
    rows.push([bench.name, 'error', err instanceof Error ? err.message : String(err)])
  }
  process.stdout.write(`  ${bench.name} took ${((Date.now() - started) / 1000).toFixed(1)} s\n`)
}

const width = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i]!.length), 6))
const line = (r: [string, string, string]) => `| ${r.map((c, i) => c.padEnd(width[i]!)).join(' | ')} |`
process.stdout.write(`\n${line(['bench', 'figure', 'value'])}\n|${width.map((w) => '-'.repeat(w + 2)).join('|')}|\n`)
for (const row of rows) process.stdout.write(`${line(row)}\n`)
