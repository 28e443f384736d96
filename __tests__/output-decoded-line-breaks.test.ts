/**
 * A decoded view the second (joined) redaction in guard() adopts may hold a line break again (an
 * escaped one decoded): the printed line stays one inert line, so the runner never reads the
 * text after it as a line of its own (a workflow command).
 */
import { describe, it, expect } from '@jest/globals'
import { Output, type OutputSink } from '../src/platform/output.js'
import { forgedCommands } from './support/leaks.js'
import { runHostile, parts, withSim, SANDBOX } from './support/hostile.js'

const PASSWORD = 'pw-Inject-7Rq2x'

function recorder(): { sink: OutputSink; lines: string[] } {
  const lines: string[] = []
  const sink = {
    setSecret: () => undefined,
    info: (m: string) => lines.push(m),
    debug: (m: string) => lines.push(`::debug::${m}`),
    warning: (m: string) => lines.push(`::warning::${m}`),
    error: (m: string) => lines.push(`::error::${m}`),
    setFailed: (m: string) => lines.push(`::error::${m}`),
    setOutput: () => undefined,
    startGroup: () => undefined,
    endGroup: () => undefined,
    summary: {} as OutputSink['summary']
  } as OutputSink
  return { sink, lines }
}

describe('a line break a decoded view brings back is never printed as one', () => {
  it.each([
    ['JSON \\n', `${PASSWORD.slice(0, 8)}\\n::error title=Security::INJ forged`],
    ['percent %0A', `${PASSWORD.slice(0, 8)}%0A::error::INJ forged`],
    ['HTML &#10;', `${PASSWORD.slice(0, 8)}&#10;::add-mask::INJ`],
    ['QP =0A', `${PASSWORD.slice(0, 8)}=0A::warning::INJ`]
  ])('info() of server text with a piece of a secret before an encoded %s', (_, payload) => {
    const { sink, lines } = recorder()
    const out = new Output(sink)
    out.secret(PASSWORD)
    out.info(`waiting for the connection: connection abc is "${payload}"; checking again in 1.0 s`)
    // The printed line must hold no raw line break (core.info writes it as it is).
    expect(lines.filter((l) => /\n/.test(l))).toEqual([])
  })

  it('in-process: a connection state from Flow Service forges ::error through the settle log line', () =>
    withSim({}, async (sim) => {
      sim.seedConnection(SANDBOX, {
        name: 'injection',
        state: `${PASSWORD.slice(0, 8)}\\n::error title=Security::INJ forged`,
        transition: { afterMs: 1500, to: 'enabled' }
      })
      const r = await runHostile(sim, 'injection', parts(PASSWORD))
      expect(forgedCommands(r, 'INJ')).toEqual([])
    }))
})
