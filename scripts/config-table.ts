import { renderConfigTable } from '../src/config-table.js'

process.stdout.write(`${renderConfigTable()}\n`)
