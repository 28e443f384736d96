/**
 * A mapping file in an encoding the action does not read is refused naming the encoding; a dry
 * run of state absent says what the real run does when a connection of its names is in use.
 * In-process against the simulator.
 */
import { describe, it, expect, beforeEach } from '@jest/globals'
import { type RecordedRequest, type Simulator } from '../simulator/server.js'
import { decodeText, parseMapping } from '../src/dataflow/mapping-file.js'
import { InputError } from '../src/platform/errors.js'
import { SANDBOX, errorLine, usePipeline } from './support/dataflow-pipeline.js'

const MAPPING = [
  { source: 'id', destination: '_id' },
  { source: 'email', destination: 'personalEmail.address' }
]
const p = usePipeline({ tables: ['public.orders', 'public.customers'], mapping: MAPPING })
const { step, since } = p
let sim: Simulator
let baseId = ''
let datasetId = ''
beforeEach(() => {
  ;({ sim, baseId, datasetId } = p)
})
const writes = (rs: RecordedRequest[]) =>
  rs.filter((r) => r.method !== 'GET' && r.service !== 'ims').map((r) => `${r.method} ${r.path}`)

const YAML = '- source: id\n  destination: _id\n'

function mappingMessage(bytes: Buffer): string {
  try {
    parseMapping(decodeText(bytes, 'aep/orders.yaml'), 'aep/orders.yaml')
  } catch (e) {
    if (e instanceof InputError) return e.problems[0]?.message ?? ''
    throw e
  }
  return '(read)'
}

describe('a mapping file in another encoding is refused naming the encoding, not as "not a list"', () => {
  it.each([
    // PowerShell's Out-File -Encoding unicode writes a BOM, but .NET's UnicodeEncoding(false, false),
    // Python's open(..., encoding="utf-16-le") and iconv -t UTF-16LE do not.
    ['UTF-16LE without a byte-order mark', Buffer.from(YAML, 'utf16le')],
    ['UTF-16BE without a byte-order mark', Buffer.from(YAML, 'utf16le').swap16()],
    // FF FE 00 00: the UTF-32LE mark starts with the UTF-16LE one.
    [
      'UTF-32LE with its byte-order mark',
      Buffer.concat([
        Buffer.from([0xff, 0xfe, 0, 0]),
        Buffer.from(Array.from(YAML).flatMap((c) => [c.charCodeAt(0), 0, 0, 0]))
      ])
    ]
  ])('%s', (_what, bytes) => {
    const m = mappingMessage(bytes)
    // Before the fix: "aep/orders.yaml must hold a list of {source, destination} items (a YAML or JSON
    // list)", of a file that does hold one: the bytes are valid UTF-8 (NULs) or pass as UTF-16LE,
    // the very message the encoding check (mapping-file.ts decodeText) was added to replace.
    expect(m).not.toMatch(/must hold a list/)
    expect(m).toMatch(/UTF-?8|encod/i)
  })
})

describe('a dry run of state absent says what the real run does', () => {
  it('a marked "orders source" another dataflow uses: the real run deletes nothing (absent), the dry run must not say would-delete', async () => {
    // A run of "orders" failed after its source connection (marked); the connection was then
    // taken into another dataflow by hand.
    const left = sim.seedSourceConnection(SANDBOX, {
      name: 'orders source',
      description: 'Managed by GitHub Actions: x [aep-gha:0123456789ab.1]',
      baseConnectionId: baseId,
      tableName: 'public.orders'
    })
    const t = sim.seedTargetConnection(SANDBOX, { name: 'legacy target', dataSetId: datasetId })
    sim.seedFlow(SANDBOX, {
      name: 'legacy orders',
      sourceConnectionIds: [left.id],
      targetConnectionIds: [t.id]
    })
    const n = sim.requests.length
    const dry = await step({ state: 'absent', 'dry-run': 'true' })
    expect(dry.code).toBe(0)
    expect(writes(since(n))).toEqual([])
    const real = await step({ state: 'absent' })
    expect(errorLine(real)).toBe('')
    expect(real.code).toBe(0)
    expect(sim.objects('sourceConnections', SANDBOX).map((x) => x.id)).toContain(left.id)
    // The real run deleted nothing ...
    expect(real.outputs.operation).toBe('absent')
    // ... but the dry run said it would delete (plan.ts operationOf counts every connection found
    // by name, also one Flow Service will refuse to delete because a dataflow uses it).
    expect(dry.outputs.operation).toBe(real.outputs.operation)
  })
})
