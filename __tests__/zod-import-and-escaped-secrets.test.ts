/**
 * Two guards the start-up work relies on: the lint keeps src/platform/zod.ts the one import of zod
 * (by any specifier, also a dynamic import), and a secret a served spec's pattern echoes escaped
 * for a regular expression is redacted (a process, with the runner's masking).
 */
import { describe, it, expect } from '@jest/globals'
import { ESLint } from 'eslint'
import path from 'node:path'
import { startSimulator } from '../simulator/server.js'
import { defaultEntry, repoRoot, runAction } from '../simulator/run-action.js'
import { runnerView } from './support/leaks.js'
import { adobeInputs } from './support/sim-inputs.js'

/*
 * "src/platform/zod.ts, the one import of zod, enforced by lint" (213f24a, cb59963): the
 * rule in eslint.config.js names only the bare specifier 'zod'. zod 4 exports the same API under
 * 'zod/v4', 'zod/mini', 'zod/v4/core' (package.json exports), and a dynamic import('zod') is not
 * an import declaration: each passes the lint, so a module can build schemas with zod's JIT on
 * (before zod.ts's config has run) or pull in zod's `z` object (all of zod, the +0.48 MB the port
 * removed) without the lint saying anything.
 */
describe('the lint keeps zod.ts the one import of zod', () => {
  const eslint = new ESLint({ cwd: repoRoot })
  const zodProblems = async (file: string, code: string) => {
    const [result] = await eslint.lintText(code, { filePath: path.join(repoRoot, file) })
    return (result?.messages ?? [])
      .filter(
        (m) =>
          (m.ruleId === 'no-restricted-imports' || m.ruleId === 'no-restricted-syntax') &&
          /zod/.test(m.message)
      )
      .map((m) => m.message)
  }

  it('the bare specifier is refused (the rule works for it)', async () => {
    expect(
      await zodProblems(
        'src/connection/planted.ts',
        "import { z } from 'zod'\nexport const s = z.string()\n"
      )
    ).toHaveLength(1)
  })

  it.each([
    ['src/connection/planted.ts', "import { z } from 'zod/v4'\nexport const s = z.string()\n"],
    ['src/dataflow/planted.ts', "import * as m from 'zod/mini'\nexport const s = m.string()\n"],
    [
      'src/platform/planted.ts',
      "import * as core from 'zod/v4/core'\nexport const c = core.config\n"
    ],
    ['src/connection/planted.ts', "export const load = () => import('zod')\n"]
  ])('%s: %j is refused as an import of zod other than platform/zod.ts', async (file, code) => {
    expect(await zodProblems(file, code)).toHaveLength(1)
  })
})

/*
 * The
 * referee prints a failed `pattern` rule as the spec serves it. A spec that echoes the password
 * into a pattern, as any regex escaper writes it (\. \+ \$ \( \)), reaches the runner's log
 * readable: neither the action's masker (no decoded view undoes regex escapes) nor the runner
 * (exact registered strings only) masks it, and leaks.ts's 12-character windows do not see it
 * either, the escapes breaking every run of the secret into short pieces.
 */
describe('the referee never shows the password a spec pattern echoes, escaped', () => {
  const PASSWORD = 'pw.Atk5+Secret$9(qZx)'
  const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  const unescapeRegExp = (s: string) => s.replace(/\\(.)/g, '$1')

  it.each([
    ['validate-spec', { 'validate-spec': 'true' }],
    ['dry-run', { 'dry-run': 'true' }]
  ])(
    '%s: the runner shows no line holding the password once regex escapes are read',
    async (_what, extra) => {
      const sim = await startSimulator()
      try {
        sim.inject({
          times: Infinity,
          match: { method: 'GET', path: /\/connectionSpecs\// },
          action: {
            type: 'rewrite',
            edit: (reply) => {
              const r = reply as {
                items?: Array<{
                  authSpec?: Array<{
                    spec?: { properties?: Record<string, Record<string, unknown>> }
                  }>
                }>
              }
              for (const item of r.items ?? [])
                for (const auth of item.authSpec ?? []) {
                  const password = auth.spec?.properties?.password
                  if (password) password.pattern = `^${escapeRegExp(PASSWORD)}-old$`
                }
              return r
            }
          }
        })
        const run = await runAction({
          inputs: {
            ...adobeInputs(sim, 'prod', { 'client-secret': sim.clientSecret }),
            'connection-name': 'atk5-escaped-echo',
            'auth-type': 'basic',
            server: 'db.example.com',
            port: '5433',
            database: 'orders',
            username: 'etl',
            password: PASSWORD,
            ...extra
          },
          entry: defaultEntry,
          timeoutMs: 30_000
        })
        // The referee was consulted and ruled on the pattern (the scenario took place).
        expect(run.lines.join('\n')).toMatch(/password must match the pattern/)
        const shown = runnerView(run).lines.filter((l) => unescapeRegExp(l).includes(PASSWORD))
        expect(shown).toEqual([])
      } finally {
        await sim.close()
      }
    },
    60_000
  )
})
