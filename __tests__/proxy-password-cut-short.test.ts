/**
 * A proxy password is redacted as a single secret: a server that echoes only the start of it (or
 * cuts a long one where the output path cuts long text) shows none of it, as for the action's own
 * secret inputs. It was registered only within the proxy URL and user:password, so its echo cut
 * short was printed.
 */
import { describe, it, expect } from '@jest/globals'
import { Output } from '../src/platform/output.js'
import { proxyPasswords } from '../src/platform/proxy.js'
import { readInputs } from '../src/platform/secrets.js'
import { fakeCore } from './support/fake-core.js'

const PASSWORD = 'Pr0xy-Pa55word-Example-42'

describe('proxy passwords', () => {
  it('proxyPasswords gives the password as given and decoded, or the user name without one', () => {
    expect(proxyPasswords({ HTTPS_PROXY: 'http://svc:p%40ss%3Aw0rd@proxy.corp:3128' })).toEqual([
      'p%40ss%3Aw0rd',
      'p@ss:w0rd'
    ])
    expect(proxyPasswords({ HTTPS_PROXY: 'http://t0ken-only@proxy.corp:3128' })).toEqual([
      't0ken-only'
    ])
    expect(proxyPasswords({ HTTPS_PROXY: 'http://proxy.corp:3128' })).toEqual([])
  })

  it.each([
    ['its first 18 characters', PASSWORD.slice(0, 18)],
    ['its last 14 characters', PASSWORD.slice(-14)],
    ['its middle, upper-cased', PASSWORD.slice(4, 20).toUpperCase()]
  ])('a server echoing %s shows none of it', (_, echo) => {
    const c = fakeCore({})
    const out = new Output(c)
    readInputs(c, { HTTPS_PROXY: `http://user:${PASSWORD}@proxy.corp:3128` }, out, {
      names: [],
      secrets: []
    })
    out.info(`proxy refused: ${echo} is not valid`)
    const line = c.lines('info').at(-1) ?? ''
    expect(line).toMatch(/^proxy refused: /)
    expect(line).not.toContain(echo)
    expect(line.toLowerCase()).not.toContain(PASSWORD.slice(4, 16).toLowerCase())
  })
})
