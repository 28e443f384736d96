// The release: scripts/release.js plans it (tag, package.json, CHANGELOG section, major tag) and
// .github/workflows/release.yml carries it out. The workflow's publishing steps are run here with
// bash and a stand-in `gh` that records its arguments: a dry run of `git push origin v1.0.0`.
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals'
import { spawnSync } from 'node:child_process'
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'
import {
  changelogSection,
  describePlan,
  newestInLine,
  parseTag,
  releasePlan
} from '../scripts/release.js'

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..')
const read = (rel: string) => readFileSync(path.join(root, rel), 'utf8')
const pkg = JSON.parse(read('package.json')) as { version: string }
const SHA = '0123456789abcdef0123456789abcdef01234567'

const CHANGELOG = `# Changelog

All notable changes.

## [Unreleased]

### Fixed

- Something not yet released.

## [1.2.0] - 2026-12-01

### Added

- A new input.

### Fixed

- A bug.

## [1.1.0] — 2026-11-30

- Older.

## [1.0.0]

- Undated.

[unreleased]: https://github.com/acme/x/compare/v1.2.0...HEAD
[1.2.0]: https://github.com/acme/x/compare/v1.1.0...v1.2.0
`

describe('parseTag', () => {
  it.each([
    ['v1.2.3', { version: '1.2.3', major: 'v1', prerelease: false }],
    ['v10.0.0', { version: '10.0.0', major: 'v10', prerelease: false }],
    ['v2.0.0-rc.1', { version: '2.0.0-rc.1', major: 'v2', prerelease: true }]
  ])('%s', (tag, expected) => expect(parseTag(tag)).toEqual(expected))

  it.each(['1.2.3', 'v1', 'v1.2', 'v01.2.3', 'v1.2.3.4', 'release-1.2.3', 'v1.2.3-', ''])(
    'rejects %j',
    (tag) => expect(parseTag(tag)).toBeUndefined()
  )
})

describe('changelogSection', () => {
  it('returns the body of one version, up to the next version or the link definitions', () => {
    expect(changelogSection(CHANGELOG, '1.2.0')).toEqual({
      heading: '## [1.2.0] - 2026-12-01',
      date: '2026-12-01',
      body: '### Added\n\n- A new input.\n\n### Fixed\n\n- A bug.'
    })
    expect(changelogSection(CHANGELOG, '1.1.0')).toMatchObject({
      date: '2026-11-30',
      body: '- Older.'
    })
    expect(changelogSection(CHANGELOG, '1.0.0')).toMatchObject({
      date: undefined,
      body: '- Undated.'
    })
  })

  it('does not confuse versions that share a prefix, and misses absent ones', () => {
    expect(changelogSection(CHANGELOG, '1.2')).toBeUndefined()
    expect(changelogSection(CHANGELOG, '1.2.00')).toBeUndefined()
    expect(changelogSection(CHANGELOG, '3.0.0')).toBeUndefined()
  })
})

describe('releasePlan', () => {
  it('a stable tag: notes from the CHANGELOG, major tag moved to the commit', () => {
    const plan = releasePlan({
      tag: 'v1.2.0',
      packageVersion: '1.2.0',
      changelog: CHANGELOG,
      sha: SHA
    })
    expect(plan).toMatchObject({
      problems: [],
      version: '1.2.0',
      prerelease: false,
      majorTag: 'v1',
      title: 'v1.2.0',
      notes: '### Added\n\n- A new input.\n\n### Fixed\n\n- A bug.'
    })
    expect(describePlan(plan).at(-1)).toBe('- move v1 to 0123456789ab, so users of @v1 get v1.2.0')
  })

  it('a pre-release leaves the major tag alone', () => {
    const changelog = `## [2.0.0-rc.1] - 2026-12-02\n\n- Try it.\n`
    const plan = releasePlan({ tag: 'v2.0.0-rc.1', packageVersion: '2.0.0-rc.1', changelog })
    expect(plan).toMatchObject({ problems: [], prerelease: true, majorTag: undefined })
    expect(describePlan(plan).at(-1)).toBe('- leave the major tag alone (pre-release)')
  })

  it('refuses a tag that disagrees with package.json, or has no dated CHANGELOG section', () => {
    expect(
      releasePlan({ tag: 'v1.2.0', packageVersion: '1.1.0', changelog: CHANGELOG }).problems
    ).toEqual([
      'package.json says version 1.1.0, the tag says 1.2.0: set "version": "1.2.0" and tag again'
    ])
    expect(
      releasePlan({ tag: 'v3.0.0', packageVersion: '3.0.0', changelog: CHANGELOG }).problems
    ).toEqual(['CHANGELOG.md has no "## [3.0.0] - YYYY-MM-DD" section'])
    expect(
      releasePlan({ tag: 'v1.0.0', packageVersion: '1.0.0', changelog: CHANGELOG }).problems
    ).toEqual([
      'CHANGELOG.md section "## [1.0.0]" has no release date: write it as "## [1.0.0] - YYYY-MM-DD"'
    ])
    expect(
      releasePlan({ tag: 'latest', packageVersion: '1.0.0', changelog: CHANGELOG }).problems
    ).toEqual(['latest is not a version tag vMAJOR.MINOR.PATCH (e.g. v1.2.3)'])
  })
})

describe('the major tag only moves forward', () => {
  const tags = [
    'refs/tags/v1.0.0',
    'refs/tags/v1.1.0',
    'refs/tags/v1.2.0-rc.1',
    'v2.0.0',
    'v10.0.0'
  ]

  it('newestInLine: the highest stable tag of the same major, the tag itself included', () => {
    expect(newestInLine('v1.0.1', tags)).toBe('v1.1.0')
    expect(newestInLine('v1.1.1', tags)).toBe('v1.1.1')
    expect(newestInLine('v1.10.0', [...tags, 'v1.9.9'])).toBe('v1.10.0')
    expect(newestInLine('v2.0.1', tags)).toBe('v2.0.1')
    expect(newestInLine('v1.0.0', [])).toBe('v1.0.0')
    // Re-running the release of the newest tag still moves the major tag to it.
    expect(newestInLine('v1.1.0', tags)).toBe('v1.1.0')
    // A pre-release newer than everything does not count.
    expect(newestInLine('v1.0.1', ['v1.5.0-rc.1'])).toBe('v1.0.1')
  })

  it('a backport older than the newest v1.*.* is released, but v1 stays', () => {
    const changelog = `## [1.0.1] - 2026-12-03\n\n- Backported fix.\n`
    const plan = releasePlan({
      tag: 'v1.0.1',
      packageVersion: '1.0.1',
      changelog,
      sha: SHA,
      existingTags: tags
    })
    expect(plan).toMatchObject({ problems: [], majorTag: undefined, newerInLine: 'v1.1.0' })
    expect(describePlan(plan).at(-1)).toBe(
      '- leave the major tag alone (v1.1.0 is newer than v1.0.1)'
    )
  })
})

describe('release notes and [Unreleased]', () => {
  it('warns when [Unreleased] still holds entries, and is silent when it is empty', () => {
    const plan = releasePlan({ tag: 'v1.2.0', packageVersion: '1.2.0', changelog: CHANGELOG })
    expect(plan.problems).toEqual([])
    expect(plan.warnings).toEqual([
      'CHANGELOG.md still has entries under [Unreleased]; they are not in the notes of v1.2.0. Move them into the 1.2.0 section if this release ships them'
    ])
    const folded = CHANGELOG.replace('### Fixed\n\n- Something not yet released.\n\n', '')
    expect(
      releasePlan({ tag: 'v1.2.0', packageVersion: '1.2.0', changelog: folded }).warnings
    ).toEqual([])
  })

  it('the CLI fails without a CHANGELOG section for the version, and prints the warning', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'release-cl-'))
    try {
      // A copy of the script beside its own package.json and CHANGELOG.md.
      mkdirSync(path.join(dir, 'scripts'))
      writeFileSync(path.join(dir, 'scripts', 'release.js'), read('scripts/release.js'))
      writeFileSync(path.join(dir, 'package.json'), '{"type": "module", "version": "1.3.0"}')
      writeFileSync(path.join(dir, 'CHANGELOG.md'), CHANGELOG)
      const run = () =>
        spawnSync(process.execPath, ['scripts/release.js', 'v1.3.0'], {
          cwd: dir,
          encoding: 'utf8'
        })
      const missing = run()
      expect(missing.status).toBe(1)
      expect(missing.stderr).toContain(
        '::error::CHANGELOG.md has no "## [1.3.0] - YYYY-MM-DD" section'
      )
      writeFileSync(
        path.join(dir, 'CHANGELOG.md'),
        CHANGELOG.replace('## [1.2.0]', '## [1.3.0] - 2026-12-04\n\n- New.\n\n## [1.2.0]')
      )
      const ok = run()
      expect(ok.status).toBe(0)
      expect(ok.stderr).toBe(
        '::warning::CHANGELOG.md still has entries under [Unreleased]; they are not in the notes of v1.3.0. Move them into the 1.3.0 section if this release ships them\n'
      )
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('this repository', () => {
  it('CHANGELOG.md follows Keep a Changelog: an Unreleased section, then dated versions', () => {
    const changelog = read('CHANGELOG.md')
    expect(changelog).toMatch(/keepachangelog\.com/)
    const headings = changelog.split('\n').filter((l) => l.startsWith('## '))
    expect(headings[0]).toBe('## [Unreleased]')
    for (const h of headings.slice(1))
      expect(h).toMatch(/^## \[\d+\.\d+\.\d+(-[\w.]+)?\] - \d{4}-\d{2}-\d{2}$/)
  })

  it(`is ready to release its package.json version: node scripts/release.js v${pkg.version}`, () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'release-'))
    try {
      const notes = path.join(dir, 'notes.md')
      const out = path.join(dir, 'output')
      const r = spawnSync(
        process.execPath,
        [
          'scripts/release.js',
          `v${pkg.version}`,
          '--sha',
          SHA,
          '--notes-file',
          notes,
          '--github-output',
          out
        ],
        { cwd: root, encoding: 'utf8' }
      )
      // Only warnings (entries still under [Unreleased]), never an error.
      expect(r.stderr.split('\n').filter((l) => l && !l.startsWith('::warning::'))).toEqual([])
      expect(r.status).toBe(0)
      expect(r.stdout).toContain(`Release v${pkg.version} (${pkg.version}, `)
      expect(r.stdout).toContain(`- move v${pkg.version.split('.')[0]} to 0123456789ab`)
      expect(readFileSync(notes, 'utf8')).toBe(
        `${changelogSection(read('CHANGELOG.md'), pkg.version)!.body}\n`
      )
      expect(readFileSync(out, 'utf8')).toBe(
        `version=${pkg.version}\nprerelease=false\nmajor-tag=v${pkg.version.split('.')[0]}\n`
      )
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('refuses a tag that does not match package.json, with ::error:: lines and exit code 1', () => {
    const r = spawnSync(process.execPath, ['scripts/release.js', 'v99.0.0'], {
      cwd: root,
      encoding: 'utf8'
    })
    expect(r.status).toBe(1)
    expect(r.stderr).toContain(
      `::error::package.json says version ${pkg.version}, the tag says 99.0.0`
    )
  })
})

type Step = {
  name?: string
  id?: string
  if?: string
  run?: string
  uses?: string
  env?: Record<string, string>
}
type Workflow = {
  on: { push: { tags: string[]; branches?: unknown } }
  permissions: Record<string, string>
  jobs: Record<string, { permissions: Record<string, string>; steps: Step[] }>
}

describe('.github/workflows/release.yml', () => {
  const wf = parse(read('.github/workflows/release.yml')) as Workflow
  const job = wf.jobs.release!
  const step = (name: string) => job.steps.find((s) => s.name?.startsWith(name))!

  it('runs on version tags only, with write access for this job alone', () => {
    expect(wf.on.push.tags).toEqual(['v[0-9]+.[0-9]+.[0-9]+', 'v[0-9]+.[0-9]+.[0-9]+-*'])
    expect(wf.on.push.branches).toBeUndefined()
    expect(wf.permissions).toEqual({ contents: 'read' })
    expect(job.permissions).toEqual({ contents: 'write' })
  })

  it('plans, checks dist and the tests, and only then publishes', () => {
    const names = job.steps.map((s) => s.name ?? s.run ?? s.uses)
    const at = (n: string) => names.findIndex((x) => x?.startsWith(n))
    expect(step('Plan the release').run).toContain('node scripts/release.js "$TAG"')
    expect(step('dist/ is rebuilt').run).toContain('npm run bundle')
    expect(step('dist/ is rebuilt').run).toContain('git diff --exit-code')
    for (const before of ['Plan the release', 'npm ci', 'dist/ is rebuilt', 'Tests'])
      expect(at(before)).toBeLessThan(at('Create the GitHub release'))
    expect(at('Create the GitHub release')).toBeLessThan(at('Move the major tag'))
    expect(step('Move the major tag').if).toBe("steps.plan.outputs.major-tag != ''")
    // Values reach the scripts through env, never through ${{ }} inside run: (no injection).
    for (const s of job.steps) expect(s.run ?? '').not.toContain('${{')
  })

  describe('its publishing steps, run with a stand-in gh', () => {
    const LIST_V1 =
      'gh api --paginate repos/acme/aep-postgresql-connection-action/git/matching-refs/tags/v1. --jq .[].ref'
    let dir: string
    beforeAll(() => {
      dir = mkdtempSync(path.join(tmpdir(), 'release-gh-'))
      // Records each call; `release view` and the GET of the major ref fail unless told they exist.
      writeFileSync(
        path.join(dir, 'gh'),
        `#!/usr/bin/env bash
echo "gh $*" >> "$GH_LOG"
if [ "$1 $2" = "release view" ]; then [ "$FAKE_RELEASE_EXISTS" = 1 ]; exit; fi
if [ "$1 $2" = "api --paginate" ]; then for t in $FAKE_TAGS; do echo "refs/tags/$t"; done; exit 0; fi
if [ "$1" = api ] && [ "$#" -eq 2 ]; then [ "$FAKE_MAJOR_EXISTS" = 1 ]; exit; fi
if [ "$1 $2" = "api -X" ] && [ "$FAKE_MOVE_REFUSED" = 1 ]; then echo "HTTP 403" >&2; exit 1; fi
exit 0
`
      )
      chmodSync(path.join(dir, 'gh'), 0o755)
      writeFileSync(path.join(dir, 'notes.md'), 'notes\n')
    })
    afterAll(() => rmSync(dir, { recursive: true, force: true }))

    /** Runs the named step's script as the runner does (bash --noprofile --norc -eo pipefail). */
    function runStep(name: string, env: Record<string, string>): string[] {
      const log = path.join(dir, `gh-${Math.random().toString(36).slice(2)}.log`)
      writeFileSync(log, '')
      const s = step(name)
      const r = spawnSync('bash', ['--noprofile', '--norc', '-e', '-o', 'pipefail', '-c', s.run!], {
        cwd: root,
        encoding: 'utf8',
        env: {
          PATH: `${dir}:${process.env.PATH}`,
          GH_LOG: log,
          RUNNER_TEMP: dir,
          GITHUB_REPOSITORY: 'acme/aep-postgresql-connection-action',
          GITHUB_SHA: SHA,
          GITHUB_REF_NAME: 'v1.0.0',
          ...Object.fromEntries(Object.keys(s.env ?? {}).map((k) => [k, env[k] ?? ''])),
          ...env
        }
      })
      expect(r.stderr).toBe('')
      expect(r.status).toBe(0)
      lastStdout = r.stdout
      return readFileSync(log, 'utf8').trim().split('\n')
    }
    let lastStdout = ''

    it('first release of v1.0.0: creates the release and the v1 tag', () => {
      expect(runStep('Create the GitHub release', { TAG: 'v1.0.0', PRERELEASE: 'false' })).toEqual([
        'gh release view v1.0.0',
        `gh release create v1.0.0 --verify-tag --title v1.0.0 --notes-file ${dir}/notes.md`
      ])
      expect(runStep('Move the major tag', { MAJOR: 'v1', TAG: 'v1.0.0' })).toEqual([
        LIST_V1,
        'gh api repos/acme/aep-postgresql-connection-action/git/ref/tags/v1',
        `gh api -X POST repos/acme/aep-postgresql-connection-action/git/refs -f ref=refs/tags/v1 -f sha=${SHA}`
      ])
    })

    it('a later v1.x.y (or a re-run): edits the release and force-moves v1', () => {
      const env = {
        TAG: 'v1.0.0',
        PRERELEASE: 'false',
        FAKE_RELEASE_EXISTS: '1',
        FAKE_MAJOR_EXISTS: '1'
      }
      expect(runStep('Create the GitHub release', env)).toEqual([
        'gh release view v1.0.0',
        `gh release edit v1.0.0 --title v1.0.0 --notes-file ${dir}/notes.md`
      ])
      expect(
        runStep('Move the major tag', { ...env, MAJOR: 'v1', FAKE_TAGS: 'v0.9.0 v1.0.0 v2.0.0' })
      ).toEqual([
        LIST_V1,
        'gh api repos/acme/aep-postgresql-connection-action/git/ref/tags/v1',
        `gh api -X PATCH repos/acme/aep-postgresql-connection-action/git/refs/tags/v1 -f sha=${SHA} -F force=true`
      ])
    })

    it('a move GitHub refuses (workflow files changed, no MAJOR_TAG_TOKEN) fails naming the secret', () => {
      expect(step('Move the major tag').env?.GH_TOKEN).toBe(
        '${{ secrets.MAJOR_TAG_TOKEN || github.token }}'
      )
      const r = spawnSync(
        'bash',
        ['--noprofile', '--norc', '-e', '-o', 'pipefail', '-c', step('Move the major tag').run!],
        {
          cwd: root,
          encoding: 'utf8',
          env: {
            PATH: `${dir}:${process.env.PATH}`,
            GH_LOG: path.join(dir, 'refused.log'),
            RUNNER_TEMP: dir,
            GITHUB_REPOSITORY: 'acme/aep-postgresql-connection-action',
            GITHUB_SHA: SHA,
            MAJOR: 'v1',
            TAG: 'v1.0.0',
            FAKE_MAJOR_EXISTS: '1',
            FAKE_MOVE_REFUSED: '1'
          }
        }
      )
      expect(r.status).toBe(1)
      expect(r.stdout).toMatch(/^::error::could not move v1 to [0-9a-f]{40}; .*MAJOR_TAG_TOKEN/m)
    })

    it('a backport older than the newest v1.*.* leaves v1 where it is', () => {
      const env = {
        MAJOR: 'v1',
        TAG: 'v1.0.1',
        FAKE_MAJOR_EXISTS: '1',
        FAKE_TAGS: 'v1.0.0 v1.1.0 v1.0.1 v1.2.0-rc.1'
      }
      expect(runStep('Move the major tag', env)).toEqual([LIST_V1])
      expect(lastStdout).toBe('::notice::v1 stays where it is: v1.1.0 is newer than v1.0.1\n')
      // The newest one still moves it (v1.2.0-rc.1 is a pre-release and does not count).
      expect(runStep('Move the major tag', { ...env, TAG: 'v1.1.0' })).toEqual([
        LIST_V1,
        'gh api repos/acme/aep-postgresql-connection-action/git/ref/tags/v1',
        `gh api -X PATCH repos/acme/aep-postgresql-connection-action/git/refs/tags/v1 -f sha=${SHA} -F force=true`
      ])
    })

    it('a pre-release is marked as one', () => {
      expect(
        runStep('Create the GitHub release', { TAG: 'v2.0.0-rc.1', PRERELEASE: 'true' })
      ).toEqual([
        'gh release view v2.0.0-rc.1',
        `gh release create v2.0.0-rc.1 --verify-tag --title v2.0.0-rc.1 --notes-file ${dir}/notes.md --prerelease`
      ])
    })
  })
})
