// The demo (both simulators + the service + a first sync) arrives with the sync engine.
process.stdout.write('npm run demo: not available yet (the simulators and the sync engine are being built).\n')
