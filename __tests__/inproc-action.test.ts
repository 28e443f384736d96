/**
 * The action's run() in-process, with the runner's side as the runner has it (inputs, a stand-in
 * for @actions/core that writes what the real one writes: support/in-process.ts), against the
 * local Flow Service + IMS simulator. Every run is checked for secret leaks and mask order.
 */
import { describe, it, expect, beforeAll, afterAll, beforeEach } from '@jest/globals'
import { startSimulator, type Simulator } from '../simulator/server.js'
import { actionInputs, type ActionRun } from '../simulator/run-action.js'
import { runInProcess } from './support/in-process.js'
import {
  expectMasksFirst,
  expectNoLeaks,
  flowTokens,
  forgedCommands,
  simulatorSecrets
} from './support/leaks.js'
import { adobeInputs } from './support/sim-inputs.js'
import { markOf, stripMark, withMark } from '../src/platform/marker.js'

/** A request body with the description's mark taken out: [marked?, body without it]. */
function splitMark(body: string): [boolean, string] {
  const parsed = JSON.parse(body) as { description?: string }
  const marked = markOf(parsed.description) !== undefined
  return [marked, body.replace(/ \[aep-gha:[^\]"]*\]"/, '"')]
}

const SPEC_ID = '74a1c565-4e59-48d7-9d67-7c03b8a13137'
const MYSQL_SPEC_ID = '26d738e0-8963-47ea-aadf-c60de735468a'
const FLOW = '/data/foundation/flowservice'
const CS_AUTH = 'Connection String Based Authentication'
const DEFAULT_SCOPES =
  'openid,session,AdobeID,read_organizations,additional_info.projectedProductContext'
const PASSWORD = 'pw-Kx7!q2#Lm9'
const NEW_PASSWORD = 'pw-Rotated-4f8Z'

describe('The action', () => {
  let sim: Simulator
  let token: string

  beforeAll(async () => {
    sim = await startSimulator()
  })
  afterAll(async () => {
    await sim.close()
  })
  beforeEach(() => {
    sim.reset()
    sim.configure({ pageSize: 20 })
    token = sim.issueToken()
  })

  /** Inputs for the simulator, access-token auth, sandbox prod; `extra` wins. */
  const inputs = (extra: Record<string, string>): Record<string, string> => ({
    ...adobeInputs(sim, 'prod', { 'access-token': token }),
    ...extra
  })

  /** Parts of a database, connection-string auth. */
  const parts = (password = PASSWORD): Record<string, string> => ({
    server: 'db.example.com',
    port: '5433',
    database: 'orders',
    username: 'etl_user',
    password
  })

  /** Runs the action; then checks that nothing secret leaked and masks came first. */
  async function act(
    given: Record<string, string>,
    opts: { env?: Record<string, string>; secrets?: string[] } = {}
  ): Promise<ActionRun> {
    const run = await runInProcess({ inputs: given, env: opts.env })
    expectNoLeaks(run, [
      given.password,
      given['client-secret'],
      given['access-token'],
      given['connection-string'],
      given['postgres-url'],
      ...simulatorSecrets(sim),
      ...(opts.secrets ?? [])
    ])
    expectMasksFirst(run)
    expect(forgedCommands(run)).toEqual([])
    return run
  }

  const flowRequests = () => sim.requests.filter((r) => r.service === 'flow')
  const mutatingRequests = () =>
    flowRequests().filter((r) => ['POST', 'PATCH', 'DELETE', 'PUT'].includes(r.method))
  const errorLines = (run: ActionRun) => run.lines.filter((l) => l.startsWith('::error::'))
  const stored = (name: string) => sim.connections('prod').filter((c) => c.name === name)
  const connectionString = (p: Record<string, string>) =>
    `Server=${p.server};Database=${p.database};Port=${p.port};UID=${p.username};Password=${p.password}`

  it('access-token: sends exactly the seed request, after a lookup by name, and no IMS call', async () => {
    const name = 'Orders DB (prod)'
    const p = parts()
    const run = await act(
      inputs({ 'connection-name': name, description: 'Orders replica for AEP', ...p })
    )

    expect(run.code).toBe(0)
    expect(sim.requests.filter((r) => r.service === 'ims')).toEqual([])
    expect(sim.requests.map((r) => `${r.method} ${r.url}`)).toEqual([
      `GET ${FLOW}/connections?property=name==Orders%20DB%20(prod)`,
      `POST ${FLOW}/connections`,
      // After a create, one more lookup: another run may have created it at the same time.
      `GET ${FLOW}/connections?property=name==Orders%20DB%20(prod)`
    ])
    const [lookup, create] = sim.requests
    expect(lookup?.headers).toMatchObject({
      authorization: `Bearer ${token}`,
      'x-api-key': sim.clientId,
      'x-gw-ims-org-id': sim.orgId,
      'x-sandbox-name': 'prod'
    })
    expect(create?.path).toBe(`${FLOW}/connections`)
    expect(create?.headers).toMatchObject({
      authorization: `Bearer ${token}`,
      'x-api-key': sim.clientId,
      'x-gw-ims-org-id': sim.orgId,
      'x-sandbox-name': 'prod',
      'content-type': 'application/json'
    })
    // The seed request, but for the mark at the end of the description (see marker.ts).
    const [marked, unmarked] = splitMark(create?.body ?? '')
    expect(marked).toBe(true)
    expect(unmarked).toBe(
      JSON.stringify({
        name,
        description: 'Orders replica for AEP',
        auth: {
          specName: CS_AUTH,
          params: {
            connectionString: `Server=db.example.com;Database=orders;Port=5433;UID=etl_user;Password=${PASSWORD}`
          }
        },
        connectionSpec: { id: SPEC_ID, version: '1.0' }
      })
    )
    expect(create?.status).toBe(201)
  })

  it('connection-string input: sent verbatim as the seed connectionString', async () => {
    const cs = `Server=pg.internal;Database=crm;Port=5432;UID=aep_reader;Password=${PASSWORD}`
    const run = await act(
      inputs({ 'connection-name': 'crm', description: 'CRM', 'connection-string': cs })
    )
    expect(run.code).toBe(0)
    const create = flowRequests().find((r) => r.method === 'POST')
    expect(JSON.parse(splitMark(create?.body ?? '{}')[1])).toEqual({
      name: 'crm',
      description: 'CRM',
      auth: { specName: CS_AUTH, params: { connectionString: cs } },
      connectionSpec: { id: SPEC_ID, version: '1.0' }
    })
  })

  it('client-secret: one IMS token request with the default scopes, then Flow calls carry the issued token', async () => {
    const run = await act(
      inputs({
        'access-token': '',
        'client-secret': sim.clientSecret,
        'connection-name': 'ims-path',
        ...parts()
      })
    )
    expect(run.code).toBe(0)
    expect(actionInputs().find((i) => i.name === 'scopes')?.default).toBe(DEFAULT_SCOPES)

    const ims = sim.requests.filter((r) => r.service === 'ims')
    expect(ims).toHaveLength(1)
    expect(ims[0]?.method).toBe('POST')
    expect(ims[0]?.path).toBe('/ims/token/v3')
    expect(ims[0]?.headers['content-type']).toMatch(/^application\/x-www-form-urlencoded/)
    expect([...new URLSearchParams(ims[0]?.body)]).toEqual([
      ['grant_type', 'client_credentials'],
      ['client_id', sim.clientId],
      ['client_secret', sim.clientSecret],
      ['scope', DEFAULT_SCOPES]
    ])
    expect(ims[0]?.status).toBe(200)
    expect(sim.requests[0]?.service).toBe('ims')

    const flow = flowRequests()
    expect(flow.map((r) => r.method)).toEqual(['GET', 'POST', 'GET'])
    const tokens = flowTokens(sim)
    expect(tokens).toHaveLength(1)
    expect(tokens[0]).not.toBe(token)
    expect(tokens[0]).toMatch(/^sim-/)
    for (const r of flow) expect(r.headers.authorization).toBe(`Bearer ${tokens[0]}`)
    expect(flow.map((r) => r.status)).toEqual([200, 201, 200])
  })

  it('outputs: connection-id, etag (quoted), operation created, connection-spec-id; a summary', async () => {
    const run = await act(inputs({ 'connection-name': 'outputs', ...parts() }))
    expect(run.code).toBe(0)
    const [conn] = stored('outputs')
    expect(conn).toBeDefined()
    expect(run.outputs).toEqual({
      'connection-id': conn?.id,
      etag: conn?.etag,
      operation: 'created',
      'connection-spec-id': SPEC_ID
    })
    expect(run.outputs.etag).toMatch(/^".+"$/)
    expect(run.summary.trim()).not.toBe('')
    expect(run.summary).toContain(conn?.id)
  })

  it('re-run updates the same connection: If-Match with the stored etag, JSON Patch of /auth/params', async () => {
    const name = 'rotate-me'
    const first = await act(inputs({ 'connection-name': name, description: 'd1', ...parts() }))
    expect(first.outputs.operation).toBe('created')
    const before = stored(name)[0]
    expect(before).toBeDefined()
    const mutationsBefore = sim.stats().mutations

    const second = await act(
      inputs({ 'connection-name': name, description: 'd1', ...parts(NEW_PASSWORD) })
    )
    expect(second.code).toBe(0)
    expect(second.outputs.operation).toBe('updated')
    expect(second.outputs['connection-id']).toBe(before?.id)
    const after = stored(name)
    expect(after).toHaveLength(1)
    expect(sim.connections('prod')).toHaveLength(1)
    expect(after[0]?.id).toBe(before?.id)
    expect(second.outputs.etag).toBe(after[0]?.etag)
    expect(after[0]?.etag).not.toBe(before?.etag)
    expect(sim.stats().mutations).toBe(mutationsBefore + 1)

    const patches = flowRequests().filter((r) => r.method === 'PATCH')
    expect(patches).toHaveLength(1)
    expect(flowRequests().filter((r) => r.method === 'POST')).toHaveLength(1)
    expect(patches[0]?.path).toBe(`${FLOW}/connections/${before?.id}`)
    expect(patches[0]?.headers['if-match']).toBe(before?.etag)
    expect(patches[0]?.headers['if-match']).toMatch(/^".+"$/)
    expect(patches[0]?.headers['content-type']).toBe('application/json')
    const newCs = connectionString(parts(NEW_PASSWORD))
    // The first update by a later run also says, in the create's mark, that it adopted the copy
    // (a racing run that made it then keeps it).
    const mark = markOf(before?.description)
    if (!mark) throw new Error('the create left no mark')
    expect(JSON.parse(patches[0]?.body ?? 'null')).toEqual([
      { op: 'replace', path: '/auth/params', value: { connectionString: newCs } },
      { op: 'replace', path: '/description', value: withMark('d1', { ...mark, adopted: true }) }
    ])
    expect(after[0]?.auth.params.connectionString).toBe(newCs)
    expect(String(after[0]?.auth.params.connectionString)).toContain(`Password=${NEW_PASSWORD}`)
  })

  it('re-run with a new description also patches /description', async () => {
    const name = 'describe-me'
    await act(inputs({ 'connection-name': name, description: 'old text', ...parts() }))
    const firstMark = markOf(stored(name)[0]?.description)
    if (!firstMark) throw new Error('the create left no mark')
    const second = await act(
      inputs({ 'connection-name': name, description: 'new text', ...parts() })
    )
    expect(second.outputs.operation).toBe('updated')
    const patch = flowRequests().find((r) => r.method === 'PATCH')
    expect(JSON.parse(patch?.body ?? 'null')).toEqual([
      {
        op: 'replace',
        path: '/auth/params',
        value: { connectionString: connectionString(parts()) }
      },
      // The mark the create left is kept, saying a later run adopted the copy.
      {
        op: 'replace',
        path: '/description',
        value: withMark('new text', { ...firstMark, adopted: true })
      }
    ])
    expect(stripMark(stored(name)[0]?.description)).toBe('new text')
  })

  it('if-exists reuse: unchanged, same id and etag, nothing sent that mutates', async () => {
    const existing = sim.seedConnection('prod', { name: 'keep-me', description: 'as is' })
    const run = await act(
      inputs({ 'connection-name': 'keep-me', 'if-exists': 'reuse', ...parts() })
    )
    expect(run.code).toBe(0)
    expect(run.outputs).toMatchObject({
      operation: 'unchanged',
      'connection-id': existing.id,
      etag: existing.etag
    })
    expect(sim.stats().mutations).toBe(0)
    expect(mutatingRequests()).toEqual([])
    expect(stored('keep-me')).toEqual([existing])
  })

  it('if-exists fail: exit 1, ::error says it exists, nothing mutated', async () => {
    const existing = sim.seedConnection('prod', { name: 'taken' })
    const run = await act(inputs({ 'connection-name': 'taken', 'if-exists': 'fail', ...parts() }))
    expect(run.code).toBe(1)
    const errors = errorLines(run)
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatch(/already exists/)
    expect(errors[0]).toContain(existing.id)
    expect(sim.stats().mutations).toBe(0)
    expect(mutatingRequests()).toEqual([])
    expect(stored('taken')).toEqual([existing])
  })

  describe('auth-type and credential sources', () => {
    it('basic: params server, port as a string, database, username, password, sslMode', async () => {
      const run = await act(
        inputs({
          'connection-name': 'basic',
          'auth-type': 'basic',
          'ssl-mode': 'require',
          ...parts()
        })
      )
      expect(run.code).toBe(0)
      const expected = {
        specName: 'Basic Authentication',
        params: {
          server: 'db.example.com',
          port: '5433',
          database: 'orders',
          username: 'etl_user',
          password: PASSWORD,
          sslMode: 'Require'
        }
      }
      expect(stored('basic')[0]?.auth).toEqual(expected)
      const body = JSON.parse(flowRequests().find((r) => r.method === 'POST')?.body ?? '{}')
      expect(body.auth).toEqual(expected)
      expect(typeof body.auth.params.port).toBe('string')
    })

    it('basic without ssl-mode: no sslMode param', async () => {
      const run = await act(
        inputs({ 'connection-name': 'basic2', 'auth-type': 'basic', ...parts() })
      )
      expect(run.code).toBe(0)
      expect(stored('basic2')[0]?.auth.params).toEqual({
        server: 'db.example.com',
        port: '5433',
        database: 'orders',
        username: 'etl_user',
        password: PASSWORD
      })
    })

    it('postgres-url with sslmode=require: EncryptionMethod=1;ValidateServerCertificate=0', async () => {
      const url = 'postgresql://etl:p%40ss-Url-77@pg.example.net:6543/analytics?sslmode=require'
      const run = await act(inputs({ 'connection-name': 'from-url', 'postgres-url': url }), {
        secrets: ['p@ss-Url-77']
      })
      expect(run.code).toBe(0)
      const cs = String(stored('from-url')[0]?.auth.params.connectionString)
      expect(cs).toBe(
        'Server=pg.example.net;Database=analytics;Port=6543;UID=etl;Password=p@ss-Url-77;EncryptionMethod=1;ValidateServerCertificate=0'
      )
      expect(cs.endsWith(';EncryptionMethod=1;ValidateServerCertificate=0')).toBe(true)
    })

    it('encryption-method request-ssl + validate-server-certificate true append EncryptionMethod=6;ValidateServerCertificate=1', async () => {
      const run = await act(
        inputs({
          'connection-name': 'tls',
          'encryption-method': 'request-ssl',
          'validate-server-certificate': 'true',
          ...parts()
        })
      )
      expect(run.code).toBe(0)
      expect(stored('tls')[0]?.auth.params.connectionString).toBe(
        `${connectionString(parts())};EncryptionMethod=6;ValidateServerCertificate=1`
      )
    })

    it('a password with ; } and = is brace-quoted with } doubled', async () => {
      const tricky = 'Tr1cky;pa}ss=word'
      const run = await act(inputs({ 'connection-name': 'tricky', ...parts(tricky) }))
      expect(run.code).toBe(0)
      expect(stored('tricky')[0]?.auth.params.connectionString).toBe(
        'Server=db.example.com;Database=orders;Port=5433;UID=etl_user;Password={Tr1cky;pa}}ss=word}'
      )
    })
  })

  it('two connections with the same name: exit 1, the error lists both ids, no mutation', async () => {
    const a = sim.seedConnection('prod', { name: 'dup' })
    const b = sim.seedConnection('prod', { name: 'dup' })
    const run = await act(inputs({ 'connection-name': 'dup', ...parts() }))
    expect(run.code).toBe(1)
    const errors = errorLines(run)
    expect(errors).toHaveLength(1)
    expect(errors[0]).toContain(a.id)
    expect(errors[0]).toContain(b.id)
    expect(sim.stats().mutations).toBe(0)
    expect(mutatingRequests()).toEqual([])
    expect(stored('dup')).toEqual([a, b])
  })

  it('a same-named connection of another connection spec is not matched: a PostgreSQL one is created', async () => {
    const mysql = sim.seedConnection('prod', {
      name: 'shared-name',
      connectionSpec: { id: MYSQL_SPEC_ID, version: '1.0' }
    })
    const run = await act(inputs({ 'connection-name': 'shared-name', ...parts() }))
    expect(run.code).toBe(0)
    expect(run.outputs.operation).toBe('created')
    const all = stored('shared-name')
    expect(all).toHaveLength(2)
    expect(all[0]).toEqual(mysql)
    expect(all[1]?.connectionSpec.id).toBe(SPEC_ID)
    expect(run.outputs['connection-id']).toBe(all[1]?.id)
    expect(run.outputs['connection-id']).not.toBe(mysql.id)
    expect(flowRequests().filter((r) => r.method === 'PATCH')).toEqual([])
  })

  it('paging: follows _links.next.href across pages and updates the existing connection', async () => {
    sim.configure({ pageSize: 1 })
    sim.seedConnection('prod', { name: 'unrelated-1' })
    sim.seedConnection('prod', { name: 'unrelated-2' })
    // Same name, other specs: each fills a page the filter returns, ahead of the real one.
    for (let i = 0; i < 3; i++)
      sim.seedConnection('prod', {
        name: 'paged',
        connectionSpec: { id: MYSQL_SPEC_ID, version: '1.0' }
      })
    const existing = sim.seedConnection('prod', { name: 'paged' })

    const run = await act(inputs({ 'connection-name': 'paged', ...parts() }))
    expect(run.code).toBe(0)
    expect(run.outputs.operation).toBe('updated')
    expect(run.outputs['connection-id']).toBe(existing.id)
    const pg = stored('paged').filter((c) => c.connectionSpec.id === SPEC_ID)
    expect(pg).toHaveLength(1)
    expect(pg[0]?.id).toBe(existing.id)
    expect(sim.connections('prod')).toHaveLength(6)
    expect(flowRequests().filter((r) => r.method === 'POST')).toEqual([])

    const lists = flowRequests().filter(
      (r) => r.method === 'GET' && r.path === `${FLOW}/connections`
    )
    expect(lists).toHaveLength(4)
    expect(lists[0]?.url).toBe(`${FLOW}/connections?property=name==paged`)
    for (const r of lists.slice(1)) {
      expect(r.url).toMatch(new RegExp(`^${FLOW}/connections\\?continuationToken=`))
      expect(r.headers.authorization).toBe(`Bearer ${token}`)
      expect(r.status).toBe(200)
    }
  })

  it('a name with a comma ("orders, eu") is found again on re-run: no duplicate', async () => {
    const name = 'orders, eu'
    const first = await act(inputs({ 'connection-name': name, ...parts() }))
    expect(first.code).toBe(0)
    expect(first.outputs.operation).toBe('created')
    const second = await act(inputs({ 'connection-name': name, ...parts(NEW_PASSWORD) }))
    expect(second.code).toBe(0)
    expect(second.outputs.operation).toBe('updated')
    expect(second.outputs['connection-id']).toBe(first.outputs['connection-id'])
    expect(stored(name)).toHaveLength(1)
    expect(stored(name)[0]?.auth.params.connectionString).toBe(
      connectionString(parts(NEW_PASSWORD))
    )
  })

  it('no leak with every secret in play: client secret, IMS token, password, connection string', async () => {
    const run = await act(
      inputs({
        'access-token': '',
        'client-secret': sim.clientSecret,
        'connection-name': 'all-secrets',
        ...parts(),
        'test-connection': 'true'
      }),
      { env: { RUNNER_DEBUG: '1' } }
    )
    expect(run.code).toBe(0)
    // The checks in act() ran; make sure they had something to look for.
    const issued = flowTokens(sim)
    expect(issued).toHaveLength(1)
    expect(run.lines).toContain(`::add-mask::${issued[0]}`)
    expect(run.lines).toContain(`::add-mask::${PASSWORD}`)
    expect(run.lines).toContain(`::add-mask::${sim.clientSecret}`)
    expect(run.lines).toContain(`::add-mask::${connectionString(parts())}`)
    expect(run.lines.some((l) => l.startsWith('::debug::'))).toBe(true)
  })

  it('masks come first: every ::add-mask:: line precedes the first non-debug log line', async () => {
    const run = await act(
      inputs({
        'access-token': '',
        'client-secret': sim.clientSecret,
        'connection-name': 'order',
        ...parts()
      })
    )
    expect(run.code).toBe(0)
    const firstSaid = run.lines.findIndex(
      (l) => !l.startsWith('::add-mask::') && !l.startsWith('::debug::')
    )
    const lastMask = run.lines.map((l) => l.startsWith('::add-mask::')).lastIndexOf(true)
    expect(firstSaid).toBeGreaterThan(0)
    expect(lastMask).toBeGreaterThanOrEqual(0)
    expect(lastMask).toBeLessThan(firstSaid)
  })

  it('the leak and mask-order checks catch what they are meant to catch', () => {
    const secret = 'hunter2-Secret!'
    const clean: ActionRun = {
      code: 0,
      signal: null,
      stdout: `::add-mask::${secret}\nhello\n`,
      stderr: '',
      lines: [`::add-mask::${secret}`, 'hello'],
      outputs: { 'connection-id': 'abc' },
      summary: '<p>ok</p>',
      durationMs: 1
    }
    const quoted = `quo"te\\${secret}`
    expect(() => expectNoLeaks(clean, [secret, quoted])).not.toThrow()
    expect(() => expectMasksFirst(clean)).not.toThrow()
    const variants: Array<Partial<ActionRun>> = [
      { stdout: `x ${secret}` },
      { stderr: `x ${JSON.stringify(`quo"te\\${secret}`)}` },
      { stdout: encodeURIComponent(secret) },
      { summary: Buffer.from(secret).toString('base64') },
      { outputs: { etag: secret } }
    ]
    for (const v of variants)
      expect(() => expectNoLeaks({ ...clean, ...v }, [quoted, secret])).toThrow(/secret leak/)
    expect(() => expectMasksFirst({ ...clean, lines: ['hello', `::add-mask::${secret}`] })).toThrow(
      /add-mask/
    )
  })
})
