/**
 * The live connection spec as the referee: validation with a real JSON Schema validator (ajv) and
 * reshaping, over the variant specs the simulator serves (the same documents, imported).
 */
import { describe, it, expect } from '@jest/globals'
import {
  authSchemaOf,
  describeProblems,
  enumList,
  judgeParams,
  reshapeValue,
  SpecReferee,
  specText,
  usesBraceQuoting,
  withBody,
  type JsonSchema
} from '../src/connection/connection-spec.js'
import { buildCreateBody, type AuthParams, type CreateBody } from '../src/connection/payload.js'
import { isUnexplained400 } from '../src/connection/refusal.js'
import { ActionError, ApiError } from '../src/platform/errors.js'
import { cut, Output } from '../src/platform/output.js'
import { postgresConnectionSpec, type SpecVariant } from '../simulator/server.js'
import { RecordingSink } from './unit-fakes.js'

const SPEC_ID = '74a1c565-4e59-48d7-9d67-7c03b8a13137'
const CS_AUTH = 'Connection String Based Authentication'
const BASIC = 'Basic Authentication'
const PW = 'S3cr3t!pw'

const reply = (variant: SpecVariant = {}) => ({ items: [postgresConnectionSpec(variant)] })
function schemaOf(specName: string, variant: SpecVariant = {}): JsonSchema {
  const found = authSchemaOf(reply(variant), specName)
  if (!('schema' in found)) throw new Error(found.unavailable)
  return found.schema
}
const basic = (extra: AuthParams = {}): AuthParams => ({
  server: 'db.example.com',
  port: '5433',
  database: 'orders',
  username: 'etl',
  password: PW,
  ...extra
})

describe('authSchemaOf', () => {
  it('finds each auth type’s schema in the reply', () => {
    expect(schemaOf(BASIC).properties).toHaveProperty('sslMode')
    expect(schemaOf(CS_AUTH).properties).toHaveProperty('connectionString')
  })
  it('says why there is no schema: not a list, empty, unknown auth type, no spec', () => {
    expect(authSchemaOf({ nope: 1 }, BASIC)).toEqual({
      unavailable: 'the reply is not a connection spec list'
    })
    expect(authSchemaOf({ items: [] }, BASIC)).toEqual({
      unavailable: `the reply holds no PostgreSQL connection spec (id ${SPEC_ID})`
    })
    expect(authSchemaOf(reply(), 'Account Key')).toEqual({
      unavailable: `it has no auth type named "Account Key" (it lists: ${CS_AUTH}, ${BASIC})`
    })
    expect(authSchemaOf(reply({ withoutSchemaFor: [BASIC] }), BASIC)).toEqual({
      unavailable: `it has no schema for "${BASIC}"`
    })
  })
  it('only the PostgreSQL spec referees: another connector’s spec, even first or alone, is not used', () => {
    const other = { ...postgresConnectionSpec(), id: '0ed90a81-07f4-4586-8190-b40eccef1c5a' }
    expect(authSchemaOf({ items: [other] }, BASIC)).toEqual({
      unavailable: `the reply holds no PostgreSQL connection spec (id ${SPEC_ID})`
    })
    const both = authSchemaOf(
      { items: [{ ...other, authSpec: [] }, postgresConnectionSpec({ portInteger: true })] },
      BASIC
    )
    expect('schema' in both && both.schema.properties).toHaveProperty('port.type', 'integer')
  })
  it('auth type names from the spec are listed on one line', () => {
    const odd = { ...postgresConnectionSpec(), authSpec: [{ name: 'A\n::warning::x\u2028B' }] }
    expect(authSchemaOf({ items: [odd] }, BASIC)).toEqual({
      unavailable: `it has no auth type named "${BASIC}" (it lists: A\\u000a::warning::x\\u2028B)`
    })
  })
})

describe('judgeParams over variant specs', () => {
  it('documented spec: the params the action builds pass unchanged', async () => {
    const v = await judgeParams(schemaOf(BASIC), basic({ sslMode: 'Verify-Ca' }))
    expect(v).toEqual({
      params: basic({ sslMode: 'Verify-Ca' }),
      changes: [],
      problems: [],
      unchecked: []
    })
  })

  it('port integer + sslMode with spaces: port becomes a number, Verify-Ca becomes "Verify Ca"', async () => {
    const schema = schemaOf(BASIC, { portInteger: true, sslModeSpaces: true })
    const v = await judgeParams(schema, basic({ sslMode: 'Verify-Ca' }))
    expect(v.problems).toEqual([])
    expect(v.params).toEqual(basic({ port: 5433, sslMode: 'Verify Ca' }))
    expect(v.changes).toEqual([
      { param: 'port', change: 'string -> integer' },
      { param: 'sslMode', change: 'matched the allowed value "Verify Ca"' }
    ])
  })

  it('Require missing: sslMode fails naming the allowed values; nothing reshaped', async () => {
    const v = await judgeParams(
      schemaOf(BASIC, { withoutRequire: true }),
      basic({ sslMode: 'Require' })
    )
    expect(v.changes).toEqual([])
    expect(v.problems).toEqual([
      {
        param: 'sslMode',
        keyword: 'enum',
        expected: 'must be one of: Disable, Allow, Prefer, Verify-Ca, Verify-Full'
      }
    ])
  })

  it('a reshape that does not fix a param is undone; the others are kept', async () => {
    const schema = schemaOf(BASIC, { portInteger: true, withoutRequire: true })
    const v = await judgeParams(schema, basic({ sslMode: 'Require' }))
    expect(v.params.port).toBe(5433)
    expect(v.params.sslMode).toBe('Require')
    expect(v.changes).toEqual([{ param: 'port', change: 'string -> integer' }])
    expect(v.problems.map((p) => p.param)).toEqual(['sslMode'])
  })

  it('a port that is not a whole number is not reshaped and is reported by type', async () => {
    const v = await judgeParams(schemaOf(BASIC, { portInteger: true }), basic({ port: '54x' }))
    expect(v.problems).toEqual([{ param: 'port', keyword: 'type', expected: 'must be an integer' }])
  })

  it('connection-string pattern: a brace-quoted value fails naming the pattern and pointing to basic', async () => {
    const schema = schemaOf(CS_AUTH, { connectionStringPattern: true })
    const plain = 'Server=h;Database=d;Port=5432;UID=u;Password=p'
    expect((await judgeParams(schema, { connectionString: plain })).problems).toEqual([])
    const braced = { connectionString: `Server=h;Database=d;Port=5432;UID=u;Password={${PW};x}` }
    const v = await judgeParams(schema, braced)
    expect(v.problems).toHaveLength(1)
    expect(v.problems[0]?.param).toBe('connectionString')
    expect(v.problems[0]?.expected).toMatch(/^must match the pattern \^Server=/)
    const text = describeProblems(v.problems, braced)
    expect(text).toContain('needed brace quoting')
    expect(text).toContain('auth-type: basic')
    expect(text).not.toContain(PW)
    const order = { connectionString: 'Database=d;Server=h;Port=5432;UID=u;Password=p' }
    const v2 = await judgeParams(schema, order)
    expect(describeProblems(v2.problems, order)).toMatch(/keywords and their order/)
  })

  it('problems never carry a value: required, additional, type, enum, limits', async () => {
    const schema: JsonSchema = {
      type: 'object',
      properties: {
        password: { type: 'string', format: 'password', maxLength: 4 },
        mode: { enum: ['A', 'B'] }
      },
      required: ['password', 'host'],
      additionalProperties: false
    }
    const v = await judgeParams(schema, { password: PW, mode: 'c', extra: 'x' })
    expect(v.problems).toEqual([
      {
        param: 'host',
        keyword: 'required',
        expected: 'is required by the connection spec but is not sent'
      },
      {
        param: 'extra',
        keyword: 'additionalProperties',
        expected: 'is not a param this auth type accepts'
      },
      { param: 'password', keyword: 'maxLength', expected: 'must NOT have more than 4 characters' },
      { param: 'mode', keyword: 'enum', expected: 'must be one of: A, B' }
    ])
    expect(JSON.stringify(v.problems)).not.toContain(PW)
  })

  it('a schema naming another draft or carrying unknown keywords still compiles; a broken one is a SchemaError', async () => {
    const odd: JsonSchema = {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      type: 'object',
      uiHint: { order: 1 },
      properties: { port: { type: 'integer', format: 'port-number' } }
    }
    expect((await judgeParams(odd, { port: '1' })).params).toEqual({ port: 1 })
    await expect(
      judgeParams({ type: 'object', properties: { a: { pattern: '(' } } }, { a: 'x' })
    ).rejects.toMatchObject({ name: 'SchemaError' })
  })
})

describe('reshapeValue: only where the schema leaves one reading', () => {
  it.each([
    ['integer from a numeric string', '5432', { type: 'integer' }, 5432],
    ['number from a decimal string', '1.5', { type: 'number' }, 1.5],
    ['boolean from "true"', 'true', { type: 'boolean' }, true],
    ['boolean from "false"', 'false', { type: ['boolean', 'null'] }, false],
    ['a negative integer', '-12', { type: 'integer' }, -12],
    ['zero', '0', { type: 'number' }, 0],
    ['string from a boolean', true, { type: 'string' }, 'true'],
    ['enum ignoring case', 'verify-full', { type: 'string', enum: ['Verify Full'] }, 'Verify Full'],
    ['enum ignoring underscores', 'VERIFY_CA', { enum: ['verify-ca', 'prefer'] }, 'verify-ca'],
    ['enum after a type change', 'true', { type: 'boolean', enum: [true] }, true]
  ])('%s', (_what, value, prop, expected) => {
    expect(reshapeValue(value, prop)?.value).toEqual(expected)
  })

  it.each([
    ['a string that may stay a string', '5432', { type: ['string', 'integer'] }],
    ['a non-numeric string for an integer', '5432a', { type: 'integer' }],
    ['a fraction for an integer', '1.5', { type: 'integer' }],
    ['a yes for a boolean', 'yes', { type: 'boolean' }],
    // Lossy or ambiguous readings: only a string that round-trips exactly is a number.
    ['hexadecimal for a number', '0x1F', { type: 'number' }],
    ['hexadecimal for an integer', '0x1F', { type: 'integer' }],
    ['binary for a number', '0b101', { type: 'number' }],
    ['octal for a number', '0o17', { type: 'number' }],
    ['an exponent for a number', '1e3', { type: 'number' }],
    ['an exponent for an integer', '1e3', { type: 'integer' }],
    ['leading zeros for an integer', '007', { type: 'integer' }],
    ['a plus sign for an integer', '+5', { type: 'integer' }],
    ['padding for an integer', ' 5432 ', { type: 'integer' }],
    ['padding for a number', '1.5 ', { type: 'number' }],
    ['a trailing zero for a number', '1.50', { type: 'number' }],
    ['"Infinity" for a number', 'Infinity', { type: 'number' }],
    ['an empty string for a number', '', { type: 'number' }],
    ['an unsafe integer', '9007199254740993', { type: 'integer' }],
    ['"TRUE" for a boolean', 'TRUE', { type: 'boolean' }],
    ['" true" for a boolean', ' true', { type: 'boolean' }],
    ['an allowed value holding a line break', 'verify-ca', { enum: ['Verify\nCa'] }],
    ['an allowed value holding a line separator', 'verify-ca', { enum: ['Verify\u2028Ca'] }],
    ['an allowed value holding a control character', 'verify-ca', { enum: ['Verify\u0000Ca'] }],
    ['an allowed value holding a zero-width space', 'verify-ca', { enum: ['Verify\u200bCa'] }],
    ['two loose enum matches', 'verify ca', { enum: ['Verify-Ca', 'Verify_Ca'] }],
    ['no loose enum match', 'require', { enum: ['Disable', 'Allow'] }],
    ['no type or enum at all', 'x', {}]
  ])('not for %s', (_what, value, prop) => {
    expect(reshapeValue(value, prop)).toBeUndefined()
  })

  it('a secret param’s allowed value is not repeated in the change', () => {
    expect(reshapeValue('a', { enum: ['A'], format: 'password' })?.change).toBe(
      'matched one allowed value'
    )
  })
})

describe('judgeParams with patterns that cannot be evaluated safely', () => {
  const catastrophic = '^(([^#])+)+#$'
  const cs = 'Server=db.example.com;Database=orders;Port=5433;UID=etl;Password=pw-123456'

  it('a catastrophic-backtracking pattern is skipped in bounded time, named by its param', async () => {
    const schema: JsonSchema = {
      type: 'object',
      properties: { connectionString: { type: 'string', pattern: catastrophic } }
    }
    const started = Date.now()
    const v = await judgeParams(schema, { connectionString: cs })
    expect(Date.now() - started).toBeLessThan(5000)
    expect(v.problems).toEqual([])
    expect(v.unchecked).toEqual([
      {
        param: 'connectionString',
        rule: 'pattern',
        why: 'it took too long to evaluate (over 250 ms)'
      }
    ])
  })

  it('the other rules are still checked; a pattern too long is not evaluated at all', async () => {
    const long = `^(${'a|'.repeat(600)}b)$`
    const schema: JsonSchema = {
      type: 'object',
      properties: {
        connectionString: { type: 'string', pattern: catastrophic },
        server: { type: 'string', pattern: long },
        port: { type: 'integer' }
      }
    }
    const v = await judgeParams(schema, { connectionString: cs, server: 'db', port: 'x' })
    expect(v.problems).toEqual([{ param: 'port', keyword: 'type', expected: 'must be an integer' }])
    expect(v.unchecked.map((u) => [u.param, u.why])).toEqual([
      ['server', 'it is longer than 1000 characters'],
      ['connectionString', 'it took too long to evaluate (over 250 ms)']
    ])
  })

  it('sound patterns keep working, each judged by its own pattern', async () => {
    const schema: JsonSchema = {
      type: 'object',
      properties: {
        a: { type: 'string', pattern: '^a+$' },
        b: { type: 'string', pattern: '^b+$' }
      }
    }
    expect((await judgeParams(schema, { a: 'aaa', b: 'bbb' })).problems).toEqual([])
    const v = await judgeParams(schema, { a: 'bbb', b: 'aaa' })
    expect(v.problems.map((p) => p.expected)).toEqual([
      'must match the pattern ^a+$',
      'must match the pattern ^b+$'
    ])
    expect(v.unchecked).toEqual([])
  })
})

describe('spec text in messages: one line, bounded', () => {
  it('specText writes control, invisible and line-separator characters as \\uXXXX and breaks ##[', () => {
    expect(specText('a\nb\r\u2028c\u2029d\u0085e\u200bf\u0007g')).toBe(
      'a\\u000ab\\u000d\\u2028c\\u2029d\\u0085e\\u200bf\\u0007g'
    )
    expect(specText('##[error]x ::warning::y')).toBe('## [error]x ::warning::y')
    expect(specText('Verify Ca')).toBe('Verify Ca')
  })

  it('cut (output.ts) cuts with an ellipsis, never inside a surrogate pair', () => {
    expect(cut('abcdef', 6)).toBe('abcdef')
    expect(cut('abcdef', 4)).toBe('abc…')
    expect(cut('ab\u{1F600}cd', 4)).toBe('ab…')
  })

  it('enumList: flattened values, cut with a count when long', () => {
    expect(enumList(['A', 'B\nC', 1, true])).toBe('A, B\\u000aC, 1, true')
    const many = Array.from({ length: 500 }, (_, i) => `Mode${i}`)
    const text = enumList(many)
    expect(text.length).toBeLessThan(260)
    expect(text).toMatch(/^Mode0, Mode1, .*, … \(500 values in all\)$/)
    expect(enumList(['x'.repeat(5000)])).toBe(`${'x'.repeat(59)}…`)
  })

  it('describeProblems: the connection-string hint first, then the problems within the room given', () => {
    const problems = Array.from({ length: 30 }, (_, i) => ({
      param: `param${i}`,
      keyword: 'required',
      expected: 'is required by the connection spec but is not sent'
    }))
    const cs = { connectionString: 'Server=h;Password={a;b}' }
    const withPattern = [
      { param: 'connectionString', keyword: 'pattern', expected: `must match the pattern ^x` },
      ...problems
    ]
    const text = describeProblems(withPattern, cs, 400)
    expect(text.length).toBeLessThanOrEqual(400)
    expect(text).toMatch(
      /^a value in the connection string needed brace quoting .*auth-type: basic/
    )
    expect(text).toContain('connectionString must match the pattern ^x')
    expect(text).toMatch(/; and \d+ more problems$/)
    // However small the room, the first problem is named.
    expect(describeProblems(problems, {}, 10)).toMatch(/^param0 is required/)
    expect(describeProblems(problems.slice(0, 2), {})).toBe(
      'param0 is required by the connection spec but is not sent; param1 is required by the connection spec but is not sent'
    )
  })

  it('a long pattern and long enum are shortened in the problem itself', async () => {
    const pattern = `^(${Array.from({ length: 100 }, (_, i) => `Opt${i}`).join('|')})$`
    const schema: JsonSchema = {
      type: 'object',
      properties: {
        a: { type: 'string', pattern },
        b: { enum: Array.from({ length: 300 }, (_, i) => `Value${i}`) }
      }
    }
    const v = await judgeParams(schema, { a: 'x', b: 'y' })
    const [a, b] = v.problems
    expect(a?.expected).toBe(`must match the pattern ${pattern.slice(0, 159)}…`)
    expect(b?.expected).toMatch(/^must be one of: Value0, Value1, .*, … \(300 values in all\)$/)
    expect(b?.expected.length).toBeLessThan(260)
  })
})

describe('spec text and secrets', () => {
  it('is redacted before it is cut: an enum value holding a secret (in another case) leaves no piece', async () => {
    const sink = new RecordingSink()
    const out = new Output(sink)
    const secret = 'Enum-Secret-Passw0rd-77'
    out.secret(secret)
    const value = `${'x'.repeat(49)}${secret.toUpperCase()}`
    const spec = {
      items: [
        {
          id: SPEC_ID,
          authSpec: [
            {
              name: BASIC,
              spec: { type: 'object', properties: { sslMode: { enum: ['Require', value] } } }
            }
          ]
        }
      ]
    }
    const r = new SpecReferee({
      readSpec: async () => spec,
      log: (l) => out.info(l),
      warn: (w) => out.warning(w),
      shorten: (t, max) => out.shorten(t, max)
    })
    const e = await r
      .vet(
        buildCreateBody('orders', 'd', { specName: BASIC, params: basic({ sslMode: 'nope' }) }),
        'nothing was sent'
      )
      .catch((x: unknown) => x)
    out.fail(out.describe(e))
    const [printed] = sink.of('setFailed').map(([m]) => m)
    expect(printed).toMatch(/sslMode must be one of: Require, x+\*\*\*$/)
    const shown = secret.toUpperCase()
    for (let i = 0; i + 6 <= shown.length; i++) expect(printed).not.toContain(shown.slice(i, i + 6))
  })
})

describe('helpers', () => {
  it('usesBraceQuoting spots Key={...} in a connection string only', () => {
    expect(usesBraceQuoting({ connectionString: 'Server=h;Password={a;b}' })).toBe(true)
    expect(usesBraceQuoting({ connectionString: 'Server=h;Password=a{b' })).toBe(false)
    expect(usesBraceQuoting({ password: '{x}' })).toBe(false)
  })

  it('isUnexplained400: 400s without a known non-param cause', () => {
    expect(isUnexplained400(new ApiError('x', 400, '1400-400'))).toBe(true)
    expect(isUnexplained400(new ApiError('x', 400, '1455-400'))).toBe(true)
    expect(isUnexplained400(new ApiError('x', 400))).toBe(true)
    expect(isUnexplained400(new ApiError('x', 400, '1415-400'))).toBe(true)
    expect(isUnexplained400(new ApiError('x', 400, '1403-400'))).toBe(false)
    expect(isUnexplained400(new ApiError('x', 400, '1445-400'))).toBe(false)
    expect(isUnexplained400(new ApiError('x', 400, '400003'))).toBe(false)
    expect(isUnexplained400(new ApiError('x', 500))).toBe(false)
    expect(isUnexplained400(new ActionError('x'))).toBe(false)
  })

  it('withBody recomputes the PATCH from the new params', () => {
    const body = buildCreateBody('n', 'd', { specName: BASIC, params: basic() })
    const existing = { id: 'c1', description: 'd', etag: '"e"' }
    const plan = withBody(
      { kind: 'update', existing, ops: [], body },
      { ...body, auth: { specName: BASIC, params: basic({ port: 5433 }) } }
    )
    expect(plan.kind === 'update' && plan.ops).toEqual([
      { op: 'replace', path: '/auth/params', value: basic({ port: 5433 }) }
    ])
  })
})

describe('SpecReferee', () => {
  const body = (params: AuthParams = basic({ sslMode: 'Verify-Ca' })): CreateBody =>
    buildCreateBody('orders', 'd', { specName: BASIC, params })

  function referee(readSpec: () => Promise<unknown>) {
    const log: string[] = []
    const warnings: string[] = []
    const r = new SpecReferee({
      readSpec,
      log: (l) => log.push(l),
      warn: (w) => warnings.push(w)
    })
    return { r, log, warnings }
  }
  const serving =
    (variant: SpecVariant = {}) =>
    async () =>
      reply(variant)
  const refused400 = () =>
    new ApiError(
      'creating the connection failed: HTTP 400 1400-400 Invalid request',
      400,
      '1400-400'
    )

  it('vet: reads the spec once, returns the reshaped body and says what changed', async () => {
    const { r, log } = referee(serving({ portInteger: true, sslModeSpaces: true }))
    const vetted = await r.vet(body(), 'nothing was sent')
    expect(vetted.auth.params).toEqual(basic({ port: 5433, sslMode: 'Verify Ca' }))
    await r.vet(body(), 'nothing was sent')
    expect(r.reads).toBe(1)
    expect(log[0]).toBe(
      `Reshaped to match Flow Service's live connection spec for "${BASIC}": port (string -> integer), sslMode (matched the allowed value "Verify Ca")`
    )
  })

  it('vet: a mismatch throws naming the param and the allowed values, never the password', async () => {
    const { r } = referee(serving({ withoutRequire: true }))
    const e = await r
      .vet(body(basic({ sslMode: 'Require' })), 'nothing was sent')
      .catch((x: unknown) => x)
    expect(e).toBeInstanceOf(ActionError)
    expect((e as Error).message).toBe(
      `the auth params do not match Flow Service's live connection spec for "${BASIC}" (nothing was sent): sslMode must be one of: Disable, Allow, Prefer, Verify-Ca, Verify-Full`
    )
  })

  it.each([
    [
      'the spec cannot be read (403)',
      async () => {
        throw new ApiError('reading the connection spec failed: HTTP 403', 403)
      },
      /HTTP 403/
    ],
    ['no schema for the auth type', serving({ withoutSchemaFor: [BASIC] }), /has no schema/],
    ['a reply that is not a spec', async () => ['x'], /not a connection spec list/],
    [
      'a schema that does not compile',
      async () => ({
        items: [
          {
            id: SPEC_ID,
            authSpec: [{ name: BASIC, spec: { properties: { port: { pattern: '(' } } } }]
          }
        ]
      }),
      /could not be compiled/
    ]
  ])(
    'vet: unavailable referee (%s) is a warning and the body goes on unchanged',
    async (_what, readSpec, why) => {
      const { r, warnings } = referee(readSpec)
      const b = body()
      expect(await r.vet(b, 'nothing was sent')).toBe(b)
      expect(warnings).toHaveLength(1)
      expect(warnings[0]).toMatch(why)
      expect(warnings[0]).toMatch(/going on without that check/)
    }
  )

  it('vet: an error that is not an ActionError (the deadline) still ends the step', async () => {
    const { r } = referee(async () => {
      throw new Error('the step ran out of time')
    })
    await expect(r.vet(body(), 'x')).rejects.toThrow('the step ran out of time')
  })

  it('guard: the happy path sends once and reads no spec', async () => {
    const reads: number[] = []
    const { r } = referee(async () => reads.push(1))
    const sent: CreateBody[] = []
    expect(await r.guard(body(), async (b) => sent.push(b))).toBe(1)
    expect(reads).toEqual([])
    expect(r.reads).toBe(0)
  })

  it('guard: an unexplained 400 that reshaping fixes is sent once more with the reshaped params', async () => {
    const { r, log } = referee(serving({ portInteger: true, sslModeSpaces: true }))
    const sent: CreateBody[] = []
    const result = await r.guard(body(), async (b) => {
      sent.push(b)
      if (sent.length === 1) throw refused400()
      return 'created'
    })
    expect(result).toBe('created')
    expect(sent.map((b) => b.auth.params.port)).toEqual(['5433', 5433])
    expect(sent[1]?.auth.params.sslMode).toBe('Verify Ca')
    expect(r.reads).toBe(1)
    expect(log[0]).toMatch(
      /refused the auth params \(HTTP 400\); reshaped .* port \(string -> integer\).*Sending once more$/
    )
  })

  it('guard: a second 400 after the reshaped retry is not retried again', async () => {
    const { r } = referee(serving({ portInteger: true }))
    let sends = 0
    await expect(
      r.guard(body(), async () => {
        sends++
        throw refused400()
      })
    ).rejects.toThrow(/HTTP 400/)
    expect(sends).toBe(2)
  })

  it('guard: a mismatch fails with the refusal and what the spec says', async () => {
    const { r } = referee(serving({ withoutRequire: true }))
    const e = await r
      .guard(body(basic({ sslMode: 'Require' })), async () => {
        throw refused400()
      })
      .catch((x: unknown) => x)
    expect(e).toBeInstanceOf(ApiError)
    expect((e as ApiError).status).toBe(400)
    expect((e as Error).message).toMatch(
      /HTTP 400 1400-400 Invalid request\. Flow Service's live connection spec for "Basic Authentication" says: sslMode must be one of: Disable, Allow, Prefer, Verify-Ca, Verify-Full$/
    )
  })

  it('guard: params that match leave the refusal standing, saying so; an unreadable spec warns', async () => {
    const ok = referee(serving())
    await expect(
      ok.r.guard(body(), async () => {
        throw refused400()
      })
    ).rejects.toThrow(/the auth params match .* so the spec does not explain it/)
    const down = referee(async () => {
      throw new ApiError('reading the connection spec failed: HTTP 503', 503)
    })
    await expect(
      down.r.guard(body(), async () => {
        throw refused400()
      })
    ).rejects.toThrow('creating the connection failed: HTTP 400 1400-400 Invalid request')
    expect(down.warnings[0]).toMatch(/HTTP 503/)
  })

  it.each([
    [
      'a schema that refers to itself',
      serving({}),
      { allOf: [{ $ref: '#/properties/sslMode' }] },
      /its schema could not be evaluated \(Maximum call stack size exceeded\)/
    ],
    [
      'a referee that fails in a way of its own',
      async () => {
        throw new TypeError('not a function')
      },
      undefined,
      /it could not be consulted/
    ]
  ])('guard: %s leaves the refusal exactly as it was', async (_what, read, sslMode, why) => {
    const { r, warnings } = referee(async () => {
      const spec = await read()
      if (!sslMode) return spec
      const reply = spec as { items: Array<{ authSpec: Array<{ spec: JsonSchema }> }> }
      for (const a of reply.items[0]?.authSpec ?? [])
        (a.spec.properties as Record<string, unknown>).sslMode = sslMode
      return reply
    })
    const refusal = refused400()
    const e = await r
      .guard(body(), async () => {
        throw refusal
      })
      .catch((x: unknown) => x)
    expect(e).toBe(refusal)
    expect(warnings).toEqual([expect.stringMatching(why)])
  })

  it('the unavailable warning is given once per run, however often the spec is consulted', async () => {
    const { r, warnings } = referee(async () => {
      throw new ApiError('reading the connection spec failed: HTTP 404', 404)
    })
    await r.vet(body(), 'nothing was sent')
    await expect(
      r.guard(body(), async () => {
        throw refused400()
      })
    ).rejects.toThrow(/HTTP 400/)
    expect(r.reads).toBe(1)
    expect(warnings).toHaveLength(1)
  })

  it('a pattern that cannot be evaluated: one warning naming the param, and the check goes on', async () => {
    const spec = {
      items: [
        {
          id: SPEC_ID,
          authSpec: [
            {
              name: CS_AUTH,
              spec: {
                type: 'object',
                properties: { connectionString: { type: 'string', pattern: '^(([^#])+)+#$' } }
              }
            }
          ]
        }
      ]
    }
    const { r, warnings, log } = referee(async () => spec)
    const b = buildCreateBody('orders', 'd', {
      specName: CS_AUTH,
      params: {
        connectionString: 'Server=db.example.com;Database=orders;Port=5433;UID=u;Password=p'
      }
    })
    expect(await r.vet(b, 'nothing was sent')).toBe(b)
    expect(await r.vet(b, 'nothing was sent')).toBe(b)
    expect(warnings).toEqual([
      "could not check connectionString against the connection spec's pattern (it took too long to evaluate (over 250 ms)); going on without that rule"
    ])
    expect(log[0]).toMatch(/match .* \(apart from the rules it could not check\)$/)
  })

  it('guard: a mismatch after a long refusal still fits in 1000 characters, the verdict whole', async () => {
    const { r } = referee(serving({ withoutRequire: true }))
    const long = new ApiError(
      `creating the connection failed: HTTP 400 1400-400 ${'x'.repeat(300)} (request id ${'r'.repeat(36)}) — ${'h'.repeat(150)}`,
      400,
      '1400-400'
    )
    const e = await r
      .guard(body(basic({ sslMode: 'Require' })), async () => {
        throw long
      })
      .catch((x: unknown) => x as Error)
    expect(e.message.length).toBeLessThanOrEqual(1000)
    expect(e.message).toMatch(
      /says: sslMode must be one of: Disable, Allow, Prefer, Verify-Ca, Verify-Full$/
    )
  })

  it('guard: explained 400s and other errors pass through without a spec read', async () => {
    const { r } = referee(serving())
    for (const e of [
      new ApiError('x', 400, '1403-400'),
      new ApiError('y', 412, '1404-412'),
      new ActionError('z')
    ])
      await expect(
        r.guard(body(), async () => {
          throw e
        })
      ).rejects.toBe(e)
    expect(r.reads).toBe(0)
  })
})
