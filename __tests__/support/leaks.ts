/**
 * Secret-leak and mask-order checks for end-to-end runs of the action (see run-action.js).
 * Not a test file: imported by the e2e tests.
 */
import type { ActionRun } from '../../simulator/run-action.js'
import type { Simulator } from '../../simulator/server.js'

const MASK = '::add-mask::'
const DEBUG = '::debug::'

/** Every printable form of a secret that must never show up: raw, JSON, URI, form, base64. */
export function secretForms(secret: string): Array<{ form: string; text: string }> {
  const forms = [
    { form: 'raw', text: secret },
    { form: 'json-escaped', text: JSON.stringify(secret).slice(1, -1) },
    { form: 'encodeURIComponent', text: encodeURIComponent(secret) },
    { form: 'form-encoded', text: new URLSearchParams({ v: secret }).toString().slice(2) },
    { form: 'base64', text: Buffer.from(secret, 'utf8').toString('base64') },
    { form: 'base64url', text: Buffer.from(secret, 'utf8').toString('base64url') }
  ]
  const seen = new Set<string>()
  return forms.filter((f) => f.text.length > 0 && !seen.has(f.text) && seen.add(f.text))
}

/**
 * Asserts that no secret (in any form of secretForms) appears in the run's stdout or stderr
 * (ignoring `::add-mask::` lines, whose job is to carry it to the runner), in the job summary,
 * or in any output. Empty or undefined secrets are skipped. The failure message names the
 * secret by index and shows the offending line with the secret replaced, never the secret.
 */
export function expectNoLeaks(run: ActionRun, secrets: ReadonlyArray<string | undefined>): void {
  const places: Array<[where: string, lines: string[]]> = [
    ['stdout', run.stdout.split(/\r?\n/).filter((l) => !l.startsWith(MASK))],
    ['stderr', run.stderr.split(/\r?\n/).filter((l) => !l.startsWith(MASK))],
    ['summary', run.summary.split(/\r?\n/)],
    ...Object.entries(run.outputs).map(
      ([name, value]) => [`output ${name}`, value.split(/\r?\n/)] as [string, string[]]
    )
  ]
  const leaks: string[] = []
  secrets.forEach((secret, index) => {
    if (!secret) return
    for (const { form, text } of secretForms(secret))
      for (const [where, lines] of places)
        for (const line of lines)
          if (line.includes(text))
            leaks.push(`secret #${index} (${form}) in ${where}: ${line.split(text).join('[LEAK]')}`)
  })
  if (leaks.length > 0)
    throw new Error(`${leaks.length} secret leak(s):\n  ${leaks.slice(0, 10).join('\n  ')}`)
}

/**
 * Asserts that every `::add-mask::` line comes before the first line that is neither a mask
 * nor a debug line, so the runner knows every secret before the step says anything.
 */
export function expectMasksFirst(run: ActionRun): void {
  const firstSaid = run.lines.findIndex((l) => !l.startsWith(MASK) && !l.startsWith(DEBUG))
  if (firstSaid === -1) return
  const late = run.lines
    .map((l, i) => ({ l, i }))
    .filter(({ l, i }) => i > firstSaid && l.startsWith(MASK))
  if (late.length > 0)
    throw new Error(
      `${late.length} ::add-mask:: line(s) after the first log line (line ${firstSaid + 1}: ` +
        `${JSON.stringify(run.lines[firstSaid])}); first late mask at line ${(late[0]?.i ?? 0) + 1}`
    )
}

/**
 * The secrets the simulator saw during a run: every bearer token sent to Flow Service or
 * issued by IMS, and every stored connection string and password.
 */
export function simulatorSecrets(sim: Simulator): string[] {
  const out = new Set<string>()
  for (const r of sim.requests) {
    const m = /^Bearer\s+(\S+)/i.exec(r.headers.authorization ?? '')
    if (m?.[1]) out.add(m[1])
  }
  for (const c of sim.connections()) {
    for (const key of ['connectionString', 'password']) {
      const v = c.auth.params[key]
      if (typeof v === 'string' && v) out.add(v)
    }
  }
  return [...out]
}

/** Bearer tokens (distinct, in order) carried by the Flow Service requests. */
export function flowTokens(sim: Simulator): string[] {
  const out: string[] = []
  for (const r of sim.requests)
    if (r.service === 'flow') {
      const t = /^Bearer\s+(\S+)/i.exec(r.headers.authorization ?? '')?.[1]
      if (t && !out.includes(t)) out.push(t)
    }
  return out
}
