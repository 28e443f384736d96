/**
 * The injection matrix: workflow commands, in both syntaxes the runner reads (`::cmd::` at the
 * start of a line, the legacy `##[cmd]` anywhere), hidden in every value the action may print:
 * inputs (connection-name, description, sandbox-name, server) and server replies (ids, names,
 * error messages, etags, request ids, the auth spec name). Line breaks of every kind (LF, a lone
 * CR, NEL, U+2028) and zero-width characters try to put them at a line start. Each case runs the
 * action's run() in-process (support/in-process.ts), every other one with RUNNER_DEBUG=1; the
 * output is parsed as the runner parses it and no command may appear but the action's own. Every
 * case fails with exit code 1 and a clear ::error, or succeeds safely, and no request carries a
 * malformed id.
 */
import { describe, it, expect } from '@jest/globals'
import type { Fault, Simulator } from '../simulator/server.js'
import type { ActionRun } from '../simulator/run-action.js'
import { forgedCommands, relayedCommands, runnerLeaks } from './support/leaks.js'
import {
  DATAFLOW_MAPPING,
  dataflowInputs,
  errorLines,
  expectNoMalformedIdSent,
  LIST_PATH,
  parts,
  runDataflowHostile,
  runHostile,
  SANDBOX,
  VALID_ID,
  withSim
} from './support/hostile.js'

const BY_ID = /^\/data\/foundation\/flowservice\/connections\/[^/]+$/
const PASSWORD = 'pw-Inject-7Rq2x'
const CLIENT_SECRET = 'cs-INJECT-3k9Vq+/=Tz~secret'
/** Only injected text carries this: a command whose data starts with it was forged. */
const M = 'INJ'

/** Payloads an input may carry (no control characters: inputs with those are refused). */
const INPUT_PAYLOADS = [
  `x ##[set-output name=connection-id;]${M}-attacker`,
  `x ##[add-mask]would-update`,
  `x ##[error]${M} forged`,
  `x ##[stop-commands]${M}tok`,
  `::error title=${M}::forged at the start`,
  `x #\u200b#[set-output name=operation;]${M} zero-width`
]

/** Payloads a server may send: line breaks of every kind put a command at a line start. */
const SERVER_PAYLOADS = [
  `\n::error title=Security::${M} credentials leaked, rotate now`,
  `\r::warning::${M} lone CR`,
  `\u0085::add-mask::would-update`,
  `\u2028::notice::${M} line separator`,
  ` ##[set-output name=connection-id;]${M}-attacker`,
  `\n  ::stop-commands::${M}tok`
]

/** Table paths a database may hold: the tables output keeps each one as it is. */
const TABLE_PATHS = [
  'public.orders',
  `##[error]${M}`,
  `public.x\n::error::${M}`,
  `public.y\u2028::warning::${M}`,
  `public.z\u200b##[notice]${M}`
]

interface Case {
  title: string
  /** sets up the simulator; returns the inputs */
  arrange: (sim: Simulator) => Record<string, string>
  /** what this case must show beyond the checks every case passes */
  check?: (r: ActionRun) => void
}

const rewrite = (edit: (reply: Record<string, unknown>) => unknown): Fault['action'] => ({
  type: 'rewrite',
  edit: (reply) => edit(reply as Record<string, unknown>)
})

/** Every listed item's `key` set to `value`. */
const forgeItems = (key: string, value: string) =>
  rewrite((r) => {
    for (const i of (r.items as Array<Record<string, unknown>>) ?? []) i[key] = value
    return r
  })

const CASES: Case[] = [
  // Inputs.
  ...INPUT_PAYLOADS.flatMap((p): Case[] => [
    {
      title: `connection-name ${JSON.stringify(p)}, existing, if-exists fail`,
      arrange: (sim) => {
        sim.seedConnection(SANDBOX, { name: p })
        return { ...parts(PASSWORD), 'connection-name': p, 'if-exists': 'fail' }
      }
    },
    {
      title: `connection-name ${JSON.stringify(p)}, created`,
      arrange: () => ({ ...parts(PASSWORD), 'connection-name': p })
    },
    {
      title: `description ${JSON.stringify(p)} in the dry-run plan`,
      arrange: () => ({ ...parts(PASSWORD), description: p, 'dry-run': 'true' })
    },
    {
      title: `server ${JSON.stringify(p)} in the basic-auth dry-run plan`,
      arrange: () => ({ ...parts(PASSWORD), server: p, 'auth-type': 'basic', 'dry-run': 'true' })
    }
  ]),
  ...[`prod ##[set-output name=x;]${M}`, `::error::${M}`].map((p): Case => ({
    title: `sandbox-name ${JSON.stringify(p)}`,
    arrange: () => ({ ...parts(PASSWORD), 'sandbox-name': p })
  })),
  {
    title: 'connection-name with a line break: refused as input',
    arrange: () => ({ ...parts(PASSWORD), 'connection-name': `x\n::error::${M}` })
  },
  // Server replies: ids.
  ...[...SERVER_PAYLOADS.map((p) => `abc${p}`), '..', 'a/../../x'].flatMap((id): Case[] => [
    {
      title: `create answering id ${JSON.stringify(id)}`,
      arrange: (sim) => {
        sim.inject({
          match: { method: 'POST', path: LIST_PATH },
          action: rewrite((r) => ({ ...r, id }))
        })
        return parts(PASSWORD)
      }
    },
    {
      title: `listed id ${JSON.stringify(id)}, state absent`,
      arrange: (sim) => {
        sim.seedConnection(SANDBOX, { name: 'injection' })
        sim.inject({ match: { method: 'GET', path: LIST_PATH }, action: forgeItems('id', id) })
        return { state: 'absent' }
      }
    }
  ]),
  // Server replies: names (two connections of that name: the error lists them).
  {
    title: 'duplicates listed with forged ids',
    arrange: (sim) => {
      sim.seedConnection(SANDBOX, { name: 'injection' })
      sim.seedConnection(SANDBOX, { name: 'injection' })
      sim.inject({
        match: { method: 'GET', path: LIST_PATH },
        action: forgeItems('id', `x${SERVER_PAYLOADS[0]}`)
      })
      return parts(PASSWORD)
    }
  },
  // Server replies: error messages, request ids.
  ...SERVER_PAYLOADS.flatMap((p): Case[] => [
    {
      title: `create 400 message ${JSON.stringify(p)}`,
      arrange: (sim) => {
        sim.inject({
          match: { method: 'POST', path: LIST_PATH },
          action: { type: 'echo', status: 400, message: `bad name${p} and more` }
        })
        return parts(PASSWORD)
      }
    },
    {
      title: `IMS error_description ${JSON.stringify(p)}`,
      arrange: (sim) => {
        sim.inject({
          match: { service: 'ims' },
          action: { type: 'echo', status: 400, message: `rejected${p}`, shape: 'ims' }
        })
        return parts(PASSWORD)
      }
    },
    {
      title: `connection test error ${JSON.stringify(p)}`,
      arrange: (sim) => {
        sim.inject({
          match: { method: 'GET', path: /\/explore$/ },
          action: { type: 'echo', status: 400, message: `cannot connect${p}` }
        })
        return { ...parts(PASSWORD), 'test-connection': 'true' }
      }
    }
  ]),
  {
    title: 'a request id carrying ##[',
    arrange: (sim) => {
      sim.inject({
        match: { method: 'GET', path: LIST_PATH },
        times: Infinity,
        action: {
          type: 'status',
          status: 404,
          headers: { 'x-request-id': `##[set-output name=connection-id;]${M}` }
        }
      })
      return parts(PASSWORD)
    }
  },
  // Server replies: etags (printed in the dry-run plan, sent back in If-Match, set as output).
  ...[`"e1"##[set-output name=etag;]${M}`, `::error::${M}`, `"e1"\n::add-mask::updated`].map(
    (etag): Case => ({
      title: `listed etag ${JSON.stringify(etag)}, dry run`,
      arrange: (sim) => {
        sim.seedConnection(SANDBOX, { name: 'injection' })
        sim.inject({ match: { method: 'GET', path: LIST_PATH }, action: forgeItems('etag', etag) })
        return { ...parts(PASSWORD), 'dry-run': 'true' }
      }
    })
  ),
  {
    title: 'update answering an etag carrying ##[',
    arrange: (sim) => {
      sim.seedConnection(SANDBOX, { name: 'injection' })
      sim.inject({
        match: { method: 'PATCH', path: BY_ID },
        action: rewrite((r) => ({ ...r, etag: `"e2" ##[error]${M}` }))
      })
      return parts(PASSWORD)
    }
  },
  // Outputs: data a later step may print (`echo ${{ steps.pg.outputs.etag }}`), so none may
  // carry a command, whatever the log shows.
  {
    title: 'update answering an etag that carries a forged annotation',
    arrange: (sim) => {
      sim.seedConnection(SANDBOX, { name: 'injection' })
      sim.inject({
        match: { method: 'PATCH', path: BY_ID },
        action: rewrite((r) => ({
          ...r,
          etag: '"e1 ##[error title=Security]Credentials leaked, rotate now"'
        }))
      })
      return parts(PASSWORD)
    },
    // The PATCH was performed: its answer is malformed, so the etag is read again.
    check: (r) => expect(r.outputs.etag).toMatch(/^"[0-9a-f-]+"$/)
  },
  {
    title: `listed etag "::error::${M}", if-exists reuse`,
    arrange: (sim) => {
      sim.seedConnection(SANDBOX, { name: 'injection' })
      sim.inject({
        match: { method: 'GET', path: LIST_PATH },
        action: forgeItems('etag', `::error::${M}`)
      })
      return { ...parts(PASSWORD), 'if-exists': 'reuse' }
    }
  },
  {
    title: 'explore listing table paths that carry commands: every path kept in tables',
    arrange: (sim) => {
      sim.seedConnection(SANDBOX, { name: 'injection', tables: TABLE_PATHS })
      return { ...parts(PASSWORD), 'if-exists': 'reuse', 'test-connection': 'true' }
    },
    check: (r) => {
      expect(r.code).toBe(0)
      expect(JSON.parse(r.outputs.tables ?? '')).toEqual(TABLE_PATHS)
    }
  },
  // Server replies: the auth spec name, printed when it does not match.
  {
    title: 'an existing connection whose auth spec name carries commands',
    arrange: (sim) => {
      sim.seedConnection(SANDBOX, { name: 'injection' })
      sim.inject({
        match: { method: 'GET', path: LIST_PATH },
        action: rewrite((r) => {
          for (const i of r.items as Array<{ auth: { specName: string } }>)
            i.auth.specName = `Basic ##[error]${M}\n::error::${M}`
          return r
        })
      })
      return { ...parts(PASSWORD), 'auth-type': 'basic' }
    }
  }
]

function judge(sim: Simulator, r: ActionRun): void {
  expect(r.timedOut).toBeUndefined()
  expect(forgedCommands(r, M)).toEqual([])
  expect(relayedCommands(r)).toEqual([])
  expect(runnerLeaks(r, { atomic: [PASSWORD, CLIENT_SECRET] })).toEqual([])
  expectNoMalformedIdSent(sim)
  if (r.code === 0) {
    expect(errorLines(r)).toEqual([])
    const id = r.outputs['connection-id'] ?? ''
    expect(id === '' || VALID_ID.test(id)).toBe(true)
  } else {
    expect(r.code).toBe(1)
    const errors = errorLines(r)
    // Input errors list each problem on its own line; any other failure is one line.
    if (!errors.some((l) => l.includes('Invalid input'))) expect(errors).toHaveLength(1)
    expect(errors.length).toBeGreaterThanOrEqual(1)
  }
}

// RUNNER_DEBUG only adds the request groups' lines (debug lines are written either way), so each
// case runs once, every other one in debug mode: both modes meet every kind of payload.
const RUNS = CASES.map((c, i) => ({
  ...c,
  debug: i % 2 === 1,
  title: `${c.title}${i % 2 === 1 ? ', RUNNER_DEBUG=1' : ''}`
}))

describe('injection matrix', () => {
  it.concurrent.each(RUNS)('$title', ({ arrange, check, debug }) =>
    withSim({ clientSecret: CLIENT_SECRET }, async (sim) => {
      const extra = arrange(sim)
      const r = await runHostile(sim, 'injection', extra, { debug })
      judge(sim, r)
      check?.(r)
    })
  )
})

// The dataflow action: its log, the dry run's plan (mapping diff lines), the summary and every
// output, with commands in its inputs, its mapping file and the replies of Flow Service, Data
// Prep and Catalog.
const FLOW = '/data/foundation/flowservice'
const DATAPREP = '/data/foundation/conversion/mappingSets'
/** What a dataflow case runs with: inputs beyond dataflowInputs(), the mapping file. */
interface DataflowCase {
  title: string
  arrange: (sim: Simulator) => Promise<{ inputs?: Record<string, string>; mapping?: unknown }>
  check?: (r: ActionRun) => void
}

/** A first, real run: the pipeline exists, so the next run reads it back. */
const existing = async (sim: Simulator) => {
  const r = await runDataflowHostile(sim, 'injection', dataflowInputs(sim))
  expect(r.code).toBe(0)
}
/** Every stored mapping (Data Prep's GET) with a payload in its source and destination. */
const forgeMappings = (p: string) =>
  rewrite((r) => {
    for (const m of (r.mappings as Array<Record<string, unknown>>) ?? [])
      for (const k of ['source', 'destination', 'sourceAttribute', 'destinationXdmPath'])
        if (typeof m[k] === 'string') m[k] = `${String(m[k])}${p}`
    return r
  })

const DATAFLOW_CASES: DataflowCase[] = [
  ...INPUT_PAYLOADS.flatMap((p): DataflowCase[] => [
    {
      title: `dataflow-name ${JSON.stringify(p)} in the dry-run plan`,
      arrange: async () => ({ inputs: { 'dataflow-name': p, 'dry-run': 'true' } })
    },
    {
      title: `dataflow-name ${JSON.stringify(p)}, created`,
      arrange: async () => ({ inputs: { 'dataflow-name': p } })
    }
  ]),
  {
    title: 'delta-column and description carrying commands, dry run',
    arrange: async () => ({
      inputs: {
        'delta-column': INPUT_PAYLOADS[2] ?? '',
        description: INPUT_PAYLOADS[4] ?? '',
        'dry-run': 'true'
      }
    })
  },
  {
    title: 'a mapping file whose sources and destinations carry commands, dry run',
    arrange: async () => ({
      inputs: { 'dry-run': 'true' },
      mapping: INPUT_PAYLOADS.map((p, i) => ({ source: `col${i}${p}`, destination: `x.y${i}${p}` }))
    })
  },
  // Server replies: the stored mapping set, shown as the dry run's diff lines.
  ...SERVER_PAYLOADS.map((p): DataflowCase => ({
    title: `stored mappings carrying ${JSON.stringify(p)}: the dry run's diff lines`,
    arrange: async (sim) => {
      await existing(sim)
      sim.inject({
        match: { method: 'GET', path: new RegExp(`^${DATAPREP}/`) },
        action: forgeMappings(p)
      })
      return {
        inputs: { 'dry-run': 'true' },
        mapping: [...DATAFLOW_MAPPING, { source: 'name', destination: 'person.name.fullName' }]
      }
    }
  })),
  // Server replies: ids and etags, which become outputs.
  ...[`abc${SERVER_PAYLOADS[0] ?? ''}`, `abc${SERVER_PAYLOADS[4] ?? ''}`].flatMap(
    (id): DataflowCase[] => [
      {
        title: `dataflow create answering id ${JSON.stringify(id)}`,
        arrange: async (sim) => {
          sim.inject({
            match: { method: 'POST', path: `${FLOW}/flows` },
            action: rewrite((r) => ({ ...r, id }))
          })
          return {}
        }
      },
      {
        title: `source connection create answering id ${JSON.stringify(id)}`,
        arrange: async (sim) => {
          sim.inject({
            match: { method: 'POST', path: `${FLOW}/sourceConnections` },
            action: rewrite((r) => ({ ...r, id }))
          })
          return {}
        }
      },
      {
        title: `mapping set create answering id ${JSON.stringify(id)}`,
        arrange: async (sim) => {
          sim.inject({
            match: { method: 'POST', path: DATAPREP },
            action: rewrite((r) => ({ ...r, id }))
          })
          return {}
        }
      }
    ]
  ),
  {
    title: 'dataflow create answering an etag that carries a forged annotation',
    arrange: async (sim) => {
      sim.inject({
        match: { method: 'POST', path: `${FLOW}/flows` },
        action: rewrite((r) => ({
          ...r,
          etag: '"e1 ##[error title=Security]Credentials leaked, rotate now"'
        }))
      })
      return {}
    }
  },
  {
    title: `listed dataflow etag "::error::${M}", if-exists reuse`,
    arrange: async (sim) => {
      await existing(sim)
      sim.inject({
        match: { method: 'GET', path: `${FLOW}/flows` },
        action: forgeItems('etag', `::error::${M}`)
      })
      return { inputs: { 'if-exists': 'reuse' } }
    }
  },
  {
    title: 'mapping set create answering a version that carries a command',
    arrange: async (sim) => {
      sim.inject({
        match: { method: 'POST', path: DATAPREP },
        action: rewrite((r) => ({ ...r, version: `0\n::error::${M}` }))
      })
      return {}
    }
  },
  // Server replies: error messages of each service.
  ...SERVER_PAYLOADS.flatMap((p): DataflowCase[] => [
    {
      title: `Data Prep 400 message ${JSON.stringify(p)}`,
      arrange: async (sim) => {
        sim.inject({
          match: { method: 'POST', service: 'dataprep' },
          action: { type: 'echo', status: 400, message: `mapping refused${p} and more` }
        })
        return {}
      }
    },
    {
      title: `Catalog 404 message ${JSON.stringify(p)}`,
      arrange: async (sim) => {
        sim.inject({
          match: { service: 'catalog' },
          action: { type: 'echo', status: 400, message: `no dataset${p}`, shape: 'gateway' }
        })
        return {}
      }
    }
  ])
]

const DATAFLOW_RUNS = DATAFLOW_CASES.map((c, i) => ({
  ...c,
  debug: i % 2 === 1,
  title: `${c.title}${i % 2 === 1 ? ', RUNNER_DEBUG=1' : ''}`
}))

/** Every output of the dataflow action that names an object: empty, or an id. */
const DATAFLOW_ID_OUTPUTS = [
  'dataflow-id',
  'source-connection-id',
  'target-connection-id',
  'mapping-set-id'
]

describe('injection matrix, dataflow action', () => {
  it.concurrent.each(DATAFLOW_RUNS)('$title', ({ arrange, check, debug }) =>
    withSim({ clientSecret: CLIENT_SECRET }, async (sim) => {
      const { inputs, mapping } = await arrange(sim)
      const r = await runDataflowHostile(
        sim,
        inputs?.['dataflow-name'] ?? 'injection',
        { ...dataflowInputs(sim), ...inputs },
        { debug, mapping }
      )
      expect(r.timedOut).toBeUndefined()
      expect(forgedCommands(r, M)).toEqual([])
      expect(relayedCommands(r)).toEqual([])
      expect(runnerLeaks(r, { atomic: [CLIENT_SECRET] })).toEqual([])
      for (const name of DATAFLOW_ID_OUTPUTS) {
        const v = r.outputs[name] ?? ''
        expect([name, v === '' || VALID_ID.test(v)]).toEqual([name, true])
      }
      expect(r.outputs['mapping-version'] ?? '').toMatch(/^\d*$/)
      expect(r.outputs.etag ?? '').toMatch(/^(|"[A-Za-z0-9._~+/=-]*")$/)
      if (r.code !== 0) {
        expect(r.code).toBe(1)
        const errors = errorLines(r)
        if (!errors.some((l) => l.includes('Invalid input'))) expect(errors).toHaveLength(1)
      } else expect(errorLines(r)).toEqual([])
      check?.(r)
    })
  )
})

describe('the injection matrix itself', () => {
  it('has every input payload in four places and every server payload in four', () => {
    expect(CASES).toHaveLength(
      INPUT_PAYLOADS.length * 4 + 3 + 8 * 2 + 1 + 6 * 3 + 1 + 3 + 1 + 3 + 1
    )
    expect(CASES).toHaveLength(71)
    expect(DATAFLOW_CASES).toHaveLength(INPUT_PAYLOADS.length * 2 + 2 + 6 + 2 * 3 + 3 + 6 * 2)
    expect(DATAFLOW_CASES).toHaveLength(41)
  })

  it('the check finds what it is meant to find', () => {
    const run = (lines: string[]): ActionRun => ({
      code: 0,
      signal: null,
      stdout: lines.join('\n'),
      stderr: '',
      lines,
      outputs: {},
      summary: '',
      durationMs: 1
    })
    expect(forgedCommands(run(['Looking up x', 'ok']), M)).toEqual([])
    for (const bad of [
      `Looking up "x ##[set-output name=a;]b"`,
      `::error title=Security::x`,
      `  ::warning::x`,
      `::warning::${M} at the start`,
      `::set-output name=a::b`,
      `::stop-commands::tok`
    ])
      expect(forgedCommands(run(['::add-mask::s', 'Looking up x', bad]), M)).toHaveLength(1)
    expect(forgedCommands(run(['Looking up x', `::add-mask::${M}-late`]), M)).toHaveLength(1)
    expect(forgedCommands(run(['Looking up x', '::add-mask::own-late-token']), M)).toEqual([])
    // A lone CR ends a line for the runner.
    expect(forgedCommands(run([`Looking up x\r::error title=t::y`]), M)).toHaveLength(1)
  })
})
