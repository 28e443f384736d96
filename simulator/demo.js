// `npm start`: runs the bundled action twice against the local simulator and shows what happened.
// No Adobe account is used; everything talks to 127.0.0.1.
import { existsSync } from 'node:fs'
import path from 'node:path'
import { startSimulator } from './server.js'
import { defaultActionYml, defaultEntry, repoRoot, runAction } from './run-action.js'

const rel = (p) => path.relative(repoRoot, p)

if (!existsSync(defaultEntry)) {
  console.error(`${rel(defaultEntry)} does not exist. Build the action first: npm run bundle`)
  process.exit(1)
}
if (!existsSync(defaultActionYml)) {
  console.error(`${rel(defaultActionYml)} does not exist; the action's metadata is missing.`)
  process.exit(1)
}

const PASSWORD = 'Demo;Pa55}word{x'
// RUNNER_DEBUG=1 npm start shows the action's debug lines too, as a debug re-run would.
const showDebug = process.env.RUNNER_DEBUG === '1'

/** Mimics the runner's log masking: values registered via ::add-mask:: and known secrets. */
function makeMasker(secrets) {
  const masks = new Set(secrets)
  return (line) => {
    const m = /^::add-mask::(.*)$/.exec(line)
    if (m) {
      if (m[1]) masks.add(m[1])
      return null
    }
    let out = line
    for (const s of [...masks].sort((a, b) => b.length - a.length)) out = out.split(s).join('***')
    return out
  }
}

const sim = await startSimulator()
const rule = '='.repeat(78)
console.log(rule)
console.log('LOCAL SIMULATOR of Adobe Experience Platform Flow Service and Adobe IMS.')
console.log('No Adobe account is used and nothing leaves this machine.')
console.log(`Simulator: ${sim.url} (org ${sim.orgId}, sandboxes ${sim.sandboxes.join(', ')})`)
console.log(rule)

const inputs = {
  'client-id': sim.clientId,
  'client-secret': sim.clientSecret,
  'ims-org-id': sim.orgId,
  'sandbox-name': 'dev',
  'platform-url': sim.url,
  'ims-url': sim.url,
  'connection-name': 'demo-postgres',
  server: 'db.example.com',
  database: 'analytics',
  username: 'aep_reader',
  password: PASSWORD
}

let failed = false
try {
  for (const n of [1, 2]) {
    console.log(`\n--- Run ${n}: node ${rel(defaultEntry)} (connection-name demo-postgres) ---`)
    const run = await runAction({ inputs, timeoutMs: 120_000 })
    const mask = makeMasker([PASSWORD, sim.clientSecret])
    for (const line of run.lines) {
      // The runner hides ::debug:: lines unless step debug logging is on; so does the demo.
      if (line.startsWith('::debug::') && !showDebug) continue
      const shown = mask(line)
      if (shown !== null) console.log(`  | ${shown}`)
    }
    console.log(`  exit code: ${run.code}${run.signal ? ` (signal ${run.signal})` : ''}`)
    console.log('  outputs:')
    const outs = Object.entries(run.outputs)
    if (outs.length === 0) console.log('    (none)')
    for (const [k, v] of outs) console.log(`    ${k} = ${mask(v)}`)
    if (run.code !== 0) failed = true
  }
} catch (err) {
  console.error(`\nCould not run the action: ${err instanceof Error ? err.message : String(err)}`)
  failed = true
}

console.log('\nRequests received by the simulator (bodies not shown):')
for (const r of sim.requests) {
  console.log(`  ${String(r.seq).padStart(3)} ${r.method.padEnd(6)} ${r.path} -> ${r.status}`)
}
const stored = sim.connections('dev')
console.log(`\nConnections stored in sandbox 'dev': ${stored.length} (expected 1 after two runs)`)
for (const c of stored) console.log(`  ${c.id}  ${c.name}  etag ${c.etag}`)
await sim.close()

if (stored.length !== 1) failed = true
if (failed) {
  console.error('\nDemo FAILED.')
  process.exit(1)
}
console.log(
  '\nDemo OK: the second run found the existing connection instead of creating a duplicate.'
)
