import { describe, it, expect } from '@jest/globals'
import { epochSeconds, INPUT_NAMES, parseInputs, type RawInputs } from '../src/dataflow/inputs.js'
import { InputError } from '../src/platform/errors.js'

const base: Partial<RawInputs> = {
  'client-id': 'cid',
  'access-token': 'tok',
  'ims-org-id': 'ORG@AdobeOrg',
  'sandbox-name': 'prod',
  'dataflow-name': 'orders',
  'base-connection-id': 'conn-1',
  table: 'public.orders',
  'dataset-id': 'ds-1',
  mapping: 'aep/orders.yml',
  'delta-column': 'updated_at'
}

function problems(extra: Partial<RawInputs>): Array<[string, string]> {
  try {
    parseInputs({ ...base, ...extra })
  } catch (e) {
    if (e instanceof InputError) return e.problems.map((p) => [p.input, p.message])
    throw e
  }
  return []
}

describe('the dataflow action’s inputs', () => {
  it('valid inputs give the settings, with the defaults', () => {
    const s = parseInputs(base)
    expect(s).toMatchObject({
      dataflowName: 'orders',
      baseConnectionId: 'conn-1',
      table: 'public.orders',
      dataset: { id: 'ds-1' },
      mappingPath: 'aep/orders.yml',
      deltaColumn: 'updated_at',
      schedule: { frequency: 'day', interval: 1, backfill: true },
      enabled: true,
      ifExists: 'update',
      state: 'present',
      dryRun: false
    })
  })

  it.each([
    [
      { frequency: 'daily' },
      'frequency',
      'frequency must be one of: once, minute, hour, day, week'
    ],
    [
      { frequency: 'minute' },
      'interval',
      'interval must be at least 15 with frequency minute (it defaults to 1)'
    ],
    [
      { frequency: 'minute', interval: '10' },
      'interval',
      'interval must be at least 15 with frequency minute'
    ],
    [{ interval: '0' }, 'interval', 'interval must be at least 1 with frequency day'],
    [{ interval: 'two' }, 'interval', 'interval must be a whole number'],
    [
      { frequency: 'once', interval: '2', 'delta-column': '' },
      'interval',
      'interval is not allowed with frequency once'
    ],
    [
      { frequency: 'once', backfill: 'false', 'delta-column': '' },
      'backfill',
      'backfill is not allowed with frequency once'
    ],
    [
      { 'delta-column': '' },
      'delta-column',
      'delta-column is required with frequency day (only once runs without one)'
    ],
    [{ mapping: '' }, 'mapping', 'mapping is required with state present'],
    [{ table: '' }, 'table', 'table is required with state present'],
    [
      { 'base-connection-id': '' },
      'base-connection-id',
      'base-connection-id is required with state present'
    ],
    [
      { 'base-connection-id': '../x' },
      'base-connection-id',
      'base-connection-id must be an id (letters, digits, - and _, at most 128), as the connection action gives it'
    ],
    [
      { 'dataset-id': '' },
      'dataset-id',
      'dataset-id or dataset-name is required with state present'
    ],
    [
      { 'dataset-name': 'orders ds' },
      'dataset-name',
      'give either dataset-id or dataset-name, not both'
    ],
    [{ backfill: 'yes' }, 'backfill', 'backfill must be true or false'],
    [{ enabled: 'on' }, 'enabled', 'enabled must be true or false'],
    [
      { 'start-time': 'tomorrow' },
      'start-time',
      'start-time must be epoch seconds or an ISO-8601 date-time with a zone (e.g. 2027-01-31T06:00:00Z)'
    ],
    [
      { 'start-time': '2027-01-31T06:00:00' },
      'start-time',
      'start-time must be epoch seconds or an ISO-8601 date-time with a zone (e.g. 2027-01-31T06:00:00Z)'
    ],
    [
      { 'dataflow-name': 'x'.repeat(249) },
      'dataflow-name',
      'dataflow-name must be at most 248 characters (its connections add " target")'
    ],
    [
      { 'dataflow-name': 'a\nb' },
      'dataflow-name',
      'dataflow-name must not contain control characters'
    ]
  ])('%j: names %s', (extra, input, message) => {
    expect(problems(extra as Partial<RawInputs>)).toContainEqual([input, message])
  })

  it('once: no interval, no backfill, no delta column needed', () => {
    const s = parseInputs({ ...base, frequency: 'once', 'delta-column': '' })
    expect(s.schedule).toEqual({ frequency: 'once' })
  })

  it('minute with 15; start-time as ISO or epoch seconds', () => {
    expect(parseInputs({ ...base, frequency: 'MINUTE', interval: '15' }).schedule).toEqual({
      frequency: 'minute',
      interval: 15,
      backfill: true
    })
    expect(epochSeconds('2027-01-31T06:00:00Z')).toBe(1801375200)
    expect(epochSeconds('2027-01-31T07:00:00+01:00')).toBe(1801375200)
    expect(epochSeconds('1801375200')).toBe(1801375200)
    expect(parseInputs({ ...base, 'start-time': '1801375200' }).schedule).toMatchObject({
      startTime: 1801375200
    })
  })

  it('state absent needs only the name', () => {
    const s = parseInputs({
      'client-id': 'cid',
      'access-token': 'tok',
      'ims-org-id': 'ORG@AdobeOrg',
      'sandbox-name': 'prod',
      'dataflow-name': 'orders',
      state: 'absent'
    })
    expect(s.state).toBe('absent')
  })

  it('every problem at once, before anything is sent', () => {
    const found = problems({ frequency: 'daily', mapping: '', 'client-id': '' })
    expect(found.map(([i]) => i)).toEqual(
      expect.arrayContaining(['frequency', 'mapping', 'client-id'])
    )
  })

  it('a frequency that is none of them is named once, its value in no other message', () => {
    const value = 'Postgres password=hunter2'
    expect(problems({ frequency: value, interval: '0', 'delta-column': '' })).toEqual([
      ['frequency', 'frequency must be one of: once, minute, hour, day, week']
    ])
  })

  it('declares its inputs in action.yml’s order', () => {
    expect(INPUT_NAMES[8]).toBe('dataflow-name')
    expect(INPUT_NAMES.at(-1)).toBe('max-attempts')
  })
})
