// `npm start`: runs both bundled actions against the local simulator, as a workflow would: the
// connection action, then the dataflow action for one of its tables, then both again (which
// change nothing), and shows what happened. No Adobe account is used; everything talks to
// 127.0.0.1.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { DEFAULT_DATASET, startSimulator } from './server.js'
import { defaultActionYml, defaultEntry, repoRoot, runAction } from './run-action.js'

const rel = (p) => path.relative(repoRoot, p)
const dataflowEntry = path.join(repoRoot, 'dist', 'dataflow', 'index.js')
const dataflowYml = path.join(repoRoot, 'dataflow', 'action.yml')

for (const file of [defaultEntry, dataflowEntry]) {
  if (!existsSync(file)) {
    console.error(`${rel(file)} does not exist. Build the actions first: npm run bundle`)
    process.exit(1)
  }
}
if (!existsSync(defaultActionYml) || !existsSync(dataflowYml)) {
  console.error(
    'action.yml or dataflow/action.yml does not exist; the actions’ metadata is missing.'
  )
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
console.log(
  'LOCAL SIMULATOR of Adobe Experience Platform (Flow Service, Data Prep, Catalog) and Adobe IMS.'
)
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

// The workspace the dataflow action reads its mapping file from, as a checkout would hold it.
const workspace = mkdtempSync(path.join(tmpdir(), 'demo-ws-'))
writeFileSync(
  path.join(workspace, 'orders-mapping.yml'),
  [
    '- source: id',
    '  destination: _id',
    '- source: email',
    '  destination: personalEmail.address',
    "- source: concat(first_name, ' ', last_name)",
    '  destination: person.name.fullName',
    '  type: expression',
    ''
  ].join('\n')
)

/** Runs one step and prints it as the runner's log would show it; returns the run. */
async function step(title, opts) {
  console.log(`\n--- ${title} ---`)
  const run = await runAction({ timeoutMs: 120_000, ...opts })
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
  return run
}

let failed = false
let flowWrites = -1
try {
  for (const n of [1, 2]) {
    const conn = await step(`Run ${n}: the connection action (connection-name demo-postgres)`, {
      inputs
    })
    const dataflow = {
      entry: dataflowEntry,
      actionYml: dataflowYml,
      env: { GITHUB_WORKSPACE: workspace },
      inputs: {
        'client-id': sim.clientId,
        'client-secret': sim.clientSecret,
        'ims-org-id': sim.orgId,
        'sandbox-name': 'dev',
        'platform-url': sim.url,
        'ims-url': sim.url,
        'dataflow-name': 'demo-orders',
        'base-connection-id': conn.outputs['connection-id'] ?? '',
        table: 'public.orders',
        'dataset-name': DEFAULT_DATASET.name,
        mapping: 'orders-mapping.yml',
        'delta-column': 'updated_at',
        frequency: 'hour'
      }
    }
    const before = sim.stats().mutations
    await step(
      `Run ${n}: the dataflow action (dataflow-name demo-orders, table public.orders)`,
      dataflow
    )
    if (n === 2) flowWrites = sim.stats().mutations - before
  }
} catch (err) {
  console.error(`\nCould not run the actions: ${err instanceof Error ? err.message : String(err)}`)
  failed = true
} finally {
  rmSync(workspace, { recursive: true, force: true })
}

console.log('\nRequests received by the simulator (bodies not shown):')
for (const r of sim.requests) {
  console.log(`  ${String(r.seq).padStart(3)} ${r.method.padEnd(6)} ${r.path} -> ${r.status}`)
}
const stored = sim.connections('dev')
console.log(`\nConnections stored in sandbox 'dev': ${stored.length} (expected 1 after two runs)`)
for (const c of stored) console.log(`  ${c.id}  ${c.name}  etag ${c.etag}`)
const objects = ['sourceConnections', 'targetConnections', 'flows'].map((c) => [
  c,
  sim.objects(c, 'dev')
])
for (const [c, list] of objects) {
  console.log(`${c} in 'dev': ${list.length} (expected 1)`)
  for (const o of list) console.log(`  ${o.id}  ${o.name ?? ''}`)
}
console.log(`mapping sets in 'dev': ${sim.mappingSets('dev').length} (expected 1)`)
await sim.close()

if (stored.length !== 1 || objects.some(([, list]) => list.length !== 1)) failed = true
if (flowWrites !== 0) {
  console.error(`the second dataflow run wrote ${flowWrites} time(s); expected none`)
  failed = true
}
if (failed) {
  console.error('\nDemo FAILED.')
  process.exit(1)
}
console.log(
  '\nDemo OK: the second runs found what the first made: no duplicate, and the unchanged dataflow was not written.'
)
