import { describe, it, expect, afterAll } from '@jest/globals'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { githubContext } from '../src/platform/provenance.js'

// The action reads the run context itself so the bundle does not load Octokit. These are the
// rules of @actions/github 9.1.1's Context (lib/context.js): each field straight from its
// GITHUB_* variable, ids through parseInt (NaN when unset), GITHUB_SERVER_URL defaulting to
// https://github.com, the payload parsed from GITHUB_EVENT_PATH, and a missing event file
// reported (as a log line) with an empty payload.
const dir = mkdtempSync(path.join(tmpdir(), 'github-context-'))
const eventPath = path.join(dir, 'event.json')
writeFileSync(eventPath, JSON.stringify({ deployment: { environment: 'production' }, ref: 'x' }))
const env = {
  GITHUB_EVENT_PATH: eventPath,
  GITHUB_EVENT_NAME: 'deployment',
  GITHUB_WORKFLOW: 'Deploy "AEP" <prod>',
  GITHUB_RUN_ID: '987654321',
  GITHUB_RUN_ATTEMPT: '2',
  GITHUB_SERVER_URL: 'https://github.example.com',
  GITHUB_REF: 'refs/heads/release/2026-11',
  GITHUB_REPOSITORY: 'acme/warehouse'
}

afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('githubContext() reads the run context as @actions/github does', () => {
  it('has the workflow, run id, attempt, server URL, ref and payload', () => {
    const ours = githubContext(env)
    expect(ours.workflow).toBe('Deploy "AEP" <prod>')
    expect(ours.runId).toBe(987654321)
    expect(ours.runAttempt).toBe(2)
    expect(ours.serverUrl).toBe('https://github.example.com')
    expect(ours.ref).toBe('refs/heads/release/2026-11')
    expect(ours.payload).toEqual({ deployment: { environment: 'production' }, ref: 'x' })
  })

  it('parses ids with parseInt: NaN when unset, leading digits otherwise', () => {
    expect(githubContext({}).runId).toBeNaN()
    expect(githubContext({}).runAttempt).toBeNaN()
    expect(githubContext({ GITHUB_RUN_ID: '42abc' }).runId).toBe(42)
  })

  it('defaults the server URL to https://github.com when GITHUB_SERVER_URL is unset', () => {
    const { GITHUB_SERVER_URL: _unset, ...rest } = env
    expect(githubContext(rest).serverUrl).toBe('https://github.com')
  })

  it('an unset or missing event file gives an empty payload; a missing one is reported', () => {
    expect(githubContext({}).payload).toEqual({})
    // Reported through the log callback (the step prints only through src/output.ts).
    const lines: string[] = []
    const missing = path.join(dir, 'nope.json')
    expect(githubContext({ GITHUB_EVENT_PATH: missing }, (l) => lines.push(l)).payload).toEqual({})
    expect(lines).toEqual([`GITHUB_EVENT_PATH ${missing} does not exist`])
  })
})
