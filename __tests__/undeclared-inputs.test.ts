/**
 * A `with:` key an action does not declare: the runner passes it as INPUT_<NAME> and only warns,
 * so `dryrun: true` would make a real change. Both actions fail on it before any request, naming
 * it and the declared name closest to it. Unit tests of the matching, and in-process runs.
 */
import { describe, it, expect, beforeAll, afterAll, beforeEach } from '@jest/globals'
import path from 'node:path'
import { run as runDataflow } from '../src/dataflow/main.js'
import { INPUT_NAMES } from '../src/connection/inputs.js'
import { INPUT_NAMES as DATAFLOW_INPUT_NAMES } from '../src/dataflow/inputs.js'
import { closestName, undeclaredInputs } from '../src/platform/inputs.js'
import { repoRoot } from '../simulator/run-action.js'
import { startSimulator, type Simulator } from '../simulator/server.js'
import { runInProcess } from './support/in-process.js'
import { adobeInputs } from './support/sim-inputs.js'

describe('closestName', () => {
  it.each([
    ['dryrun', 'dry-run'],
    ['dry_run', 'dry-run'],
    ['DRY-RUN', 'dry-run'],
    ['conection-name', 'connection-name'],
    ['connection_name', 'connection-name'],
    ['pasword', 'password'],
    ['timeout', 'timeout-seconds'],
    ['if-exist', 'if-exists'],
    ['sandbox', 'sandbox-name']
  ])('%s -> %s', (given, want) => {
    expect(closestName(given, INPUT_NAMES)).toBe(want)
  })

  it('none when nothing is close', () => {
    expect(closestName('colour-scheme', INPUT_NAMES)).toBeUndefined()
  })
})

describe('undeclaredInputs', () => {
  it('finds the INPUT_ variables of undeclared names, in any case, and nothing else', () => {
    const env = {
      'INPUT_DRY-RUN': 'true',
      INPUT_DRYRUN: 'true',
      'input_connection-name': 'x',
      INPUT_DATAFLOW_NAME: 'y',
      GITHUB_OUTPUT: '/tmp/o',
      RUNNER_DEBUG: '1'
    }
    expect(undeclaredInputs(env, INPUT_NAMES)).toEqual([
      {
        input: 'dataflow_name',
        message:
          'dataflow_name is not an input of this action: the runner passes it on with only a warning, and the step would run as if it were not given'
      },
      {
        input: 'dryrun',
        message:
          'dryrun is not an input of this action (did you mean dry-run?): the runner passes it on with only a warning, and the step would run as if it were not given'
      }
    ])
    expect(undeclaredInputs(env, DATAFLOW_INPUT_NAMES).map((p) => p.input)).toEqual([
      'dataflow_name',
      'dryrun',
      'connection-name'
    ])
  })
})

describe('a run given an undeclared input', () => {
  let sim: Simulator
  beforeAll(async () => {
    sim = await startSimulator()
  })
  afterAll(() => sim.close())
  beforeEach(() => sim.reset())

  it('connection action, dryrun: true: fails naming it and dry-run, before any request', async () => {
    const r = await runInProcess({
      inputs: {
        ...adobeInputs(sim, 'prod', { 'access-token': sim.issueToken() }),
        'connection-name': 'orders',
        'connection-string': 'Server=db.example.com;Database=d;UID=u;Password=Undeclared-Pw-1'
      },
      env: { INPUT_DRYRUN: 'true' }
    })
    expect(r.code).toBe(1)
    expect(r.lines.filter((l) => l.startsWith('::error::'))).toEqual([
      "::error::Invalid input 'dryrun': dryrun is not an input of this action (did you mean dry-run?): the runner passes it on with only a warning, and the step would run as if it were not given (nothing was sent to Adobe)"
    ])
    expect(sim.requests).toEqual([])
    expect(sim.connections()).toEqual([])
  })

  it('dataflow action, a misspelt dataflow_name next to a missing one: both said, nothing sent', async () => {
    const r = await runInProcess({
      actionYml: path.join(repoRoot, 'dataflow', 'action.yml'),
      run: runDataflow,
      inputs: {
        ...adobeInputs(sim, 'prod', { 'access-token': sim.issueToken() }),
        state: 'absent'
      },
      env: { INPUT_DATAFLOW_NAME: 'orders' }
    })
    expect(r.code).toBe(1)
    const errors = r.lines.filter((l) => l.startsWith('::error::'))
    expect(errors[0]).toBe(
      "::error::Invalid input 'dataflow_name': dataflow_name is not an input of this action (did you mean dataflow-name?): the runner passes it on with only a warning, and the step would run as if it were not given"
    )
    expect(errors.at(-1)).toMatch(
      /^::error::Invalid input 'dataflow-name': dataflow-name is required/
    )
    expect(sim.requests).toEqual([])
  })
})
