import { describe, it, expect, afterAll } from '@jest/globals'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { githubContext } from '../src/provenance.js'

// The action reads the run context itself so the bundle does not load Octokit; this checks it
// stays field for field what @actions/github's `context` would give for the same environment.
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
Object.assign(process.env, env)
// Imported only now: @actions/github builds its context from the environment at import time.
const { context } = await import('@actions/github')

afterAll(() => {
  for (const key of Object.keys(env)) delete process.env[key]
  rmSync(dir, { recursive: true, force: true })
})

describe('githubContext() mirrors @actions/github context', () => {
  it('has the same workflow, run id, attempt, server URL, ref and payload', () => {
    const ours = githubContext(process.env)
    expect(ours.workflow).toBe(context.workflow)
    expect(ours.runId).toBe(context.runId)
    expect(ours.runAttempt).toBe(context.runAttempt)
    expect(ours.serverUrl).toBe(context.serverUrl)
    expect(ours.ref).toBe(context.ref)
    expect(ours.payload).toEqual(context.payload)
    // And the values are the real ones, not both empty.
    expect(ours.runId).toBe(987654321)
    expect(ours.payload).toEqual({ deployment: { environment: 'production' }, ref: 'x' })
  })

  it('defaults the server URL the same way when GITHUB_SERVER_URL is unset', () => {
    const { GITHUB_SERVER_URL: _unset, ...rest } = env
    expect(githubContext(rest).serverUrl).toBe('https://github.com')
  })
})
