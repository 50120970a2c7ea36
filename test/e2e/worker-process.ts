import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'

// A worker replica in its own process, so a test can SIGKILL it mid-sync.
const app = await buildApp(loadConfig(process.env))
await app.ready()
process.stdout.write('worker ready\n')
