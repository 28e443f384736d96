import { describe, it, expect } from '@jest/globals'
import { parseInputs as parseDataflow } from '../src/dataflow/inputs.js'
import { InputError } from '../src/platform/errors.js'
import {
  also,
  bool,
  inputsSchema,
  intIn,
  oneOf,
  Problems,
  text,
  type Check
} from '../src/platform/inputs.js'

/*
 * inputsSchema: each input's check runs in one zod parse. What the per-field zod schemas it
 * replaced gave must still hold: every problem at once, each at its input, two messages for an
 * input breaking two rules, typed values.
 */

describe('inputsSchema', () => {
  const checks = {
    name: text('name', 5, true),
    retries: intIn('retries', 1, 9),
    fast: bool('fast'),
    mode: oneOf('mode', ['a', 'b']),
    token: ((v) =>
      v.includes(' ') ? new Problems(['token must not hold spaces']) : v) as Check<string>
  }

  it('gives each check’s value, typed', () => {
    const parsed = inputsSchema(checks).safeParse({
      name: 'abc',
      retries: '3',
      fast: 'TRUE',
      mode: 'b',
      token: 't'
    })
    expect(parsed.success && parsed.data).toEqual({
      name: 'abc',
      retries: 3,
      fast: true,
      mode: 'b',
      token: 't'
    })
  })

  it('reports every problem at once, each at its input, in the order of the checks', () => {
    const parsed = inputsSchema(checks).safeParse({
      name: '',
      retries: '10',
      fast: 'yes',
      mode: 'c',
      token: 'a b'
    })
    expect(parsed.success).toBe(false)
    expect(parsed.error?.issues.map((i) => [i.path, i.message])).toEqual([
      [['name'], 'name is required'],
      [['retries'], 'retries must be a whole number from 1 to 9'],
      [['fast'], 'fast must be true or false'],
      [['mode'], 'mode must be one of: a, b'],
      [['token'], 'token must not hold spaces']
    ])
  })
})

describe('also: an input breaking two rules gets both messages', () => {
  const check = also(text('title', 5, false), (v) =>
    v.startsWith('x') ? 'title must not start with x' : undefined
  )
  it('both rules broken', () => {
    expect(check('xxxxxxx')).toEqual(
      new Problems(['title must be at most 5 characters', 'title must not start with x'])
    )
  })
  it('one rule broken, then the other', () => {
    expect(check('abcdefg')).toEqual(new Problems(['title must be at most 5 characters']))
    expect(check('xy')).toEqual(new Problems(['title must not start with x']))
    expect(check('ok')).toBe('ok')
  })

  it('in an action: a dataflow-name over 255 characters breaks both of its length rules', () => {
    let problems: Array<[string, string]> = []
    try {
      parseDataflow({
        'client-id': 'c',
        'access-token': 't',
        'ims-org-id': 'ABC@AdobeOrg',
        'sandbox-name': 'dev',
        'dataflow-name': 'n'.repeat(300),
        state: 'absent'
      })
    } catch (e) {
      if (e instanceof InputError) problems = e.problems.map((p) => [p.input, p.message])
    }
    expect(problems).toEqual([
      ['dataflow-name', 'dataflow-name must be at most 255 characters'],
      [
        'dataflow-name',
        'dataflow-name must be at most 248 characters (its connections add " target")'
      ]
    ])
  })
})
