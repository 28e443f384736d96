/*
 * The referee loaded on first use (referee.ts): an ordinary run never loads it; a run that
 * consults it gets the referee's own behaviour; a referee whose code cannot be loaded is only a
 * warning, and never replaces Flow Service's own error.
 */
import { describe, it, expect } from '@jest/globals'
import * as spec from '../src/connection/connection-spec.js'
import { buildCreateBody, type CreateBody } from '../src/connection/payload.js'
import type { Plan } from '../src/connection/plan.js'
import { LazyReferee, type LoadReferee } from '../src/connection/referee.js'
import { ApiError } from '../src/platform/errors.js'
import type { FlowApi } from '../src/platform/flow-api.js'
import { postgresConnectionSpec } from '../simulator/server.js'

const BASIC = 'Basic Authentication'
const body = (sslMode = 'Verify-Ca'): CreateBody =>
  buildCreateBody('orders', 'd', {
    specName: BASIC,
    params: {
      server: 'db.example.com',
      port: '5433',
      database: 'o',
      username: 'u',
      password: 'pw-9qZ!x',
      sslMode
    }
  })
const refused400 = () =>
  new ApiError('creating the connection failed: HTTP 400 1400-400 Invalid request', 400, '1400-400')

function lazyReferee(load: LoadReferee) {
  const warnings: string[] = []
  const log: string[] = []
  let loads = 0
  const r = new LazyReferee(
    {
      api: {} as FlowApi,
      log: (l) => log.push(l),
      warn: (w) => warnings.push(w),
      shorten: (t, max) => spec.plainShorten(t, max)
    },
    () => {
      loads++
      return load()
    }
  )
  return { r, warnings, log, loads: () => loads }
}

/** The real module, its spec read served without a network. */
const serving =
  (variant: Parameters<typeof postgresConnectionSpec>[0] = {}): LoadReferee =>
  async () => ({
    ...spec,
    readConnectionSpec: async () => ({ items: [postgresConnectionSpec(variant)] })
  })

const missing: LoadReferee = async () => {
  throw new Error("Cannot find module '/somewhere/dist/500.index.js'")
}

describe('LazyReferee', () => {
  it('an ordinary run loads nothing: no dry run or validate-spec, a send that succeeds, a 400 explained', async () => {
    const { r, warnings, loads } = lazyReferee(missing)
    const plan: Plan = { kind: 'create', body: body() }
    expect(await r.vetPlan(plan, { dryRun: false, validateSpec: false })).toBe(plan)
    expect(await r.vetPlan({ kind: 'absent' }, { dryRun: true, validateSpec: true })).toEqual({
      kind: 'absent'
    })
    expect(await r.guard(body(), async () => 'created')).toBe('created')
    const explained = new ApiError('HTTP 400 1403-400 Forbidden', 400, '1403-400')
    await expect(
      r.guard(body(), async () => {
        throw explained
      })
    ).rejects.toBe(explained)
    const server = new ApiError('HTTP 500', 500)
    await expect(
      r.guard(body(), async () => {
        throw server
      })
    ).rejects.toBe(server)
    expect(loads()).toBe(0)
    expect(warnings).toEqual([])
  })

  it('a dry run consults the loaded referee, which reshapes as it would on its own', async () => {
    const { r, log, loads } = lazyReferee(serving({ sslModeSpaces: true }))
    const plan: Plan = { kind: 'create', body: body() }
    const vetted = await r.vetPlan(plan, { dryRun: true, validateSpec: false })
    expect(vetted.kind === 'create' && vetted.body.auth.params.sslMode).toBe('Verify Ca')
    expect(log[0]).toMatch(/^Reshaped to match Flow Service's live connection spec/)
    await r.vetPlan(plan, { dryRun: true, validateSpec: false })
    expect(loads()).toBe(1)
  })

  it('an unexplained 400 consults the loaded referee: a mismatch is noted on the refusal', async () => {
    const { r } = lazyReferee(serving({ withoutRequire: true }))
    const e = await r
      .guard(body('Require'), async () => {
        throw refused400()
      })
      .catch((x: unknown) => x)
    expect(e).toBeInstanceOf(ApiError)
    expect((e as Error).message).toMatch(
      /^creating the connection failed: HTTP 400 1400-400 Invalid request\. Flow Service's live connection spec for "Basic Authentication" says: sslMode must be one of/
    )
  })

  it('code that cannot be loaded: a dry run warns and goes on with the plan unchanged', async () => {
    const { r, warnings } = lazyReferee(missing)
    const plan: Plan = { kind: 'create', body: body() }
    expect(await r.vetPlan(plan, { dryRun: true, validateSpec: false })).toBe(plan)
    expect(await r.vetPlan(plan, { dryRun: false, validateSpec: true })).toBe(plan)
    expect(warnings).toEqual([
      "could not check the auth params against Flow Service's live connection spec: its code could not be loaded (Cannot find module '/somewhere/dist/500.index.js'); going on without that check"
    ])
  })

  it("code that cannot be loaded: an unexplained 400 stays Flow Service's own error, with a warning", async () => {
    const { r, warnings } = lazyReferee(missing)
    const refusal = refused400()
    const message = refusal.message
    let sends = 0
    await expect(
      r.guard(body(), async () => {
        sends++
        throw refusal
      })
    ).rejects.toBe(refusal)
    expect(refusal.message).toBe(message)
    expect(sends).toBe(1)
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toMatch(/its code could not be loaded .*going on without that check$/)
  })
})
