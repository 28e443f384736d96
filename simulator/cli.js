#!/usr/bin/env node
// Standalone simulator for CI workflows and local runs:
//   node simulator/cli.js [--host H] [--port N] [--latency-ms N] [--page-size N] [--ready-file PATH]
//     [--listing-lag-ms N] [--commit-latency-ms N] [--created-at MODE]
// Prints one JSON line with the url and credentials once listening; stops on SIGINT/SIGTERM.
import { writeFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { startSimulator } from './server.js'

const USAGE =
  'usage: node simulator/cli.js [--host H] [--port N] [--latency-ms N] [--page-size N] [--ready-file PATH]' +
  ' [--listing-lag-ms N] [--commit-latency-ms N] [--created-at epoch-ms|iso|missing|tied|arrival|skewed]'

function toInt(name, value) {
  if (value === undefined) return undefined
  const n = Number(value)
  if (!Number.isInteger(n) || n < 0) {
    console.error(`--${name} must be a non-negative integer, got '${value}'\n${USAGE}`)
    process.exit(2)
  }
  return n
}

let args
try {
  args = parseArgs({
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      'latency-ms': { type: 'string' },
      'page-size': { type: 'string' },
      'ready-file': { type: 'string' },
      'listing-lag-ms': { type: 'string' },
      'commit-latency-ms': { type: 'string' },
      'created-at': { type: 'string' },
      help: { type: 'boolean', short: 'h' }
    }
  }).values
} catch (err) {
  console.error(`${err.message}\n${USAGE}`)
  process.exit(2)
}
if (args.help) {
  console.log(USAGE)
  process.exit(0)
}

let sim
try {
  sim = await startSimulator({
    host: args.host,
    port: toInt('port', args.port),
    latencyMs: toInt('latency-ms', args['latency-ms']),
    pageSize: toInt('page-size', args['page-size']),
    listingLagMs: toInt('listing-lag-ms', args['listing-lag-ms']),
    commitLatencyMs: toInt('commit-latency-ms', args['commit-latency-ms']),
    createdAtMode: args['created-at']
  })
} catch (err) {
  // A setting the simulator refuses (e.g. an unknown --created-at mode).
  if (!(err instanceof TypeError)) throw err
  console.error(`${err.message}\n${USAGE}`)
  process.exit(2)
}
const info = JSON.stringify({
  url: sim.url,
  clientId: sim.clientId,
  clientSecret: sim.clientSecret,
  orgId: sim.orgId,
  sandboxes: sim.sandboxes
})
if (args['ready-file']) await writeFile(args['ready-file'], info + '\n')
console.log(info)

let stopping = false
async function stop(signal) {
  if (stopping) return
  stopping = true
  await sim.close()
  console.error(`simulator stopped (${signal}) after ${sim.stats().requests} requests`)
  process.exit(0)
}
process.on('SIGINT', () => void stop('SIGINT'))
process.on('SIGTERM', () => void stop('SIGTERM'))
