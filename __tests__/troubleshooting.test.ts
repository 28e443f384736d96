/**
 * docs/troubleshooting.md and the README's troubleshooting list quote what the action prints for
 * the failures a first run meets. Each failure is produced here with the simulator, the step run
 * in-process, and every quote must appear in what the step printed: `…` stands for a part that
 * varies (Adobe's own text, request and connection ids), and the parts around it must appear in
 * that order on one line.
 */
import { describe, it, expect, beforeAll, afterAll, beforeEach } from '@jest/globals'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
// The only imports of the actions' code: when they move, these lines move with them.
import { run } from '../src/connection/main.js'
import { run as dataflowRun } from '../src/dataflow/main.js'
import { DEFAULT_DATASET, startSimulator, type Simulator } from '../simulator/server.js'
import { fakeCore, type FakeCore } from './support/fake-core.js'
import { runInProcess } from './support/in-process.js'

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..')
const read = (rel: string) => readFileSync(path.join(root, rel), 'utf8')

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
export function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-')
}

/** The quotes of each `## ` section: every line of its ```text blocks. */
export function quotesBySection(markdown: string): Map<string, string[]> {
  const sections = new Map<string, string[]>()
  let current: string[] | undefined
  let inText = false
  for (const line of markdown.split('\n')) {
    if (!inText && /^## /.test(line)) {
      current = []
      sections.set(slug(line.slice(3)), current)
    } else if (/^```text\s*$/.test(line)) inText = true
    else if (inText && /^```\s*$/.test(line)) inText = false
    else if (inText && line.trim() && current) current.push(line.trim())
  }
  for (const [key, quotes] of sections) if (quotes.length === 0) sections.delete(key)
  return sections
}

/** True when the parts of a quote around each `…` appear in this order in the line. */
export function quoteMatches(quote: string, line: string): boolean {
  let from = 0
  for (const part of quote
    .split('…')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const at = line.indexOf(part, from)
    if (at < 0) return false
    from = at + part.length
  }
  return true
}

/** Every line the step printed (log, warnings, errors, the failure); secrets registered are not. */
const printed = (core: FakeCore) =>
  core.calls.filter((c) => c.kind !== 'setSecret').map((c) => c.text)

const CLIENT_SECRET = 'Xq7-docs-S3cr3t-9Lm'
const PASSWORD = 'Pw-Docs-4471;x'

describe('troubleshooting: the quoted messages are what the action prints', () => {
  let sim: Simulator
  // The dataflow action reads its mapping file from the workspace, as after a checkout.
  const workspace = mkdtempSync(path.join(tmpdir(), 'troubleshooting-ws-'))
  mkdirSync(path.join(workspace, 'aep'))
  writeFileSync(
    path.join(workspace, 'aep', 'orders-mapping.yaml'),
    '- source: id\n  destination: _id\n- source: email\n  destination: personalEmail.address\n'
  )

  beforeAll(async () => {
    sim = await startSimulator({ clientSecret: CLIENT_SECRET })
  })
  afterAll(async () => {
    await sim.close()
    rmSync(workspace, { recursive: true, force: true })
  })
  beforeEach(() => sim.reset())

  /** One step against the simulator with working credentials; `extra` wins. */
  async function step(
    extra: Record<string, string> = {},
    env: Record<string, string> = {}
  ): Promise<FakeCore> {
    const core = fakeCore({
      'client-id': sim.clientId,
      'client-secret': CLIENT_SECRET,
      'ims-org-id': sim.orgId,
      'sandbox-name': 'prod',
      'platform-url': sim.url,
      'ims-url': sim.url,
      'connection-name': 'analytics-postgres',
      server: 'db.example.com',
      database: 'analytics',
      username: 'aep_ingest',
      password: PASSWORD,
      ...extra
    })
    await run({ core, env })
    return core
  }

  /** A step that must fail; what it printed. */
  async function failing(extra: Record<string, string> = {}): Promise<string[]> {
    const core = await step(extra)
    expect(core.failed()).toBeDefined()
    return printed(core)
  }

  /** The base connection the connection action made: `analytics-postgres`, seeded once. */
  const baseConnection = () =>
    sim.connections('prod').find((c) => c.name === 'analytics-postgres')?.id ??
    sim.seedConnection('prod', { name: 'analytics-postgres', tables: ['public.orders'] }).id

  /** One run of the dataflow action, in-process, with working inputs; `extra` wins. */
  async function dataflowStep(extra: Record<string, string> = {}) {
    return runInProcess({
      run: dataflowRun,
      actionYml: path.join(root, 'dataflow', 'action.yml'),
      inputs: {
        'client-id': sim.clientId,
        'client-secret': CLIENT_SECRET,
        'ims-org-id': sim.orgId,
        'sandbox-name': 'prod',
        'platform-url': sim.url,
        'ims-url': sim.url,
        'dataflow-name': 'analytics-orders',
        'base-connection-id': baseConnection(),
        table: 'public.orders',
        'dataset-name': DEFAULT_DATASET.name,
        mapping: 'aep/orders-mapping.yaml',
        'delta-column': 'updated_at',
        ...extra
      },
      env: { GITHUB_WORKSPACE: workspace }
    })
  }

  /** A dataflow step that must fail; what it printed. */
  async function dataflowFailing(extra: Record<string, string> = {}): Promise<string[]> {
    const r = await dataflowStep(extra)
    expect(r.code).toBe(1)
    return r.lines
  }

  /** A dataflow step that must pass (to set up a failure after it). */
  async function dataflowMade(): Promise<void> {
    const r = await dataflowStep()
    expect([r.code, r.outputs.operation]).toEqual([0, 'created'])
  }

  /** A Flow Service error body, as Adobe writes it. */
  const flowError = (status: number, code: string, message: string) =>
    JSON.stringify({
      type: `https://ns.adobe.com/aep/errors/FLOW-${code}-${status}`,
      title: 'Forbidden',
      status,
      report: { 'detailed-message': message, 'request-id': `req-${code}` }
    })

  /** Each section of docs/troubleshooting.md that quotes messages, and how to make that failure. */
  const scenarios: Record<string, () => Promise<string[]>> = {
    '401-from-ims-client-id-or-client-secret': async () => [
      ...(await failing({ 'client-secret': 'Wrong-S3cr3t-Zq8' })),
      ...(await failing({ 'client-id': 'another-client-id' }))
    ],
    '401-from-flow-service-the-access-token': async () => {
      const given = await failing({ 'client-secret': '', 'access-token': 'expired-token-0001' })
      // A token the action fetched is renewed once, then the step fails.
      sim.inject({
        match: { service: 'flow' },
        times: Infinity,
        action: {
          type: 'status',
          status: 401,
          contentType: 'application/json',
          body: JSON.stringify({ error_code: '401013', message: 'Oauth token is not valid' })
        }
      })
      return [...given, ...(await failing())]
    },
    '403-the-product-profile-lacks-view-sources-or-manage-sources': async () => {
      const status = (method: string, code: string) =>
        sim.inject({
          match: { method, service: 'flow' },
          action: {
            type: 'status',
            status: 403,
            contentType: 'application/json',
            body: flowError(403, code, 'The user does not have the required permission')
          }
        })
      status('GET', '2118')
      const view = await failing()
      status('POST', '2120')
      return [...view, ...(await failing())]
    },
    '403-the-wrong-organization': () => failing({ 'ims-org-id': 'AAAA0000BBBB1111@AdobeOrg' }),
    '403-from-the-gateway-x-api-key': () =>
      failing({
        'client-secret': '',
        'access-token': sim.issueToken(),
        'client-id': 'client-id-of-another-project'
      }),
    'unknown-sandbox': async () => [
      ...(await failing({ 'sandbox-name': 'qa' })),
      ...(await failing({ 'sandbox-name': 'Prod' }))
    ],
    'the-connection-test-fails-adobe-cannot-reach-the-database': async () => {
      sim.configure({ connectionTest: 'fail' })
      const core = await step({ 'test-connection': 'true' })
      expect(core.failed()).toBeDefined()
      // The connection exists, and the outputs say which one.
      expect(core.outputs['connection-id']).toBe(sim.connections('prod')[0]?.id)
      return printed(core)
    },
    '1445-patch-is-not-enabled': async () => {
      sim.seedConnection('prod', { name: 'analytics-postgres' })
      sim.configure({ patchEnabled: false })
      return failing()
    },
    'the-mapping-file-is-not-in-the-workspace': () =>
      dataflowFailing({ mapping: 'aep/customers-mapping.yaml' }),
    'the-dataset-is-not-found': async () => [
      ...(await dataflowFailing({ 'dataset-name': '', 'dataset-id': '5f2b0c9e8d7a6b5c4d3e2f1a' })),
      ...(await dataflowFailing({ 'dataset-name': 'Orders' }))
    ],
    'several-datasets-have-the-name': () => {
      for (const schema of ['orders', 'orders-v2'])
        sim.seedDataset('prod', {
          name: 'orders',
          schemaId: `https://ns.adobe.com/simtenant/schemas/${schema}`
        })
      return dataflowFailing({ 'dataset-name': 'orders' })
    },
    '1425-the-mapping-and-the-dataset-have-different-schemas': () => {
      // Adobe's refusal (its error catalogue's message), as Flow Service answers it.
      sim.inject({
        match: { method: 'POST', path: '/data/foundation/flowservice/flows' },
        action: {
          type: 'status',
          status: 400,
          contentType: 'application/json',
          body: JSON.stringify({
            type: 'https://ns.adobe.com/aep/errors/FLOW-1425-400',
            title: 'Invalid request',
            status: 400,
            report: {
              'detailed-message':
                'Schema with same id and version must be used in both mapping and target dataset.',
              'request-id': 'req-1425'
            }
          })
        }
      })
      return dataflowFailing()
    },
    'a-changed-table-base-connection-or-dataset-is-refused': async () => {
      await dataflowMade()
      const other = sim.seedConnection('prod', { name: 'analytics-postgres-2' }).id
      const dataset = sim.seedDataset('prod', {
        name: 'orders-v2',
        schemaId: 'https://ns.adobe.com/simtenant/schemas/orders-v2'
      })
      return [
        ...(await dataflowFailing({ table: 'public.customers' })),
        ...(await dataflowFailing({ 'base-connection-id': other })),
        ...(await dataflowFailing({ 'dataset-name': '', 'dataset-id': dataset }))
      ]
    },
    'a-connection-of-that-name-was-not-made-by-this-action': () => {
      sim.seedSourceConnection('prod', {
        name: 'analytics-orders source',
        baseConnectionId: baseConnection(),
        tableName: 'public.customers',
        description: 'Made by hand'
      })
      return dataflowFailing()
    },
    '1418-a-dataflow-still-uses-the-connection': async () => {
      await dataflowMade()
      return failing({ state: 'absent' })
    },
    'invalid-input': () => failing({ port: '54 32' }),
    'a-misspelt-input-name': async () => {
      // The runner passes a with: key it does not know as INPUT_<KEY>.
      const core = await step({}, { INPUT_DRYRUN: 'true' })
      expect(core.failed()).toBeDefined()
      expect(sim.requests).toEqual([])
      return printed(core)
    }
  }

  const doc = quotesBySection(read('docs/troubleshooting.md'))

  it('every section that quotes messages has a scenario here, and every scenario a section', () => {
    expect([...doc.keys()].sort()).toEqual(Object.keys(scenarios).sort())
  })

  it.each(Object.keys(scenarios))('%s: each quote is a line the step printed', async (key) => {
    const lines = await scenarios[key]!()
    const missing = (doc.get(key) ?? []).filter((q) => !lines.some((l) => quoteMatches(q, l)))
    expect({ missing, printed: missing.length ? lines : [] }).toEqual({ missing: [], printed: [] })
  })

  it("the README's troubleshooting list quotes the same messages and links to their sections", () => {
    const readme = read('README.md')
    const section = /^## Troubleshooting\n([\s\S]*?)(?=^## )/m.exec(readme)?.[1] ?? ''
    // One item per bullet, its wrapped lines joined.
    const bullets = section
      .split(/^- /m)
      .slice(1)
      .map((b) => b.replace(/\s*\n\s*/g, ' '))
    const items = bullets.map((b) => /^`([^`]+)`.*\]\(docs\/troubleshooting\.md#([\w-]+)\)/.exec(b))
    expect(items.filter((m) => !m)).toEqual([])
    expect(items.length).toBeGreaterThanOrEqual(6)
    for (const [, quote, anchor] of items as RegExpExecArray[]) {
      // A README quote is one of its section's quotes, or that quote with more of it left out:
      // its parts then lie inside the parts the section's test found in the step's output.
      const quotes = doc.get(anchor!) ?? []
      expect([quote, anchor, quotes.some((q) => quoteMatches(quote!, q))]).toEqual([
        quote,
        anchor,
        true
      ])
    }
  })

  it('a quote matches only with its parts in order', () => {
    expect(quoteMatches('a … b … c', 'xx a yy b zz c')).toBe(true)
    expect(quoteMatches('a … c … b', 'xx a yy b zz c')).toBe(false)
    expect(quoteMatches('HTTP 401 … — check', 'HTTP 403 x — check')).toBe(false)
    expect(slug('403 from the gateway: x-api-key')).toBe('403-from-the-gateway-x-api-key')
  })
})
