/**
 * Reporting a failure never throws: with GITHUB_OUTPUT unwritable (core's setOutput throws, as
 * its file command does), a step that fails once objects exist still ends with its one ::error
 * and exit code 1, the outputs it could not write said in a warning; a step that succeeds fails
 * with one ::error naming the output. And when reporting the failure fails in turn (a write the
 * runner refused), a fixed ::error and exit code 1, never Node's uncaught error with its stack.
 * Both actions, in-process against the simulator.
 */
import { describe, it, expect } from '@jest/globals'
import { appendFileSync } from 'node:fs'
import path from 'node:path'
import { run as runDataflow } from '../src/dataflow/main.js'
import type { CoreLike } from '../src/connection/main.js'
import { repoRoot } from '../simulator/run-action.js'
import { DEFAULT_DATASET } from '../simulator/server.js'
import { runInProcess } from './support/in-process.js'
import { useSimWorkspace } from './support/sim-workspace.js'
import { adobeInputs } from './support/sim-inputs.js'

const SANDBOX = 'prod'
const LIST_PATH = '/data/foundation/flowservice/connections'
const w = useSimWorkspace('failure-report-')
const { dir } = w

/** core's setOutput on a GITHUB_OUTPUT it cannot append to: the file command throws. */
const unwritableOutput = (c: CoreLike): CoreLike => {
  c.setOutput = () => appendFileSync(path.join(dir, 'no-such-dir', 'output'), 'x')
  return c
}

/** The connection action naming connection "orders", its core wrapped. */
const connectionStep = (password: string, wrapCore: (c: CoreLike) => CoreLike) =>
  runInProcess({
    inputs: {
      ...adobeInputs(w.sim, SANDBOX, { 'access-token': w.sim.issueToken() }),
      'connection-name': 'orders',
      'connection-string': `Server=db.example.com;Database=d;UID=u;Password=${password}`
    },
    wrapCore
  })

const errors = (lines: string[]) => lines.filter((l) => l.startsWith('::error::'))
const warnings = (lines: string[]) => lines.filter((l) => l.startsWith('::warning::'))

describe('an unwritable GITHUB_OUTPUT', () => {
  it('dataflow action failing once its connections exist: one ::error, the outputs in a warning', async () => {
    const baseId = w.sim.seedConnection(SANDBOX, { name: 'pg', tables: ['public.orders'] }).id
    const datasetId = w.sim.datasets(SANDBOX).find((d) => d.name === DEFAULT_DATASET.name)?.id ?? ''
    w.sim.inject({
      match: { method: 'POST', path: '/data/foundation/flowservice/flows' },
      action: { type: 'status', status: 400 }
    })
    const r = await runInProcess({
      actionYml: path.join(repoRoot, 'dataflow', 'action.yml'),
      run: runDataflow,
      inputs: {
        ...adobeInputs(w.sim, SANDBOX, { 'access-token': w.sim.issueToken() }),
        'dataflow-name': 'orders',
        'base-connection-id': baseId,
        table: 'public.orders',
        'dataset-id': datasetId,
        mapping: 'aep/orders.json',
        'delta-column': 'updated_at'
      },
      env: { GITHUB_WORKSPACE: dir },
      wrapCore: unwritableOutput
    })
    expect(r.code).toBe(1)
    expect(errors(r.lines)).toEqual([expect.stringMatching(/^::error::creating the dataflow/)])
    expect(warnings(r.lines)).toEqual([
      expect.stringMatching(/^::warning::could not write the dataflow-id output: ENOENT/)
    ])
  })

  it('connection action failing once its connection exists: one ::error, the outputs in a warning', async () => {
    // The create goes through; every listing after it fails, so the step fails with the
    // connection stored (its outputs would name it).
    w.sim.configure({
      hooks: {
        afterHandled: (q) => {
          if (q.method === 'POST' && q.path === LIST_PATH)
            w.sim.inject({
              match: { method: 'GET', path: LIST_PATH },
              times: Infinity,
              action: { type: 'status', status: 400 }
            })
        }
      }
    })
    const r = await connectionStep('Unwritable-Pw-1', unwritableOutput)
    expect(r.code).toBe(1)
    expect(errors(r.lines)).toHaveLength(1)
    expect(warnings(r.lines)).toEqual([
      expect.stringMatching(/^::warning::could not write the connection-id output: ENOENT/)
    ])
  })

  it('connection action succeeding: fails with one ::error naming the output', async () => {
    const r = await connectionStep('Unwritable-Pw-1', unwritableOutput)
    expect(r.code).toBe(1)
    expect(errors(r.lines)).toEqual([
      expect.stringMatching(/^::error::could not write the connection-id output: ENOENT/)
    ])
  })
})

describe('reporting the failure fails in turn', () => {
  /** core's setFailed that throws once (a write the runner's pipe refused), then works. */
  const failingOnce = (c: CoreLike): CoreLike => {
    const setFailed = c.setFailed.bind(c)
    let calls = 0
    c.setFailed = (message) => {
      if (calls++ === 0) throw new Error('write EPIPE')
      setFailed(message)
    }
    return c
  }
  it('dataflow action: a fixed ::error and exit code 1, never an uncaught error', async () => {
    const r = await runInProcess({
      actionYml: path.join(repoRoot, 'dataflow', 'action.yml'),
      run: runDataflow,
      inputs: {
        ...adobeInputs(w.sim, SANDBOX, { 'access-token': w.sim.issueToken() }),
        'dataflow-name': 'orders',
        // No such connection: the step fails while it looks up what exists.
        'base-connection-id': 'no-such-connection',
        table: 'public.orders',
        'dataset-name': DEFAULT_DATASET.name,
        mapping: 'aep/orders.json',
        'delta-column': 'updated_at'
      },
      env: { GITHUB_WORKSPACE: dir },
      wrapCore: failingOnce
    })
    expect(r.code).toBe(1)
    expect(errors(r.lines)).toEqual([
      '::error::the step failed, and reporting why failed too; the lines above say what was done'
    ])
  })

  it('connection action: a fixed ::error and exit code 1, never an uncaught error', async () => {
    w.sim.inject({
      match: { method: 'GET', path: LIST_PATH },
      action: { type: 'status', status: 400 }
    })
    const r = await connectionStep('Report-Pw-1', failingOnce)
    expect(r.code).toBe(1)
    expect(errors(r.lines)).toEqual([
      '::error::the step failed, and reporting why failed too; the lines above say what was done'
    ])
  })
})
