import { describe, it, expect } from '@jest/globals'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import {
  defaultDescription,
  githubContext,
  runContext,
  runUrl,
  safe,
  type GithubContextLike,
  type RunContext
} from '../src/platform/provenance.js'

const full: RunContext = {
  repository: 'octo-org/orders.service',
  workflow: 'Deploy sources',
  runId: 987654321,
  runAttempt: 2,
  serverUrl: 'https://github.com',
  ref: 'refs/heads/main',
  environment: 'production'
}

function gh(extra: Partial<GithubContextLike> = {}): GithubContextLike {
  return {
    workflow: 'Deploy sources',
    runId: 987654321,
    runAttempt: 2,
    serverUrl: 'https://github.com',
    ref: 'refs/heads/main',
    payload: {},
    ...extra
  }
}

describe('runContext', () => {
  it('takes the run from the GitHub context and the repository from the environment', () => {
    expect(runContext(gh(), { GITHUB_REPOSITORY: 'octo-org/orders.service' })).toEqual({
      repository: 'octo-org/orders.service',
      workflow: 'Deploy sources',
      runId: 987654321,
      runAttempt: 2,
      serverUrl: 'https://github.com',
      ref: 'refs/heads/main',
      environment: undefined
    })
  })

  it('environment from AEP_ENVIRONMENT', () => {
    expect(runContext(gh(), { AEP_ENVIRONMENT: 'staging' }).environment).toBe('staging')
  })

  it('environment from a deployment event payload', () => {
    const ctx = gh({ payload: { deployment: { environment: 'production', id: 1 } } })
    expect(runContext(ctx, {}).environment).toBe('production')
  })

  it('AEP_ENVIRONMENT wins over the deployment payload', () => {
    const ctx = gh({ payload: { deployment: { environment: 'production' } } })
    expect(runContext(ctx, { AEP_ENVIRONMENT: 'qa' }).environment).toBe('qa')
  })

  it('ignores a deployment environment that is not a string, and empty values', () => {
    const ctx = gh({ payload: { deployment: { environment: 42 } }, workflow: '', ref: '' })
    const c = runContext(ctx, { GITHUB_REPOSITORY: '', AEP_ENVIRONMENT: '' })
    expect(c.environment).toBeUndefined()
    expect(c.repository).toBeUndefined()
    expect(c.workflow).toBeUndefined()
    expect(c.ref).toBeUndefined()
  })

  it('drops a run id or attempt that is not a number', () => {
    const c = runContext(gh({ runId: NaN, runAttempt: NaN }), {})
    expect(c.runId).toBeUndefined()
    expect(c.runAttempt).toBeUndefined()
  })
})

describe('safe', () => {
  it('keeps plain characters', () => {
    expect(safe('refs/heads/feature-1.2_x @me+you:#3')).toBe('refs/heads/feature-1.2_x @me+you:#3')
  })

  it('escapes control characters, newlines, HTML and double quotes', () => {
    expect(safe('a\nb\r\tc\u0000')).toBe('a%0Ab%0D%09c%00')
    expect(safe('<img src=x onerror="alert(1)">')).toBe(
      '%3Cimg src%3Dx onerror%3D%22alert(1)%22%3E'
    )
    expect(safe('wf "quoted" & `tick`')).toBe('wf %22quoted%22 %26 %60tick%60')
    expect(safe('[x](javascript:1)')).toBe('%5Bx%5D(javascript:1)')
    expect(safe('é')).toBe('%C3%A9')
  })

  it('caps the length with an ellipsis', () => {
    const s = safe('x'.repeat(150))
    expect(s).toHaveLength(100)
    expect(s.endsWith('…')).toBe(true)
    expect(safe('y'.repeat(20), 10)).toBe(`${'y'.repeat(9)}…`)
    expect(safe('z'.repeat(100))).toBe('z'.repeat(100))
  })
})

describe('runUrl', () => {
  it('links to the run', () => {
    expect(runUrl(full)).toBe('https://github.com/octo-org/orders.service/actions/runs/987654321')
  })

  it('uses a GitHub Enterprise server URL', () => {
    expect(runUrl({ ...full, serverUrl: 'https://ghe.example.com:8443' })).toBe(
      'https://ghe.example.com:8443/octo-org/orders.service/actions/runs/987654321'
    )
  })

  it('falls back to github.com for a strange server URL', () => {
    expect(runUrl({ ...full, serverUrl: 'https://evil.example/"><script>' })).toBe(
      'https://github.com/octo-org/orders.service/actions/runs/987654321'
    )
    expect(runUrl({ ...full, serverUrl: 'javascript:alert(1)' })).toBe(
      'https://github.com/octo-org/orders.service/actions/runs/987654321'
    )
  })

  it('is undefined without a repository, a run id, or with an odd repository', () => {
    expect(runUrl({ ...full, repository: undefined })).toBeUndefined()
    expect(runUrl({ ...full, runId: undefined })).toBeUndefined()
    expect(runUrl({ ...full, repository: 'a/b/c' })).toBeUndefined()
    expect(runUrl({ ...full, repository: 'a/"b' })).toBeUndefined()
  })
})

describe('defaultDescription', () => {
  it('names repository, workflow, run with link, ref and environment', () => {
    expect(defaultDescription(full)).toBe(
      'Managed by GitHub Actions: octo-org/orders.service, workflow "Deploy sources", run 987654321 ' +
        '(https://github.com/octo-org/orders.service/actions/runs/987654321), ref refs/heads/main, ' +
        'environment production'
    )
  })

  it('from a real-looking GITHUB_* context end to end', () => {
    const c = runContext(gh({ payload: { deployment: { environment: 'prod' } } }), {
      GITHUB_REPOSITORY: 'octo-org/orders.service'
    })
    expect(defaultDescription(c)).toBe(
      'Managed by GitHub Actions: octo-org/orders.service, workflow "Deploy sources", run 987654321 ' +
        '(https://github.com/octo-org/orders.service/actions/runs/987654321), ref refs/heads/main, ' +
        'environment prod'
    )
  })

  it('without a repository: a generic text', () => {
    expect(defaultDescription({ serverUrl: 'https://github.com' })).toBe(
      'Managed by the AEP PostgreSQL connection GitHub Action'
    )
  })

  it('only the repository', () => {
    expect(defaultDescription({ repository: 'o/r', serverUrl: 'https://github.com' })).toBe(
      'Managed by GitHub Actions: o/r'
    )
  })

  it('escapes what users control: workflow, ref, environment', () => {
    const d = defaultDescription({
      ...full,
      workflow: 'Deploy "prod"\n::error::pwned',
      ref: 'refs/heads/<b>x</b>',
      environment: 'prod\r\nX-Injected: 1'
    })
    expect(d).toBe(
      'Managed by GitHub Actions: octo-org/orders.service, workflow "Deploy %22prod%22%0A::error::pwned", ' +
        'run 987654321 (https://github.com/octo-org/orders.service/actions/runs/987654321), ' +
        'ref refs/heads/%3Cb%3Ex%3C/b%3E, environment prod%0D%0AX-Injected: 1'
    )
    // eslint-disable-next-line no-control-regex
    expect(d).not.toMatch(/[\u0000-\u001f<>]/)
  })

  it('a run without a usable repository gets no link', () => {
    expect(defaultDescription({ ...full, repository: 'weird repo', workflow: undefined })).toBe(
      'Managed by GitHub Actions: weird repo, run 987654321, ref refs/heads/main, environment production'
    )
  })

  it('stays within the description input limit', () => {
    const long = 'w'.repeat(500)
    const d = defaultDescription({ ...full, workflow: long, ref: long, environment: long })
    expect(d.length).toBeLessThanOrEqual(1000)
  })
})

describe('githubContext', () => {
  it('reads the GITHUB_* variables and the event payload, feeding the description', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'prov-'))
    const event = path.join(dir, 'event.json')
    writeFileSync(event, JSON.stringify({ deployment: { environment: 'prod' } }))
    const env = {
      GITHUB_REPOSITORY: 'octo-org/orders.service',
      GITHUB_WORKFLOW: 'Deploy sources',
      GITHUB_RUN_ID: '987654321',
      GITHUB_RUN_ATTEMPT: '2',
      GITHUB_SERVER_URL: 'https://github.com',
      GITHUB_REF: 'refs/heads/main',
      GITHUB_EVENT_PATH: event
    }
    const ctx = githubContext(env)
    expect(ctx.runId).toBe(987654321)
    expect(ctx.runAttempt).toBe(2)
    expect(ctx.payload).toEqual({ deployment: { environment: 'prod' } })
    expect(defaultDescription(runContext(ctx, env))).toBe(
      'Managed by GitHub Actions: octo-org/orders.service, workflow "Deploy sources", run 987654321 ' +
        '(https://github.com/octo-org/orders.service/actions/runs/987654321), ref refs/heads/main, ' +
        'environment prod'
    )
  })

  it('without GITHUB_* variables: no run, github.com, an empty payload', () => {
    const c = runContext(githubContext({}), {})
    expect(c).toEqual({
      repository: undefined,
      workflow: undefined,
      runId: undefined,
      runAttempt: undefined,
      serverUrl: 'https://github.com',
      ref: undefined,
      environment: undefined
    })
  })
})
