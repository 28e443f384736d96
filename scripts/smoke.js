// Smoke run of the bundled action, as the runner runs it, against the local simulator:
// create, then re-run (update, same id), then delete. Exits non-zero on any mismatch or leak.
// Usage: node scripts/smoke.js [--node /path/to/node]
import { startSimulator } from '../simulator/server.js'
import { runAction } from '../simulator/run-action.js'

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

  const gone = await runAction({ inputs: inputs({ state: 'absent' }), node })
  check(gone.code === 0 && gone.outputs.operation === 'deleted', 'state absent deletes it')
  check(sim.connections('dev').length === 0, 'no connection left')
} finally {
  await sim.close()
}
console.log(problems.length ? `smoke: ${problems.length} problem(s)` : 'smoke: all checks passed')
process.exit(problems.length ? 1 : 0)
