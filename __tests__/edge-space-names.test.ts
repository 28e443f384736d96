/**
 * A name is the key an object is found by, so it is used exactly as given: `connection-name:
 * "orders "` manages the connection named "orders " (not "orders"), and the same for the
 * dataflow action's `dataflow-name`. In-process against the simulator.
 */
import { describe, it, expect } from '@jest/globals'
import path from 'node:path'
import { run as runDataflow } from '../src/dataflow/main.js'
import { repoRoot } from '../simulator/run-action.js'
import { DEFAULT_DATASET } from '../simulator/server.js'
import { runInProcess } from './support/in-process.js'
import { useSimWorkspace } from './support/sim-workspace.js'
import { adobeInputs } from './support/sim-inputs.js'

const SANDBOX = 'prod'
const w = useSimWorkspace('edge-space-names-')
const { dir } = w

const connection = (name: string) =>
  runInProcess({
    inputs: {
      ...adobeInputs(w.sim, SANDBOX, { 'access-token': w.sim.issueToken() }),
      'connection-name': name,
      'connection-string': 'Server=db.example.com;Database=d;UID=u;Password=Edge-Space-Pw-1'
    }
  })

describe('names with edge spaces are kept', () => {
  it('connection-name "orders ": creates "orders ", leaves "orders" alone, finds it again', async () => {
    const plain = w.sim.seedConnection(SANDBOX, { name: 'orders' })
    const first = await connection('orders ')
    expect(first.code).toBe(0)
    expect(first.outputs.operation).toBe('created')
    const created = w.sim.connections(SANDBOX).find((c) => c.id === first.outputs['connection-id'])
    expect(created?.name).toBe('orders ')
    expect(first.outputs['connection-id']).not.toBe(plain.id)
    const again = await connection('orders ')
    // Found by that name again: the same connection, updated (credentials are always sent).
    expect(again.outputs).toMatchObject({
      operation: 'updated',
      'connection-id': first.outputs['connection-id']
    })
  })

  it('a name of spaces only is still refused', async () => {
    const r = await connection('   ')
    expect(r.code).toBe(1)
    expect(r.lines.filter((l) => l.startsWith('::error::'))).toEqual([
      "::error::Invalid input 'connection-name': connection-name is required (nothing was sent to Adobe)"
    ])
  })

  it('dataflow-name " orders ": the dataflow and its connections carry it as given', async () => {
    const baseId = w.sim.seedConnection(SANDBOX, { name: 'pg', tables: ['public.orders'] }).id
    const datasetId = w.sim.datasets(SANDBOX).find((d) => d.name === DEFAULT_DATASET.name)?.id ?? ''
    const r = await runInProcess({
      actionYml: path.join(repoRoot, 'dataflow', 'action.yml'),
      run: runDataflow,
      inputs: {
        ...adobeInputs(w.sim, SANDBOX, { 'access-token': w.sim.issueToken() }),
        'dataflow-name': ' orders ',
        'base-connection-id': baseId,
        table: 'public.orders',
        'dataset-id': datasetId,
        mapping: 'aep/orders.json',
        'delta-column': 'updated_at'
      },
      env: { GITHUB_WORKSPACE: dir }
    })
    expect(r.code).toBe(0)
    expect(w.sim.objects('flows', SANDBOX).map((f) => f.name)).toEqual([' orders '])
    expect(w.sim.objects('sourceConnections', SANDBOX).map((c) => c.name)).toEqual([
      ' orders  source'
    ])
  })
})
