import { describe, it, expect } from '@jest/globals'
import { buildCreateBody, type ConnectionAuth } from '../src/connection/payload.js'
import { POSTGRES_SPEC_ID } from '../src/platform/collections.js'
import { ActionError } from '../src/platform/errors.js'
import type { FlowItem as ConnectionItem } from '../src/platform/flow-api.js'
import type { Settings } from '../src/connection/settings.js'
import { decide, describePlan, operationOf, patchOps, type Plan } from '../src/connection/plan.js'

const PW = 'pw-PLAN-SECRET-6t1r'
const BASE = 'https://platform.example/data/foundation/flowservice'

const csAuth: ConnectionAuth = {
  specName: 'Connection String Based Authentication',
  params: { connectionString: `Server=H;Database=D;Port=5432;UID=U;Password=${PW}` }
}
const basicAuth: ConnectionAuth = {
  specName: 'Basic Authentication',
  params: {
    server: 'H',
    port: '5432',
    database: 'D',
    username: 'U',
    password: PW,
    sslMode: 'Require'
  }
}
const body = buildCreateBody('orders-db', 'new description', csAuth)

function settings(s: Partial<Settings> = {}): Settings {
  return {
    clientId: 'c',
    scopes: 's',
    imsOrgId: 'o@AdobeOrg',
    sandboxName: 'dev',
    platformUrl: 'https://platform.example',
    imsUrl: 'https://ims.example',
    connectionName: 'orders-db',
    authType: 'connection-string',
    ifExists: 'update',
    state: 'present',
    dryRun: false,
    testConnection: false,
    timeoutSeconds: 120,
    maxAttempts: 5,
    validateSpec: false,
    ...s
  }
}

function item(id: string, extra: Partial<ConnectionItem> = {}): ConnectionItem {
  return {
    id,
    name: 'orders-db',
    etag: `"etag-${id}"`,
    description: 'old description',
    connectionSpec: { id: POSTGRES_SPEC_ID, version: '1.0' },
    auth: { specName: 'Connection String Based Authentication' },
    ...extra
  }
}

const one = [item('c-1')]
const two = [item('c-1'), item('c-2')]

describe('decide', () => {
  const ifExists = ['update', 'reuse', 'fail'] as const

  describe.each(ifExists)('if-exists %s', (mode) => {
    it('state present, none found: create', () => {
      expect(decide(settings({ ifExists: mode }), [], body)).toEqual({ kind: 'create', body })
    })

    it('state absent, none found: absent', () => {
      expect(decide(settings({ ifExists: mode, state: 'absent' }), [], undefined)).toEqual({
        kind: 'absent'
      })
    })

    it('state absent, one found: delete', () => {
      expect(decide(settings({ ifExists: mode, state: 'absent' }), one, undefined)).toEqual({
        kind: 'delete',
        existing: one[0]
      })
    })

    it.each(['present', 'absent'] as const)(
      'state %s, two found: fails listing the ids',
      (state) => {
        const s = settings({ ifExists: mode, state })
        expect(() => decide(s, two, state === 'present' ? body : undefined)).toThrow(
          '2 PostgreSQL connections are named "orders-db" in this sandbox (ids c-1, c-2); delete all but one, then run again'
        )
      }
    )
  })

  it('state present, one found, if-exists update: update with patch ops', () => {
    expect(decide(settings(), one, body)).toEqual({
      kind: 'update',
      existing: one[0],
      body,
      ops: [
        { op: 'replace', path: '/auth/params', value: csAuth.params },
        { op: 'replace', path: '/description', value: 'new description' }
      ]
    })
  })

  it('state present, one found, if-exists reuse: reuse', () => {
    expect(decide(settings({ ifExists: 'reuse' }), one, body)).toEqual({
      kind: 'reuse',
      existing: one[0]
    })
  })

  it('state present, one found, if-exists fail: fails naming the id and sandbox', () => {
    let error: unknown
    try {
      decide(settings({ ifExists: 'fail' }), one, body)
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(ActionError)
    expect((error as Error).message).toBe(
      'a connection named "orders-db" already exists in sandbox dev (id c-1) and if-exists is fail'
    )
  })

  it('update refuses to change the auth type in place', () => {
    const existing = [item('c-1', { auth: { specName: 'Basic Authentication' } })]
    expect(() => decide(settings(), existing, body)).toThrow(
      /uses "Basic Authentication" but auth-type asks for "Connection String Based Authentication"/
    )
  })

  it('reuse does not care about the auth type', () => {
    const existing = [item('c-1', { auth: { specName: 'Basic Authentication' } })]
    expect(decide(settings({ ifExists: 'reuse' }), existing, body).kind).toBe('reuse')
  })

  it('update proceeds when the existing auth type is unknown', () => {
    const existing = [item('c-1', { auth: undefined })]
    expect(decide(settings(), existing, body).kind).toBe('update')
  })

  it('state present without a payload is an internal error', () => {
    expect(() => decide(settings(), [], undefined)).toThrow(
      'internal: no connection payload to apply'
    )
  })
})

describe('patchOps', () => {
  it('adds a description the connection lacks', () => {
    expect(patchOps(item('c', { description: undefined }), body)).toEqual([
      { op: 'replace', path: '/auth/params', value: csAuth.params },
      { op: 'add', path: '/description', value: 'new description' }
    ])
  })

  it('replaces a changed description', () => {
    expect(patchOps(item('c', { description: 'old' }), body)[1]).toEqual({
      op: 'replace',
      path: '/description',
      value: 'new description'
    })
  })

  it('always replaces the credentials, and leaves an unchanged description alone', () => {
    expect(patchOps(item('c', { description: 'new description' }), body)).toEqual([
      { op: 'replace', path: '/auth/params', value: csAuth.params }
    ])
  })

  it('says in the mark that this run adopted a copy another run made, once', () => {
    const marked = item('c', { description: 'new description [aep-gha:a1b2c3d4e5f6.1.abc]' })
    expect(patchOps(marked, body)).toEqual([
      { op: 'replace', path: '/auth/params', value: csAuth.params },
      {
        op: 'replace',
        path: '/description',
        value: 'new description [aep-gha:a1b2c3d4e5f6.1.abc;adopted]'
      }
    ])
    // Already adopted: the description is left alone while its text is unchanged.
    const adopted = item('c', {
      description: 'new description [aep-gha:a1b2c3d4e5f6.1.abc;adopted]'
    })
    expect(patchOps(adopted, body)).toHaveLength(1)
    expect(
      patchOps(item('c', { description: 'old [aep-gha:a1b2c3d4e5f6.1.abc;adopted]' }), body)[1]
    ).toEqual({
      op: 'replace',
      path: '/description',
      value: 'new description [aep-gha:a1b2c3d4e5f6.1.abc;adopted]'
    })
  })

  it('does not touch the description when none is wanted', () => {
    const noDesc = buildCreateBody('orders-db', undefined, csAuth)
    expect(patchOps(item('c'), noDesc)).toEqual([
      { op: 'replace', path: '/auth/params', value: csAuth.params }
    ])
  })
})

describe('operationOf', () => {
  const plans: Array<[Plan, string, string]> = [
    [{ kind: 'create', body }, 'created', 'would-create'],
    [
      { kind: 'update', existing: one[0] as ConnectionItem, ops: [], body },
      'updated',
      'would-update'
    ],
    [{ kind: 'reuse', existing: one[0] as ConnectionItem }, 'unchanged', 'unchanged'],
    [{ kind: 'delete', existing: one[0] as ConnectionItem }, 'deleted', 'would-delete'],
    [{ kind: 'absent' }, 'absent', 'absent']
  ]
  it.each(plans)('%j -> %s / dry run %s', (plan, live, dry) => {
    expect(operationOf(plan, false)).toBe(live)
    expect(operationOf(plan, true)).toBe(dry)
  })
})

describe('describePlan', () => {
  it('create: the POST with the connection string shown as ***', () => {
    const lines = describePlan({ kind: 'create', body }, BASE)
    expect(lines[0]).toBe(`POST ${BASE}/connections`)
    expect(JSON.parse(lines[1] as string)).toEqual({
      name: 'orders-db',
      description: 'new description',
      auth: {
        specName: 'Connection String Based Authentication',
        params: { connectionString: '***' }
      },
      connectionSpec: { id: POSTGRES_SPEC_ID, version: '1.0' }
    })
    expect(lines.join('\n')).not.toContain(PW)
  })

  it('create with basic auth hides only the password', () => {
    const b = buildCreateBody('orders-db', undefined, basicAuth)
    const lines = describePlan({ kind: 'create', body: b }, BASE)
    expect(JSON.parse(lines[1] as string).auth.params).toEqual({
      server: 'H',
      port: '5432',
      database: 'D',
      username: 'U',
      password: '***',
      sslMode: 'Require'
    })
    expect(lines.join('\n')).not.toContain(PW)
  })

  it.each([
    ['connection string', csAuth],
    ['basic', basicAuth]
  ])('update (%s): the PATCH with If-Match and redacted ops', (_label, auth) => {
    const b = buildCreateBody('orders-db', 'new description', auth)
    const existing = item('c-1', { auth: { specName: auth.specName } })
    const plan = decide(
      settings({ authType: auth === basicAuth ? 'basic' : 'connection-string' }),
      [existing],
      b
    )
    const lines = describePlan(plan, BASE)
    expect(lines[0]).toBe(`PATCH ${BASE}/connections/c-1`)
    expect(lines[1]).toBe('If-Match: "etag-c-1"')
    const ops = JSON.parse(lines[2] as string)
    expect(ops[1]).toEqual({ op: 'replace', path: '/description', value: 'new description' })
    expect(ops[0].path).toBe('/auth/params')
    expect(JSON.stringify(ops[0].value)).toContain('***')
    expect(lines.join('\n')).not.toContain(PW)
    // The plan itself still holds the real value to send.
    expect(JSON.stringify(plan)).toContain(PW)
  })

  it('update without a known etag says it will be read', () => {
    const plan = decide(settings(), [item('c-1', { etag: undefined })], body)
    expect(describePlan(plan, BASE)[1]).toBe('If-Match: (etag from a fresh read)')
  })

  it('delete, reuse and absent', () => {
    expect(describePlan({ kind: 'delete', existing: item('c-9') }, BASE)).toEqual([
      `DELETE ${BASE}/connections/c-9`
    ])
    expect(describePlan({ kind: 'reuse', existing: item('c-9') }, BASE)).toEqual([
      'no request: the connection exists (id c-9) and if-exists is reuse'
    ])
    expect(describePlan({ kind: 'absent' }, BASE)).toEqual([
      'no request: no connection with this name exists'
    ])
  })
})
