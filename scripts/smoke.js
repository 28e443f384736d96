// Smoke run of both bundled actions, as the runner runs them, against the local simulator: the
// connection created and re-run (update, same id); a dataflow for one of its tables created and
// re-run (unchanged, no write); the dataflow deleted, then the connection. Exits non-zero on any
// mismatch or leak. Usage: node scripts/smoke.js [--node /path/to/node]
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { DEFAULT_DATASET, startSimulator } from '../simulator/server.js'
import { repoRoot, runAction } from '../simulator/run-action.js'

const nodeArg = process.argv.indexOf('--node')
const node = nodeArg > 0 ? process.argv[nodeArg + 1] : process.execPath
const password = 'Sm0ke;pa}ss= word'

const sim = await startSimulator()
const problems = []
const check = (ok, what) => {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`)
  if (!ok) problems.push(what)
}
const inputs = (extra = {}) => ({
  'client-id': sim.clientId,
  'client-secret': sim.clientSecret,
  'ims-org-id': sim.orgId,
  'sandbox-name': 'dev',
  'platform-url': sim.url,
  'ims-url': sim.url,
  'connection-name': 'smoke-postgres',
  server: 'db.example.com',
  database: 'analytics',
  username: 'aep_reader',
  password,
  ...extra
})
const leaks = (run) =>
  run.lines.filter(
    (l) => !l.startsWith('::add-mask::') && (l.includes(password) || l.includes(sim.clientSecret))
  )

try {
  const first = await runAction({ inputs: inputs(), node })
  check(first.code === 0, `create exits 0 (got ${first.code})`)
  check(first.outputs.operation === 'created', `operation created (got ${first.outputs.operation})`)
  check(/^[0-9a-f-]{36}$/.test(first.outputs['connection-id'] ?? ''), 'connection-id is a uuid')
  check(leaks(first).length === 0, 'no secret in the create log')

  const second = await runAction({ inputs: inputs(), node })
  check(second.code === 0, `re-run exits 0 (got ${second.code})`)
  check(
    second.outputs.operation === 'updated',
    `re-run operation updated (got ${second.outputs.operation})`
  )
  check(
    second.outputs['connection-id'] === first.outputs['connection-id'],
    're-run keeps the same id'
  )
  check(sim.connections('dev').length === 1, 'exactly one connection after two runs')
  check(leaks(second).length === 0, 'no secret in the update log')

  // The dataflow action, on the connection just made.
  const workspace = await mkdtemp(path.join(tmpdir(), 'smoke-ws-'))
  try {
    await writeFile(
      path.join(workspace, 'mapping.yml'),
      '- source: id\n  destination: _id\n- source: email\n  destination: personalEmail.address\n'
    )
    const dataflow = (extra = {}) =>
      runAction({
        node,
        entry: path.join(repoRoot, 'dist', 'dataflow', 'index.js'),
        actionYml: path.join(repoRoot, 'dataflow', 'action.yml'),
        env: { GITHUB_WORKSPACE: workspace },
        inputs: {
          'client-id': sim.clientId,
          'client-secret': sim.clientSecret,
          'ims-org-id': sim.orgId,
          'sandbox-name': 'dev',
          'platform-url': sim.url,
          'ims-url': sim.url,
          'dataflow-name': 'smoke-orders',
          'base-connection-id': first.outputs['connection-id'] ?? '',
          table: 'public.orders',
          'dataset-name': DEFAULT_DATASET.name,
          mapping: 'mapping.yml',
          'delta-column': 'updated_at',
          ...extra
        }
      })
    const made = await dataflow()
    check(made.code === 0, `dataflow create exits 0 (got ${made.code})`)
    check(
      made.outputs.operation === 'created',
      `dataflow operation created (got ${made.outputs.operation})`
    )
    check(sim.objects('flows', 'dev').length === 1, 'one dataflow')
    const mutations = sim.stats().mutations
    const again = await dataflow()
    check(
      again.outputs.operation === 'unchanged',
      `dataflow re-run unchanged (got ${again.outputs.operation})`
    )
    check(sim.stats().mutations === mutations, 'the unchanged re-run wrote nothing')
    const removed = await dataflow({ state: 'absent' })
    check(
      removed.code === 0 && removed.outputs.operation === 'deleted',
      'dataflow state absent deletes it'
    )
    check(sim.objects('flows', 'dev').length === 0, 'no dataflow left')
    check(
      [made, again, removed].every((r) => leaks(r).length === 0),
      'no secret in the dataflow logs'
    )
  } finally {
    await rm(workspace, { recursive: true, force: true })
  }

  const gone = await runAction({ inputs: inputs({ state: 'absent' }), node })
  check(gone.code === 0 && gone.outputs.operation === 'deleted', 'state absent deletes it')
  check(sim.connections('dev').length === 0, 'no connection left')
} finally {
  await sim.close()
}
console.log(problems.length ? `smoke: ${problems.length} problem(s)` : 'smoke: all checks passed')
process.exit(problems.length ? 1 : 0)
