import { describe, it, expect, beforeAll, beforeEach, afterAll } from '@jest/globals'
import http from 'node:http'
import {
  startSimulator,
  maskConnectionString,
  parseValueList,
  postgresConnectionSpec,
  unicodeJson,
  POSTGRES_SPEC_ID,
  STRICT_CONNECTION_STRING_PATTERN,
  type Simulator
} from '../simulator/server.js'

const CS_AUTH = 'Connection String Based Authentication'
const SECRET = 'Pa;ss}word{1'
const CS = `Server=db.example.com;Database=analytics;Port=5432;UID=aep;Password={Pa;ss}}word{1}`

let sim: Simulator
let tok: string

beforeAll(async () => {
  sim = await startSimulator()
})
afterAll(async () => {
  await sim.close()
})
beforeEach(() => {
  sim.reset()
  tok = sim.issueToken()
})

interface Res {
  status: number
  headers: Headers
  text: string
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- test convenience for bodies
  json: any
}

async function call(
  method: string,
  path: string,
  opts: { body?: unknown; raw?: string; headers?: Record<string, string | undefined> } = {}
): Promise<Res> {
  const base: Record<string, string | undefined> = {
    authorization: `Bearer ${tok}`,
    'x-api-key': sim.clientId,
    'x-gw-ims-org-id': sim.orgId,
    'x-sandbox-name': 'dev',
    'content-type': 'application/json',
    ...opts.headers
  }
  const headers = Object.fromEntries(
    Object.entries(base).filter((e): e is [string, string] => e[1] !== undefined)
  )
  const body = opts.raw ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body))
  const url = path.startsWith('http') ? path : sim.flowBase + path
  const r = await fetch(url, { method, headers, body })
  const text = await r.text()
  let json: unknown
  try {
    json = text ? JSON.parse(text) : undefined
  } catch {
    json = undefined
  }
  return { status: r.status, headers: r.headers, text, json }
}

function createBody(
  name: string,
  auth: unknown = { specName: CS_AUTH, params: { connectionString: CS } }
) {
  return { name, auth, connectionSpec: { id: POSTGRES_SPEC_ID, version: '1.0' } }
}

async function create(name: string, extra: Record<string, unknown> = {}): Promise<Res> {
  return call('POST', '/connections', { body: { ...createBody(name), ...extra } })
}

function imsToken(params: Record<string, string>, query = ''): Promise<Res> {
  return call('POST', `${sim.url}/ims/token/v3${query}`, {
    raw: new URLSearchParams(params).toString(),
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: undefined,
      'x-api-key': undefined,
      'x-gw-ims-org-id': undefined,
      'x-sandbox-name': undefined
    }
  })
}

const goodIms = () => ({
  grant_type: 'client_credentials',
  client_id: sim.clientId,
  client_secret: sim.clientSecret,
  scope: 'openid,AdobeID'
})

describe('IMS token endpoint', () => {
  it('issues an opaque bearer token usable on Flow Service', async () => {
    const r = await imsToken(goodIms())
    expect(r.status).toBe(200)
    expect(r.json.token_type).toBe('bearer')
    expect(r.json.expires_in).toBe(86399)
    expect(r.json.access_token.length).toBeGreaterThanOrEqual(40)
    tok = r.json.access_token
    expect((await call('GET', '/connections')).status).toBe(200)
    expect(sim.requests[0]?.service).toBe('ims')
  })

  it('accepts query parameters as a fallback', async () => {
    const q = '?' + new URLSearchParams(goodIms()).toString()
    expect((await imsToken({}, q)).status).toBe(200)
  })

  it('rejects bad grants, clients, secrets and scopes', async () => {
    const bad = await imsToken({ ...goodIms(), grant_type: 'password' })
    expect(bad.status).toBe(400)
    expect(bad.json.error).toBe('unsupported_grant_type')
    const client = await imsToken({ ...goodIms(), client_id: 'nope' })
    expect(client.status).toBe(400)
    expect(client.json).toEqual({
      error: 'invalid_client',
      error_description: 'invalid client_id parameter'
    })
    const secret = await imsToken({ ...goodIms(), client_secret: 'nope' })
    expect(secret.status).toBe(401)
    expect(secret.json).toEqual({
      error: 'invalid_client',
      error_description: 'invalid client secret'
    })
    const scope = await imsToken({ ...goodIms(), scope: '' })
    expect(scope.status).toBe(400)
    expect(scope.json.error).toBe('invalid_scope')
    expect((await call('POST', `${sim.url}/ims/token/v2`)).status).toBe(404)
  })

  it('honours tokenTtlSeconds and tokenUses', async () => {
    const other = await startSimulator({ tokenTtlSeconds: 60, tokenUses: 1 })
    try {
      const r = await fetch(`${other.url}/ims/token/v3`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: other.clientId,
          client_secret: other.clientSecret,
          scope: 'openid'
        })
      })
      const body = (await r.json()) as { access_token: string; expires_in: number }
      expect(body.expires_in).toBe(60)
      const h = {
        authorization: `Bearer ${body.access_token}`,
        'x-api-key': other.clientId,
        'x-gw-ims-org-id': other.orgId,
        'x-sandbox-name': 'prod'
      }
      expect((await fetch(`${other.flowBase}/connections`, { headers: h })).status).toBe(200)
      expect((await fetch(`${other.flowBase}/connections`, { headers: h })).status).toBe(401)
    } finally {
      await other.close()
    }
  })
})

describe('gateway and common checks', () => {
  it('checks headers in order with gateway-shaped errors', async () => {
    const cases: Array<[Record<string, string | undefined>, number, string, string]> = [
      [
        { authorization: undefined, 'x-api-key': undefined },
        403,
        '403010',
        'Oauth token is missing.'
      ],
      [
        { authorization: 'Bearer nope', 'x-api-key': undefined },
        401,
        '401013',
        'Oauth token is not valid'
      ],
      [
        { 'x-api-key': undefined, 'x-gw-ims-org-id': undefined },
        403,
        '403000',
        'Api Key is required'
      ],
      [{ 'x-api-key': 'other' }, 403, '403003', 'Api Key is invalid'],
      [
        { 'x-gw-ims-org-id': undefined, 'x-sandbox-name': undefined },
        400,
        '400003',
        'Missing header'
      ],
      [{ 'x-gw-ims-org-id': 'OTHER@AdobeOrg' }, 403, '403025', 'Profile is not valid']
    ]
    for (const [headers, status, code, message] of cases) {
      const r = await call('GET', '/connections', { headers })
      expect([status, r.json]).toEqual([status, { error_code: code, message }])
      expect(r.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/)
    }
  })

  it('rejects missing and unknown sandboxes with Flow errors carrying the request id', async () => {
    const missing = await call('GET', '/connections', { headers: { 'x-sandbox-name': undefined } })
    expect(missing.status).toBe(400)
    expect(missing.json.type).toBe('https://ns.adobe.com/aep/errors/FLOW-2105-400')
    expect(missing.json.report['request-id']).toBe(missing.headers.get('x-request-id'))
    const unknown = await call('GET', '/connections', { headers: { 'x-sandbox-name': 'qa' } })
    expect(unknown.status).toBe(404)
    expect(unknown.json.type).toMatch(/FLOW-2100-404$/)
  })

  it('requires a JSON content-type on POST and PATCH', async () => {
    const r = await call('POST', '/connections', {
      body: createBody('x'),
      headers: { 'content-type': 'text/plain' }
    })
    expect(r.status).toBe(400)
    expect(r.json).toEqual({
      type: '/placeholder/type/uri',
      status: 400,
      title: 'BadRequestError',
      detail: 'A valid content-type must be specified'
    })
    expect(sim.connections()).toHaveLength(0)
  })

  it('404s unknown paths', async () => {
    const r = await call('GET', '/nowhere')
    expect(r.status).toBe(404)
    expect(r.json.type).toMatch(/FLOW-1101-404$/)
    const other = await call('GET', `${sim.url}/somewhere`)
    expect(other.status).toBe(404)
    expect(sim.requests.at(-1)?.service).toBe('other')
  })

  it('counts token uses, expires tokens, and survives reset', async () => {
    tok = sim.issueToken({ uses: 2 })
    expect((await call('GET', '/connections')).status).toBe(200)
    // Rejected later in the pipeline still counts: the token check passed.
    expect((await call('GET', '/connections', { headers: { 'x-api-key': 'x' } })).status).toBe(403)
    expect((await call('GET', '/connections')).status).toBe(401)
    tok = sim.issueToken()
    sim.expireTokens()
    expect((await call('GET', '/connections')).json.error_code).toBe('401013')
    tok = sim.issueToken()
    sim.reset()
    expect((await call('GET', '/connections')).status).toBe(401)
    expect((await imsToken(goodIms())).status).toBe(200)
  })
})

describe('POST /connections', () => {
  it('creates with 201, Location and a quoted etag; stores auth unmasked', async () => {
    const r = await create('pg', { description: 'd' })
    expect(r.status).toBe(201)
    expect(Object.keys(r.json).sort()).toEqual(['etag', 'id'])
    expect(r.json.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
    expect(r.json.etag).toMatch(/^"[0-9a-f]{8}-0000-0200-0000-[0-9a-f]{12}"$/)
    expect(r.headers.get('location')).toBe(`${sim.flowBase}/connections/${r.json.id}`)
    const [stored] = sim.connections('dev')
    expect(stored).toMatchObject({
      id: r.json.id,
      name: 'pg',
      description: 'd',
      sandboxName: 'dev',
      imsOrgId: sim.orgId,
      etag: r.json.etag,
      state: 'enabled',
      inUse: false,
      auth: { specName: CS_AUTH, params: { connectionString: CS } },
      connectionSpec: { id: POSTGRES_SPEC_ID, version: '1.0' }
    })
    expect(sim.stats().mutations).toBe(1)
  })

  it('allows duplicate names (no uniqueness check)', async () => {
    await create('dup')
    await create('dup')
    expect(sim.connections('dev').map((c) => c.name)).toEqual(['dup', 'dup'])
  })

  it('validates the body', async () => {
    const empty = await call('POST', '/connections', { raw: '' })
    expect(empty.json.type).toMatch(/FLOW-1405-400$/)
    const bad = await call('POST', '/connections', { raw: '{"name":' })
    expect(bad.status).toBe(400)
    const spec = await call('POST', '/connections', {
      body: { ...createBody('x'), connectionSpec: { id: 'other', version: '1.0' } }
    })
    expect(spec.json.type).toMatch(/FLOW-1413-400$/)
    const auth = await call('POST', '/connections', {
      body: createBody('x', { specName: 'Account Key', params: {} })
    })
    expect(auth.json.type).toMatch(/FLOW-1415-400$/)
    const noCs = await call('POST', '/connections', {
      body: createBody('x', { specName: CS_AUTH, params: { connectionString: 42 } })
    })
    expect(noCs.status).toBe(400)
    const basicNoPw = await call('POST', '/connections', {
      body: createBody('x', {
        specName: 'Basic Authentication',
        params: { server: 's', database: 'd', username: 'u' }
      })
    })
    expect(basicNoPw.status).toBe(400)
    const basic = await call('POST', '/connections', {
      body: createBody('x', {
        specName: 'Basic Authentication',
        params: { server: 's', database: 'd', username: 'u', password: 'p' }
      })
    })
    expect(basic.status).toBe(201)
    expect(sim.connections()).toHaveLength(1)
    expect(sim.stats().mutations).toBe(1)
  })
})

describe('GET /connections', () => {
  it('filters by exact, case-sensitive name, quoted values, OR lists and AND of properties', async () => {
    const a = (await create('alpha')).json.id
    await create('Alpha')
    const b = (await create('beta', { description: 'two words' })).json.id
    const ids = async (q: string) =>
      ((await call('GET', `/connections?${q}`)).json.items as Array<{ id: string }>).map(
        (i) => i.id
      )
    expect(await ids('property=name==alpha')).toEqual([a])
    expect(await ids('property=' + encodeURIComponent('name=="alpha"'))).toEqual([a])
    expect(await ids('property=name==alpha,beta')).toEqual([a, b])
    expect(await ids('property=name==alp')).toEqual([])
    expect(await ids(`property=name==beta&property=id==${a}`)).toEqual([])
    expect(
      await ids(`property=name==beta&property=connectionSpec.id==${POSTGRES_SPEC_ID}`)
    ).toEqual([b])
    expect(await ids('property=description==two%20words')).toEqual([b])
    expect(await ids('property=state==enabled')).toHaveLength(3)
  })

  it('rejects unsupported operators, fields and limit+count', async () => {
    const op = await call('GET', '/connections?property=' + encodeURIComponent('name~alpha'))
    expect(op.json.type).toMatch(/FLOW-1450-400$/)
    const field = await call('GET', '/connections?property=owner==x')
    expect(field.json.type).toMatch(/FLOW-1449-400$/)
    const both = await call('GET', '/connections?limit=2&count=true')
    expect(both.json.type).toMatch(/FLOW-1401-400$/)
  })

  it('counts', async () => {
    await create('a')
    await create('b')
    expect((await call('GET', '/connections?count=true&property=name==a')).json).toEqual({
      count: 1
    })
  })

  it('pages with a continuation token that carries the filters', async () => {
    sim.configure({ pageSize: 2 })
    try {
      for (const n of ['p', 'q', 'p', 'p', 'q', 'p']) await create(n)
      const seen: string[] = []
      let r = await call('GET', '/connections?property=name==p')
      let pages = 1
      seen.push(...r.json.items.map((i: { name: string }) => i.name))
      while (r.json._links?.next?.href) {
        const href: string = r.json._links.next.href
        expect(href).toMatch(/^\/connections\?continuationToken=[^&]+$/)
        r = await call('GET', href)
        seen.push(...r.json.items.map((i: { name: string }) => i.name))
        pages++
      }
      expect(seen).toEqual(['p', 'p', 'p', 'p'])
      expect(pages).toBe(2)
      const limited = await call('GET', '/connections?limit=5')
      expect(limited.json.items).toHaveLength(5)
      expect(limited.json._links.next.href).toBeDefined()
    } finally {
      sim.configure({ pageSize: 20 })
    }
  })

  it('masks secrets and mirrors etag into version', async () => {
    await create('cs')
    await call('POST', '/connections', {
      body: createBody('basic', {
        specName: 'Basic Authentication',
        params: { server: 's', port: '5432', database: 'd', username: 'u', password: SECRET }
      })
    })
    const r = await call('GET', '/connections')
    expect(r.text).not.toContain('Pa;ss')
    expect(r.text).not.toContain('word{1')
    const [cs, basic] = r.json.items
    expect(cs.auth.params.connectionString).toBe(
      'Server=db.example.com;Database=analytics;Port=5432;UID=aep;Password=***'
    )
    expect(basic.auth.params).toEqual({
      server: 's',
      port: '5432',
      database: 'd',
      username: 'u',
      password: '***'
    })
    expect(cs.version).toBe(cs.etag)
    expect(cs.etag).toMatch(/^".+"$/)
    expect(cs.sandboxName).toBe('dev')
  })

  it('masks plain and brace-quoted passwords in the middle of a string', () => {
    expect(maskConnectionString('Server=h;Password=abc;UID=u')).toBe('Server=h;Password=***;UID=u')
    expect(maskConnectionString('Password={a;b}}c};UID=u')).toBe('Password=***;UID=u')
    expect(maskConnectionString('pwd=x')).toBe('pwd=***')
  })
})

describe('GET, PATCH, DELETE /connections/{id}', () => {
  it('gets one in the list envelope and isolates sandboxes', async () => {
    const id = (await create('one')).json.id
    const r = await call('GET', `/connections/${id}`)
    expect(r.json.items).toHaveLength(1)
    expect(r.json.items[0].id).toBe(id)
    const elsewhere = await call('GET', `/connections/${id}`, {
      headers: { 'x-sandbox-name': 'prod' }
    })
    expect(elsewhere.status).toBe(404)
    expect(elsewhere.json.type).toMatch(/FLOW-1101-404$/)
    expect(elsewhere.json.report).toMatchObject({ id, type: 'connections' })
  })

  it('requires a matching If-Match, quoted or not', async () => {
    const { id, etag } = (await create('p')).json
    const none = await call('PATCH', `/connections/${id}`, { body: [] })
    expect(none.json.type).toMatch(/FLOW-1403-400$/)
    const stale = await call('PATCH', `/connections/${id}`, {
      body: [{ op: 'replace', path: '/name', value: 'n' }],
      headers: { 'if-match': '"0000"' }
    })
    expect(stale.status).toBe(412)
    expect(stale.json.type).toMatch(/FLOW-1404-412$/)
    expect(stale.json.errorMessage).toBe(
      `Supplied version=["0000"] does not match the current version on entity=[${etag}]`
    )
    const ok = await call('PATCH', `/connections/${id}`, {
      body: [{ op: 'REPLACE', path: '/name', value: 'renamed' }],
      headers: { 'if-match': etag.slice(1, -1) }
    })
    expect(ok.status).toBe(200)
    expect(ok.json.id).toBe(id)
    expect(ok.json.etag).not.toBe(etag)
    expect(ok.json.etag).toMatch(/^".+"$/)
    expect(sim.connections('dev')[0]?.name).toBe('renamed')
  })

  it('applies add/replace/remove on description and auth params', async () => {
    const { id, etag } = (await create('p')).json
    const before = sim.connections('dev')[0]
    await new Promise((r) => setTimeout(r, 2))
    const r = await call('PATCH', `/connections/${id}`, {
      headers: { 'if-match': etag },
      body: [
        { op: 'add', path: '/description', value: 'managed' },
        { op: 'replace', path: '/auth/params', value: { connectionString: 'Server=x;Password=y' } },
        { op: 'add', path: '/auth/params/extra', value: 'e' },
        { op: 'remove', path: '/auth/params/extra' }
      ]
    })
    expect(r.status).toBe(200)
    const after = sim.connections('dev')[0]
    expect(after?.description).toBe('managed')
    expect(after?.auth.params).toEqual({ connectionString: 'Server=x;Password=y' })
    expect(after?.etag).toBe(r.json.etag)
    expect(after?.updatedAt).toBeGreaterThan(before?.updatedAt ?? Infinity)
    expect(sim.stats().mutations).toBe(2)
  })

  it('rejects unsupported patches without changing anything', async () => {
    const { id, etag } = (await create('p')).json
    const patch = (body: unknown) =>
      call('PATCH', `/connections/${id}`, { body, headers: { 'if-match': etag } })
    expect((await patch([{ op: 'move', from: '/name', path: '/description' }])).json.type).toMatch(
      /FLOW-1434-400$/
    )
    expect(
      (await patch([{ op: 'replace', path: '/connectionSpec', value: { id: 'x' } }])).json.type
    ).toMatch(/FLOW-1414-400$/)
    expect((await patch([{ op: 'remove', path: '/description' }])).json.type).toMatch(
      /FLOW-1455-400$/
    )
    expect(
      (
        await patch([
          { op: 'replace', path: '/name', value: 'changed' },
          { op: 'remove', path: '/auth/params/nope' }
        ])
      ).json.type
    ).toMatch(/FLOW-1455-400$/)
    expect((await patch({ op: 'replace' })).status).toBe(400)
    expect(sim.connections('dev')[0]).toMatchObject({ name: 'p', etag })
    expect(sim.stats().mutations).toBe(1)
  })

  it('deletes with 204, refuses when in use, 404s when unknown', async () => {
    const id = (await create('d')).json.id
    sim.setInUse(id, true)
    const used = await call('DELETE', `/connections/${id}`)
    expect(used.status).toBe(400)
    expect(used.json.type).toMatch(/FLOW-1418-400$/)
    expect(used.json.errorMessage).toMatch(/ensure that corresponding flows are deleted/)
    sim.setInUse(id, false)
    const del = await call('DELETE', `/connections/${id}`)
    expect(del.status).toBe(204)
    expect(del.text).toBe('')
    expect((await call('GET', `/connections/${id}`)).status).toBe(404)
    expect((await call('DELETE', `/connections/${id}`)).json.type).toMatch(/FLOW-1101-404$/)
    expect(sim.stats().mutations).toBe(2)
  })

  it('explores root tables and tests connectivity', async () => {
    const seeded = sim.seedConnection('dev', {
      name: 's',
      tables: ['public.customers', 'sales.orders']
    })
    expect(seeded.connectionSpec).toEqual({ id: POSTGRES_SPEC_ID, version: '1.0' })
    const r = await call('GET', `/connections/${seeded.id}/explore?objectType=ROOT`)
    expect(r.json).toEqual([
      {
        type: 'table',
        name: 'customers',
        path: 'public.customers',
        canPreview: true,
        canFetchSchema: true
      },
      {
        type: 'table',
        name: 'orders',
        path: 'sales.orders',
        canPreview: true,
        canFetchSchema: true
      }
    ])
    expect((await call('GET', `/connections/${seeded.id}/test`)).json).toEqual({ result: true })
    expect((await call('GET', '/connections/nope/explore?objectType=root')).status).toBe(404)
    expect(sim.stats().mutations).toBe(0)
  })
})

describe('connection spec and /test', () => {
  const BASIC = 'Basic Authentication'
  const basicParams = (extra: Record<string, unknown> = {}) => ({
    server: 's',
    port: '5432',
    database: 'd',
    username: 'u',
    password: SECRET,
    ...extra
  })
  const createBasic = (params: Record<string, unknown>) =>
    call('POST', '/connections', { body: createBody('b', { specName: BASIC, params }) })

  it('serves the PostgreSQL spec: both auth types, each a draft-07 schema, secrets format password', async () => {
    const r = await call('GET', `/connectionSpecs/${POSTGRES_SPEC_ID}`)
    expect(r.status).toBe(200)
    const [spec] = r.json.items
    expect(spec.id).toBe(POSTGRES_SPEC_ID)
    expect(spec.authSpec.map((a: { name: string }) => a.name)).toEqual([CS_AUTH, BASIC])
    const [cs, basic] = spec.authSpec
    expect(cs.spec.$schema).toBe('http://json-schema.org/draft-07/schema#')
    expect(cs.spec.properties.connectionString).toMatchObject({
      type: 'string',
      format: 'password'
    })
    expect(cs.spec.properties.connectionString.pattern).toBeUndefined()
    expect(basic.spec.properties.port.type).toBe('string')
    expect(basic.spec.properties.password.format).toBe('password')
    expect(basic.spec.properties.sslMode.enum).toEqual([
      'Disable',
      'Allow',
      'Prefer',
      'Require',
      'Verify-Ca',
      'Verify-Full'
    ])
    expect(basic.spec.required).toEqual(['server', 'database', 'username', 'password'])
    expect((await call('GET', '/connectionSpecs/nope')).json.type).toMatch(/FLOW-1101-404$/)
    expect(
      (
        await call('GET', `/connectionSpecs/${POSTGRES_SPEC_ID}`, {
          headers: { authorization: undefined }
        })
      ).status
    ).toBe(403)
  })

  it('variants: port integer, sslMode with spaces, Require missing, a connection-string pattern, no schema', () => {
    const v = postgresConnectionSpec({
      portInteger: true,
      sslModeSpaces: true,
      withoutRequire: true
    })
    const basic = v.authSpec[1]?.spec as { properties: Record<string, Record<string, unknown>> }
    expect(basic.properties.port?.type).toBe('integer')
    expect(basic.properties.sslMode?.enum).toEqual([
      'Disable',
      'Allow',
      'Prefer',
      'Verify Ca',
      'Verify Full'
    ])
    const p = postgresConnectionSpec({ connectionStringPattern: true })
    const cs = p.authSpec[0]?.spec as { properties: Record<string, Record<string, unknown>> }
    expect(cs.properties.connectionString?.pattern).toBe(STRICT_CONNECTION_STRING_PATTERN)
    expect(postgresConnectionSpec({ withoutSchemaFor: [BASIC] }).authSpec[1]?.spec).toBeUndefined()
  })

  it('validates create params against the served spec: 400 naming the param, never its value', async () => {
    expect((await createBasic(basicParams({ sslMode: 'Verify-Ca' }))).status).toBe(201)
    sim.configure({ spec: { portInteger: true, sslModeSpaces: true } })
    const bad = await createBasic(basicParams({ sslMode: 'Verify-Ca' }))
    expect(bad.status).toBe(400)
    expect(bad.json.type).toMatch(/FLOW-1400-400$/)
    expect(bad.json.errorMessage).toContain('$.port: string found, integer expected')
    expect(bad.json.errorMessage).toContain(
      '$.sslMode: does not have a value in the enumeration [Disable, Allow, Prefer, Require, Verify Ca, Verify Full]'
    )
    expect(bad.text).not.toContain(SECRET)
    expect((await createBasic(basicParams({ port: 5432, sslMode: 'Verify Ca' }))).status).toBe(201)
    const noPw = await createBasic({ server: 's', port: 5432, database: 'd', username: 'u' })
    expect(noPw.json.errorMessage).toContain('$.password: is missing but it is required')

    sim.configure({ spec: { connectionStringPattern: true } })
    const braced = await create('braced')
    expect(braced.status).toBe(400)
    expect(braced.json.errorMessage).toContain(
      '$.connectionString: does not match the regex pattern'
    )
    expect(braced.text).not.toContain(SECRET)
    const plain = await call('POST', '/connections', {
      body: createBody('plain', {
        specName: CS_AUTH,
        params: {
          connectionString: 'Server=h;Database=d;Port=5432;UID=u;Password=p;EncryptionMethod=1'
        }
      })
    })
    expect(plain.status).toBe(201)
    expect(sim.connections('dev').map((c) => c.name)).toEqual(['b', 'b', 'plain'])
  })

  it('validates the params a PATCH leaves, and changes nothing when they fail', async () => {
    const created = await createBasic(basicParams())
    const id = created.json.id as string
    sim.configure({ spec: { withoutRequire: true } })
    const patch = (value: unknown, etag: string) =>
      call('PATCH', `/connections/${id}`, {
        body: [{ op: 'replace', path: '/auth/params', value }],
        headers: { 'if-match': etag }
      })
    const bad = await patch(basicParams({ sslMode: 'Require' }), created.json.etag)
    expect(bad.status).toBe(400)
    expect(bad.json.errorMessage).toContain('$.sslMode: does not have a value in the enumeration')
    expect(sim.connections('dev')[0]?.auth.params.sslMode).toBeUndefined()
    expect((await patch(basicParams({ sslMode: 'Verify-Full' }), created.json.etag)).status).toBe(
      200
    )
  })

  it('reset returns to the documented spec; /test answers pass, fail or unsupported', async () => {
    const seeded = sim.seedConnection('dev', { name: 't' })
    const test = () => call('GET', `/connections/${seeded.id}/test`)
    expect((await test()).json).toEqual({ result: true })
    sim.configure({ connectionTest: 'fail' })
    expect((await test()).json).toEqual({ result: false })
    sim.configure({ connectionTest: 'unsupported', spec: { portInteger: true } })
    const refused = await test()
    expect(refused.status).toBe(400)
    expect(refused.json.errorMessage).toMatch(/not supported/)
    expect(sim.connectionSpec().authSpec[1]?.spec?.properties).toMatchObject({
      port: { type: 'integer' }
    })
    sim.reset()
    tok = sim.issueToken()
    expect(sim.connectionSpec()).toEqual(postgresConnectionSpec())
    const again = sim.seedConnection('dev', { name: 't2' })
    expect((await call('GET', `/connections/${again.id}/test`)).json).toEqual({ result: true })
  })
})

it('idOrder descending: each new connection id sorts before the ones made before it', async () => {
  const other = await startSimulator({ idOrder: 'descending' })
  try {
    const ids = ['a', 'b', 'c'].map((name) => other.seedConnection('dev', { name }).id)
    expect([...ids].sort()).toEqual([...ids].reverse())
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f-]{27}$/)
  } finally {
    await other.close()
  }
})

describe('recording, stats, latency', () => {
  it('records every request with headers, body, status and socket', async () => {
    await call('POST', '/connections?x=1', { raw: '{"a":1', headers: { 'X-Custom': 'Yes' } })
    await call('GET', '/connections', { headers: { authorization: undefined } })
    const [post, get] = sim.requests
    expect(post).toMatchObject({
      seq: 1,
      service: 'flow',
      method: 'POST',
      url: '/data/foundation/flowservice/connections?x=1',
      path: '/data/foundation/flowservice/connections',
      body: '{"a":1',
      status: 400
    })
    expect(post?.headers['x-custom']).toBe('Yes')
    expect(get).toMatchObject({ seq: 2, status: 403 })
    expect(get?.socket).toBeGreaterThan(0)
    expect(sim.stats().requests).toBe(2)
  })

  it('counts TCP connections and keeps them alive', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
    const get = () =>
      new Promise<number>((resolve, reject) => {
        const req = http.get(
          `${sim.flowBase}/connections`,
          {
            agent,
            headers: {
              authorization: `Bearer ${tok}`,
              'x-api-key': sim.clientId,
              'x-gw-ims-org-id': sim.orgId,
              'x-sandbox-name': 'dev'
            }
          },
          (res) => {
            res.resume()
            res.on('end', () => resolve(res.statusCode ?? 0))
          }
        )
        req.on('error', reject)
      })
    try {
      expect([await get(), await get(), await get()]).toEqual([200, 200, 200])
      expect(sim.stats().tcpConnections).toBe(1)
      expect(new Set(sim.requests.map((r) => r.socket)).size).toBe(1)
    } finally {
      agent.destroy()
    }
  })

  it('delays every response by latencyMs, errors included', async () => {
    sim.configure({ latencyMs: 120 })
    try {
      const t0 = performance.now()
      const r = await call('GET', '/connections', { headers: { authorization: undefined } })
      expect(r.status).toBe(403)
      expect(performance.now() - t0).toBeGreaterThanOrEqual(110)
    } finally {
      sim.configure({ latencyMs: 0 })
    }
  })
})

describe('fault injection', () => {
  it('status faults are consumed in order, then requests behave normally', async () => {
    sim.inject({
      match: { method: 'post', path: '/data/foundation/flowservice/connections' },
      times: 2,
      action: { type: 'status', status: 503, headers: { 'retry-after': '1' } }
    })
    const first = await create('x')
    expect(first.status).toBe(503)
    expect(first.headers.get('retry-after')).toBe('1')
    expect(first.json.status).toBe(503)
    expect((await create('x')).status).toBe(503)
    expect((await create('x')).status).toBe(201)
    expect(sim.connections()).toHaveLength(1)
    expect(sim.requests.map((r) => r.status)).toEqual([503, 503, 201])
  })

  it('applies before gateway checks and can match service and regex paths', async () => {
    sim.inject({
      match: { service: 'flow', path: /\/connections\/[^/]+$/ },
      times: Infinity,
      action: { type: 'status', status: 500, body: 'boom', contentType: 'text/plain' }
    })
    const r = await call('GET', '/connections/abc', { headers: { authorization: undefined } })
    expect([r.status, r.text, r.headers.get('content-type')]).toEqual([500, 'boom', 'text/plain'])
    expect((await call('GET', '/connections/def')).status).toBe(500)
    expect((await call('GET', '/connections')).status).toBe(200)
    sim.clearFaults()
    expect((await call('GET', '/connections/def')).status).toBe(404)
  })

  it('reset drops the socket without performing the request', async () => {
    sim.inject({ match: { method: 'POST' }, action: { type: 'reset' } })
    await expect(create('x')).rejects.toThrow()
    expect(sim.connections()).toHaveLength(0)
    expect(sim.requests[0]?.status).toBe(0)
    expect(sim.stats().mutations).toBe(0)
  })

  it('commit-then-reset performs the request, then drops the socket', async () => {
    sim.inject({ match: { method: 'POST' }, action: { type: 'commit-then-reset' } })
    await expect(create('x')).rejects.toThrow()
    expect(sim.connections('dev').map((c) => c.name)).toEqual(['x'])
    expect(sim.requests[0]?.status).toBe(0)
    expect(sim.stats().mutations).toBe(1)
  })

  it('delay outlasts a client timeout but the request still happens', async () => {
    sim.inject({ match: { method: 'POST' }, action: { type: 'delay', ms: 1500 } })
    const h = {
      authorization: `Bearer ${tok}`,
      'x-api-key': sim.clientId,
      'x-gw-ims-org-id': sim.orgId,
      'x-sandbox-name': 'dev',
      'content-type': 'application/json'
    }
    await expect(
      fetch(`${sim.flowBase}/connections`, {
        method: 'POST',
        headers: h,
        body: JSON.stringify(createBody('slow')),
        signal: AbortSignal.timeout(500)
      })
    ).rejects.toThrow()
    expect(sim.connections()).toHaveLength(0)
    // Polled rather than slept, so a busy machine only makes it slower, not wrong.
    for (const end = Date.now() + 10_000; !sim.connections().length && Date.now() < end;)
      await new Promise((r) => setTimeout(r, 50))
    expect(sim.connections('dev').map((c) => c.name)).toEqual(['slow'])
  })

  it('invalid-json answers 200 with a broken body and performs nothing', async () => {
    sim.inject({
      match: { path: '/data/foundation/flowservice/connections' },
      action: { type: 'invalid-json' }
    })
    const r = await create('x')
    expect(r.status).toBe(200)
    expect(r.headers.get('content-type')).toMatch(/^application\/json/)
    expect(() => JSON.parse(r.text)).toThrow()
    expect(sim.connections()).toHaveLength(0)
  })

  it('concurrent-update changes the etag before a PATCH is handled', async () => {
    const { id, etag } = (await create('p')).json
    sim.inject({ match: { method: 'PATCH' }, action: { type: 'concurrent-update' } })
    const body = [{ op: 'replace', path: '/description', value: 'x' }]
    const stale = await call('PATCH', `/connections/${id}`, { body, headers: { 'if-match': etag } })
    expect(stale.status).toBe(412)
    const current = (await call('GET', `/connections/${id}`)).json.items[0].etag
    expect(current).not.toBe(etag)
    const ok = await call('PATCH', `/connections/${id}`, { body, headers: { 'if-match': current } })
    expect(ok.status).toBe(200)
  })

  it('echo answers an error quoting the request, performing nothing', async () => {
    sim.inject({
      match: { method: 'POST' },
      action: { type: 'echo', status: 400, message: 'bad {connectionString} from {token}' }
    })
    const r = await create('x')
    expect(r.status).toBe(400)
    expect(r.json.type).toBe('https://ns.adobe.com/aep/errors/FLOW-1400-400')
    expect(r.json.errorMessage).toBe(`bad ${CS} from ${tok}`)
    expect(r.json.report['detailed-message']).toBe(r.json.errorMessage)
    expect(sim.connections()).toHaveLength(0)
  })

  it('echo: gateway and IMS shapes, collapse, cut, \\u-escaped bodies and embedded JSON', async () => {
    sim.inject({
      match: { method: 'GET' },
      action: {
        type: 'echo',
        status: 403,
        shape: 'gateway',
        code: '403003',
        message: 'a  b\n{authorization}',
        collapse: true,
        cut: 12
      }
    })
    const gw = await call('GET', '/connections')
    expect(gw.json).toEqual({ error_code: '403003', message: 'a b Bearer s' })

    sim.inject({
      match: { service: 'ims' },
      action: { type: 'echo', status: 401, message: 'no: {clientSecret}', escape: 'unicode' }
    })
    const ims = await imsToken({ ...goodIms(), client_secret: 'p&ss<ä>' })
    expect(ims.text).toContain('p\\u0026ss\\u003c\\u00e4\\u003e')
    expect(ims.json).toEqual({ error: 'invalid_client', error_description: 'no: p&ss<ä>' })

    sim.inject({
      match: { method: 'POST' },
      action: { type: 'echo', status: 400, message: 'params {authParams:json}' }
    })
    const nested = await create('x')
    expect(nested.json.errorMessage).toBe(`params ${unicodeJson({ connectionString: CS })}`)
  })

  it('echo of {stored} quotes the stored secret of the connection in the path', async () => {
    const { id } = (await create('s')).json
    sim.inject({
      match: { path: /\/explore$/ },
      action: { type: 'echo', status: 400, message: 'cannot connect: {stored}' }
    })
    const r = await call('GET', `/connections/${id}/explore?objectType=root`)
    expect(r.json.errorMessage).toBe(`cannot connect: ${CS}`)
  })

  it('rewrite performs the request, then edits its JSON reply', async () => {
    sim.inject({
      match: { method: 'POST' },
      action: { type: 'rewrite', edit: (reply) => ({ ...(reply as object), id: 'a\nb' }) }
    })
    const r = await create('w')
    expect(r.status).toBe(201)
    expect(r.json.id).toBe('a\nb')
    expect(sim.connections('dev').map((c) => c.name)).toEqual(['w'])
  })

  it('can fault IMS', async () => {
    sim.inject({ match: { service: 'ims' }, action: { type: 'status', status: 502 } })
    expect((await imsToken(goodIms())).status).toBe(502)
    expect((await imsToken(goodIms())).status).toBe(200)
  })

  it('large-body sends exactly that many bytes of JSON, with or without Content-Length', async () => {
    sim.inject({
      match: { method: 'GET' },
      action: { type: 'large-body', bytes: 200_000, status: 503 }
    })
    sim.inject({
      match: { method: 'GET' },
      action: { type: 'large-body', bytes: 100, chunked: true }
    })
    const sized = await call('GET', '/connections')
    expect(sized.status).toBe(503)
    expect(sized.headers.get('content-length')).toBe('200000')
    expect(sized.text).toHaveLength(200_000)
    expect(sized.json.items).toEqual([])
    const chunked = await call('GET', '/connections')
    expect(chunked.headers.get('content-length')).toBeNull()
    expect(chunked.text).toHaveLength(100)
    expect(sim.requests.map((r) => r.status)).toEqual([503, 200])
  })

  it('large-body stops generating when the client goes away, and can perform the request first', async () => {
    sim.inject({
      match: { method: 'POST' },
      action: { type: 'large-body', bytes: 500 * 1024 * 1024, status: 201, perform: true }
    })
    const started = Date.now()
    const res = await fetch(`${sim.flowBase}/connections`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${tok}`,
        'x-api-key': sim.clientId,
        'x-gw-ims-org-id': sim.orgId,
        'x-sandbox-name': 'dev',
        'content-type': 'application/json'
      },
      body: JSON.stringify(createBody('big'))
    })
    const reader = res.body?.getReader()
    await reader?.read()
    await reader?.cancel()
    expect(res.status).toBe(201)
    expect(sim.connections('dev').map((c) => c.name)).toEqual(['big'])
    expect(Date.now() - started).toBeLessThan(5000)
  })
})

describe('https mode', () => {
  it('serves the same API over TLS with the given key and certificate', async () => {
    const { testCertificate } = await import('./support/tls.js')
    const { rm } = await import('node:fs/promises')
    const https = await import('node:https')
    const cert = await testCertificate(['localhost'])
    const tlsSim = await startSimulator({ tls: { key: cert.key, cert: cert.cert } })
    try {
      expect(tlsSim.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/)
      const port = new URL(tlsSim.url).port
      const status = await new Promise<number>((resolve, reject) => {
        const req = https.request(
          {
            host: '127.0.0.1',
            port,
            servername: 'localhost',
            path: '/ims/token/v3',
            method: 'POST',
            ca: cert.ca,
            headers: { 'content-type': 'application/x-www-form-urlencoded' }
          },
          (res) => {
            res.resume()
            resolve(res.statusCode ?? 0)
          }
        )
        req.on('error', reject)
        req.end(
          `grant_type=client_credentials&client_id=${tlsSim.clientId}&client_secret=${tlsSim.clientSecret}&scope=openid`
        )
      })
      expect(status).toBe(200)
      expect(tlsSim.requests.map((r) => r.socket)).toEqual([1])
      expect(tlsSim.stats().tcpConnections).toBe(1)
    } finally {
      await tlsSim.close()
      await rm(cert.dir, { recursive: true, force: true })
    }
  })
})

describe('filter values, paging readings, listing faults, states', () => {
  const names = async (q: string) => {
    const r = await call('GET', `/connections?${q}`)
    return (r.json.items as Array<{ name: string }>).map((i) => i.name)
  }
  const property = (expr: string) => `property=${encodeURIComponent(expr)}`

  it('parses value lists: quoted values keep commas and spaces, \\" escapes', () => {
    expect(parseValueList('a,b')).toEqual(['a', 'b'])
    expect(parseValueList('"a,b",c')).toEqual(['a,b', 'c'])
    expect(parseValueList('" lead"')).toEqual([' lead'])
    expect(parseValueList('"say \\"hi\\" \\\\ x"')).toEqual(['say "hi" \\ x'])
    expect(parseValueList('"say \\"hi\\""', false)).toBeUndefined()
    expect(parseValueList('"open')).toBeUndefined()
    expect(parseValueList('"a"b')).toBeUndefined()
    expect(parseValueList('plain "x"')).toEqual(['plain "x"'])
  })

  it('filters by quoted names with commas, edge spaces and escaped quotes', async () => {
    for (const n of ['a,b', 'a', 'b', ' lead', 'say "hi"']) await create(n)
    expect(await names(property('name=="a,b"'))).toEqual(['a,b'])
    expect(await names(property('name==a,b'))).toEqual(['a', 'b'])
    expect(await names(property('name==" lead"'))).toEqual([' lead'])
    expect(await names(property('name=="say \\"hi\\""'))).toEqual(['say "hi"'])
    const open = await call('GET', `/connections?${property('name=="a,b')}`)
    expect(open.json.type).toMatch(/FLOW-1453-400$/)
  })

  it('quoteEscapes off: a backslash is literal, so an escaped quote is malformed', async () => {
    await create('say "hi"')
    sim.configure({ quoteEscapes: false })
    try {
      const r = await call('GET', `/connections?${property('name=="say \\"hi\\""')}`)
      expect(r.json.type).toMatch(/FLOW-1453-400$/)
      expect(await names(property('name=="x\\y"'))).toEqual([])
    } finally {
      sim.configure({ quoteEscapes: true })
    }
  })

  it('tokenKeepsFilter off: a continuation link alone lists everything after the position', async () => {
    sim.configure({ pageSize: 2, tokenKeepsFilter: false })
    try {
      for (const n of ['p', 'q', 'p', 'p', 'q']) await create(n)
      const first = await call('GET', '/connections?property=name==p')
      expect(first.json.items.map((i: { name: string }) => i.name)).toEqual(['p', 'p'])
      const href: string = first.json._links.next.href
      expect(await names(href.split('?')[1] ?? '')).toEqual(['p', 'q'])
      expect(await names(`${href.split('?')[1]}&property=name==p`)).toEqual(['p'])
    } finally {
      sim.configure({ pageSize: 20, tokenKeepsFilter: true })
    }
  })

  it('createdAt grows with each connection, and can be seeded', async () => {
    const a = sim.seedConnection('dev', { name: 'x' })
    const b = sim.seedConnection('dev', { name: 'x' })
    const c = sim.seedConnection('dev', { name: 'x', createdAt: 1000 })
    expect(b.createdAt).toBeGreaterThan(a.createdAt)
    expect(c.createdAt).toBe(1000)
    const listed = (await call('GET', '/connections')).json.items
    expect(listed.map((i: { createdAt: number }) => i.createdAt)).toEqual([
      a.createdAt,
      b.createdAt,
      1000
    ])
  })

  it('pad-pages puts empty pages with next links in front of the real listing', async () => {
    await create('n')
    sim.inject({ match: { method: 'GET' }, action: { type: 'pad-pages', pages: 3 } })
    let r = await call('GET', '/connections?property=name==n')
    const pages = [r.json.items.length]
    while (r.json._links?.next?.href) {
      r = await call('GET', r.json._links.next.href)
      pages.push(r.json.items.length)
    }
    expect(pages).toEqual([0, 0, 0, 1])
  })

  it('endless-pages never ends; cycle-pages links two pages to each other', async () => {
    sim.inject({ match: { method: 'GET' }, action: { type: 'endless-pages' } })
    let r = await call('GET', '/connections')
    const hrefs = new Set<string>()
    for (let i = 0; i < 5; i++) {
      hrefs.add(r.json._links.next.href)
      r = await call('GET', r.json._links.next.href)
    }
    expect(hrefs.size).toBe(5)
    sim.inject({ match: { method: 'GET' }, action: { type: 'cycle-pages' } })
    const a = (await call('GET', '/connections')).json._links.next.href
    const b = (await call('GET', a)).json._links.next.href
    const c = (await call('GET', b)).json._links.next.href
    expect(c).toBe(a)
    expect(b).not.toBe(a)
  })

  it('strip-spec lists items without connectionSpec; GET by id still has it', async () => {
    const id = (await create('n')).json.id
    sim.inject({ match: { method: 'GET' }, action: { type: 'strip-spec' } })
    expect((await call('GET', '/connections')).json.items[0].connectionSpec).toBeUndefined()
    expect((await call('GET', `/connections/${id}`)).json.items[0].connectionSpec.id).toBe(
      POSTGRES_SPEC_ID
    )
  })

  it('stale-list answers as of when it was injected', async () => {
    await create('old')
    sim.inject({ match: { method: 'GET' }, action: { type: 'stale-list' } })
    await create('new')
    expect(await names('')).toEqual(['old'])
    expect(await names('')).toEqual(['old', 'new'])
  })

  it('barrier holds requests until all parties arrived', async () => {
    sim.inject({
      match: { method: 'GET' },
      times: 2,
      action: { type: 'barrier', parties: 2, timeoutMs: 5000 }
    })
    const order: string[] = []
    const first = call('GET', '/connections').then(() => order.push('first'))
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(order).toEqual([])
    await create('meanwhile')
    const second = call('GET', '/connections').then(() => order.push('second'))
    await Promise.all([first, second])
    expect(order.sort()).toEqual(['first', 'second'])
  })

  it('commit-then-status performs the request, then answers as told', async () => {
    sim.inject({
      match: { method: 'POST' },
      action: { type: 'commit-then-status', status: 201, body: '{}' }
    })
    const r = await create('n')
    expect(r.status).toBe(201)
    expect(r.json).toEqual({})
    expect(sim.connections('dev')).toHaveLength(1)
  })

  it('patchEnabled off: every PATCH gets 1445-400', async () => {
    const c = sim.seedConnection('dev', { name: 'n' })
    sim.configure({ patchEnabled: false })
    try {
      const r = await call('PATCH', `/connections/${c.id}`, {
        body: [{ op: 'replace', path: '/description', value: 'x' }],
        headers: { 'if-match': c.etag }
      })
      expect(r.status).toBe(400)
      expect(r.json.type).toMatch(/FLOW-1445-400$/)
      expect(r.json.report['detailed-message']).toBe('PATCH Connection Feature not enabled.')
    } finally {
      sim.configure({ patchEnabled: true })
    }
  })

  it('state rules: 1457/1458 while delete-finalizing, 1416 in other busy states', async () => {
    const going = sim.seedConnection('dev', { name: 'n', state: 'delete-finalizing' })
    const busy = sim.seedConnection('dev', { name: 'm' })
    sim.setState(busy.id, 'updating')
    const patch = (c: { id: string; etag: string }) =>
      call('PATCH', `/connections/${c.id}`, {
        body: [{ op: 'replace', path: '/description', value: 'x' }],
        headers: { 'if-match': c.etag }
      })
    expect((await patch(going)).json.type).toMatch(/FLOW-1457-400$/)
    expect((await call('DELETE', `/connections/${going.id}`)).json.type).toMatch(/FLOW-1458-400$/)
    expect((await patch(busy)).json.type).toMatch(/FLOW-1416-400$/)
    expect((await call('DELETE', `/connections/${busy.id}`)).json.type).toMatch(/FLOW-1416-400$/)
    const init = sim.seedConnection('dev', { name: 'i', state: 'initializing' })
    expect((await patch(init)).status).toBe(200)
  })

  it('a seeded transition happens afterMs after the connection is first served', async () => {
    const c = sim.seedConnection('dev', {
      name: 'n',
      state: 'initializing',
      transition: { afterMs: 150, to: 'enabled' }
    })
    await new Promise((resolve) => setTimeout(resolve, 250))
    const state = async () => (await call('GET', `/connections/${c.id}`)).json.items[0].state
    expect(await state()).toBe('initializing')
    await new Promise((resolve) => setTimeout(resolve, 250))
    expect(await state()).toBe('enabled')
    const gone = sim.seedConnection('dev', {
      name: 'g',
      state: 'delete-finalizing',
      transition: { afterMs: 0, to: 'removed' }
    })
    await call('GET', '/connections')
    expect(sim.connections('dev').map((x) => x.id)).not.toContain(gone.id)
  })
})
