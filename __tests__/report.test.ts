import { describe, it, expect } from '@jest/globals'
import { POSTGRES_SPEC_ID } from '../src/platform/collections.js'
import {
  failureSummary,
  MAX_TABLES_OUTPUT,
  outcomeLine,
  testText,
  setOutputs,
  setTablesOutput,
  successSummary,
  tablesOutput,
  summaryRows,
  type Result
} from '../src/connection/report.js'

const result: Result = {
  operation: 'created',
  connectionId: 'f1e2d3c4-0000-1111-2222-333344445555',
  etag: '"etag-1"',
  connectionName: 'orders-db',
  sandboxName: 'prod',
  dryRun: false,
  runUrl: 'https://github.com/o/r/actions/runs/1'
}

describe('setOutputs', () => {
  it('sets the four outputs', () => {
    const out: Array<[string, string]> = []
    setOutputs({ setOutput: (n, v) => out.push([n, v]) }, result)
    expect(out).toEqual([
      ['connection-id', 'f1e2d3c4-0000-1111-2222-333344445555'],
      ['etag', '"etag-1"'],
      ['operation', 'created'],
      ['connection-spec-id', '74a1c565-4e59-48d7-9d67-7c03b8a13137']
    ])
  })
})

describe('summaryRows', () => {
  it('lists what the step did', () => {
    expect(summaryRows(result)).toEqual([
      ['Operation', 'created'],
      ['Connection name', 'orders-db'],
      ['Connection id', 'f1e2d3c4-0000-1111-2222-333344445555'],
      ['Sandbox', 'prod'],
      ['Connection spec id', POSTGRES_SPEC_ID],
      ['Connection test', 'not requested']
    ])
  })

  it('marks a dry run and an empty id', () => {
    const rows = summaryRows({
      ...result,
      operation: 'would-create',
      dryRun: true,
      connectionId: ''
    })
    expect(rows[0]).toEqual(['Operation', 'would-create (dry run)'])
    expect(rows[2]).toEqual(['Connection id', '—'])
  })

  it.each([
    [{ ok: true, tables: 3 }, 'passed: Flow Service sees 3 table(s)'],
    [{ ok: true }, 'passed: Flow Service sees 0 table(s)'],
    [{ ok: false, error: 'HTTP 400 timeout' }, 'failed: HTTP 400 timeout'],
    [{ ok: false }, 'failed: unknown error'],
    [{ ok: true, skipped: 'dry run' as const }, 'skipped (dry run)'],
    [{ ok: true, skipped: 'state absent' as const }, 'skipped (state absent)']
  ])('test result %j', (test, text) => {
    expect(summaryRows({ ...result, test })[5]).toEqual(['Connection test', text])
  })
})

describe('successSummary', () => {
  it('a heading, the rows and the run link', () => {
    expect(successSummary(result)).toEqual({
      heading: 'AEP PostgreSQL connection',
      rows: summaryRows(result),
      link: { text: 'Workflow run', href: 'https://github.com/o/r/actions/runs/1' }
    })
  })

  it('no link without a run URL', () => {
    expect(successSummary({ ...result, runUrl: undefined }).link).toBeUndefined()
  })
})

describe('failureSummary', () => {
  it('says it failed, shows the error and links the run', () => {
    expect(
      failureSummary({ error: 'listing failed: HTTP 404', runUrl: 'https://github.com/o/r/x' })
    ).toEqual({
      heading: 'AEP PostgreSQL connection: failed',
      rows: [
        ['Status', 'failed'],
        ['Error', 'listing failed: HTTP 404']
      ],
      link: { text: 'Workflow run', href: 'https://github.com/o/r/x' }
    })
  })

  it('lists the inputs to fix', () => {
    const s = failureSummary({ error: 'Invalid input', inputs: ['port', 'if-exists'] })
    expect(s.rows).toContainEqual(['Inputs to fix', 'port, if-exists'])
    expect(s.link).toBeUndefined()
  })

  it('shows what was done before the failure, the failed test once', () => {
    const s = failureSummary({
      error: 'testing failed: HTTP 400',
      result: { ...result, test: { ok: false, error: 'testing failed: HTTP 400' } }
    })
    expect(s.rows[0]).toEqual(['Status', 'failed'])
    expect(s.rows.filter(([k]) => k === 'Error')).toEqual([])
    expect(s.rows).toContainEqual(['Connection test', 'failed: testing failed: HTTP 400'])
    expect(s.rows).toContainEqual(['Operation', 'created'])
    expect(s.link?.href).toBe(result.runUrl)
  })
})

describe('the tables output', () => {
  it('is a compact JSON array of the paths, in order', () => {
    expect(tablesOutput(['public.a', 'sales."Odd, name"'])).toEqual({
      value: '["public.a","sales.\\"Odd, name\\""]',
      omitted: 0
    })
    expect(tablesOutput([])).toEqual({ value: '[]', omitted: 0 })
  })

  it('keeps every path, written so that no ##[, line break or hidden character is in the text', () => {
    const paths = [
      'public.a',
      '##[error]X',
      'x\n::error::Y',
      'y\u2028::warning::Z',
      'z\u0085::notice::W',
      'w\u200b##[x]',
      'v\u{e0001}tag',
      'ünïcode.tåble'
    ]
    const { value } = tablesOutput(paths)
    expect(JSON.parse(value)).toEqual(paths)
    expect(value).not.toContain('##[')
    expect(value).not.toMatch(/[\n\r\u0085\u2028\u2029\u200b\u{e0001}]/u)
    expect(value).toContain('ünïcode.tåble')
  })

  it('is cut at MAX_TABLES_OUTPUT (1000), saying how many were left out', () => {
    expect(MAX_TABLES_OUTPUT).toBe(1000)
    const paths = Array.from({ length: 1001 }, (_, i) => `public.t${i}`)
    expect(tablesOutput(paths.slice(0, 1000)).omitted).toBe(0)
    const cut = tablesOutput(paths)
    expect(cut.omitted).toBe(1)
    expect(JSON.parse(cut.value)).toEqual(paths.slice(0, 1000))
  })

  it('setTablesOutput sets it once and warns only when it cut the list', () => {
    const set: Array<[string, string]> = []
    const warnings: string[] = []
    const sink = { setOutput: (n: string, v: string) => set.push([n, v]) }
    setTablesOutput(sink, ['public.a'], (m) => warnings.push(m))
    expect(set).toEqual([['tables', '["public.a"]']])
    expect(warnings).toEqual([])
    setTablesOutput(
      sink,
      Array.from({ length: 1200 }, (_, i) => `t${i}`),
      (m) => warnings.push(m)
    )
    expect(warnings).toEqual([
      'the tables output lists the first 1000 of the 1200 tables Flow Service sees; 200 are left out'
    ])
  })
})

describe('outcomeLine', () => {
  it.each([
    [{}, 'created: connection f1e2d3c4-0000-1111-2222-333344445555'],
    [{ operation: 'updated' }, 'updated: connection f1e2d3c4-0000-1111-2222-333344445555'],
    [
      { operation: 'absent', connectionId: '' },
      'absent: no connection named "orders-db" exists in sandbox prod; nothing to delete'
    ],
    [
      { operation: 'would-create', connectionId: '', dryRun: true },
      'would-create: no connection named "orders-db" exists yet (dry run: nothing was changed)'
    ],
    [
      { operation: 'would-delete', dryRun: true },
      'would-delete: connection f1e2d3c4-0000-1111-2222-333344445555 (dry run: nothing was changed)'
    ]
  ] as Array<[Partial<Result>, string]>)('%j', (change, line) => {
    expect(outcomeLine({ ...result, ...change })).toBe(line)
  })

  it('says the test result the way the summary row does', () => {
    expect(testText(undefined)).toBe(summaryRows(result)[5]![1])
  })
})
