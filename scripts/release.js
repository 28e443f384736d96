// The release plan for a version tag: what .github/workflows/release.yml publishes.
//
//   node scripts/release.js v1.2.3                       dry run: prints the plan, publishes nothing
//   node scripts/release.js v1.2.3 --notes-file F --github-output G   (what the workflow runs)
//
// A tag vX.Y.Z is released when package.json says X.Y.Z and CHANGELOG.md has a dated section
// "## [X.Y.Z] - YYYY-MM-DD" (Keep a Changelog). Its text becomes the GitHub release notes, and
// the major tag vX is moved to the tagged commit. A pre-release tag (v2.0.0-rc.1) is published
// as a pre-release and leaves the major tag alone, so users on @v1 or @v2 never get it; so does
// a release older than the newest vX.*.* tag (a backport), so that @vX never moves backwards.
// Entries still under [Unreleased] give a warning: the notes would leave them out.
//
// Pure functions first; the caller reads the files. Exit code 1 and one line per problem.

const TAG = /^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$/

/** 'v1.2.3' -> { version: '1.2.3', major: 'v1', prerelease: false }; undefined if not a version tag. */
export function parseTag(tag) {
  const m = TAG.exec(String(tag ?? '').trim())
  if (!m) return undefined
  return { version: m[0].slice(1), major: `v${m[1]}`, prerelease: m[4] !== undefined }
}

/** Compares two parsed stable versions '1.2.3' numerically: <0, 0 or >0. */
const compareVersions = (a, b) => {
  const [x, y] = [a, b].map((v) => v.split('.').map(Number))
  return x[0] - y[0] || x[1] - y[1] || x[2] - y[2]
}

/**
 * The newest stable tag in `tag`'s major line among `tags` (names or refs/tags/… refs) and `tag`
 * itself. The major tag may move to `tag` only when this is `tag`: a backport v1.0.1 pushed after
 * v1.1.0 must not take @v1 users back. Pre-releases never count.
 */
export function newestInLine(tag, tags) {
  const own = parseTag(tag)
  if (!own) return undefined
  let newest = own.prerelease ? undefined : { tag, version: own.version }
  for (const raw of tags) {
    const name = String(raw)
      .trim()
      .replace(/^refs\/tags\//, '')
    const p = parseTag(name)
    if (!p || p.prerelease || p.major !== own.major) continue
    if (!newest || compareVersions(p.version, newest.version) > 0)
      newest = { tag: name, version: p.version }
  }
  return newest?.tag
}

const escapeRe = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/**
 * The section of a Keep a Changelog file for one version: its date (or undefined when the
 * heading has none, e.g. "Unreleased") and its body without the heading, trimmed. Undefined when
 * there is no such section. The body ends at the next "## " heading or at the link definitions.
 */
export function changelogSection(markdown, version) {
  const lines = String(markdown).split(/\r?\n/)
  const heading = new RegExp(`^## \\[?${escapeRe(version)}\\]?(?:\\s+[-—–]\\s+(.*\\S))?\\s*$`)
  const start = lines.findIndex((l) => heading.test(l))
  if (start < 0) return undefined
  const rest = lines.slice(start + 1)
  const end = rest.findIndex((l) => /^## /.test(l) || /^\[[^\]]+\]:\s*\S/.test(l))
  const body = (end < 0 ? rest : rest.slice(0, end)).join('\n').trim()
  const when = heading.exec(lines[start])[1]
  const date = when && /^\d{4}-\d{2}-\d{2}$/.test(when) ? when : undefined
  return { heading: lines[start], date, body }
}

/**
 * Everything the release workflow needs, or the problems that stop it. `sha` is the tagged
 * commit (GITHUB_SHA on a tag push).
 */
export function releasePlan({ tag, packageVersion, changelog, sha, existingTags }) {
  const problems = []
  const warnings = []
  const parsed = parseTag(tag)
  if (!parsed) return { problems: [`${tag} is not a version tag vMAJOR.MINOR.PATCH (e.g. v1.2.3)`] }
  const { version, major, prerelease } = parsed
  if (packageVersion !== version)
    problems.push(
      `package.json says version ${packageVersion}, the tag says ${version}: set "version": "${version}" and tag again`
    )
  const section = changelogSection(changelog, version)
  if (!section) problems.push(`CHANGELOG.md has no "## [${version}] - YYYY-MM-DD" section`)
  else {
    if (!section.date)
      problems.push(
        `CHANGELOG.md section "${section.heading}" has no release date: write it as "## [${version}] - YYYY-MM-DD"`
      )
    if (!section.body) problems.push(`CHANGELOG.md section for ${version} is empty`)
  }
  // A warning, not a failure: the tag is already pushed when the workflow runs, and entries may
  // rightly wait for the next release. The notes would still leave them out, so say so.
  const unreleased = changelogSection(changelog, 'Unreleased')
  if (unreleased?.body)
    warnings.push(
      `CHANGELOG.md still has entries under [Unreleased]; they are not in the notes of ${tag}. Move them into the ${version} section if this release ships them`
    )
  const newest = prerelease ? undefined : newestInLine(tag, existingTags ?? [])
  const keepMajor = newest !== undefined && newest !== tag
  return {
    problems,
    warnings,
    tag,
    version,
    prerelease,
    title: tag,
    notes: section?.body ?? '',
    date: section?.date,
    sha,
    // A pre-release never moves the major tag, nor does a release older than the line's newest.
    majorTag: prerelease || keepMajor ? undefined : major,
    ...(keepMajor ? { newerInLine: newest } : {})
  }
}

/** The plan as the lines a maintainer reads in a dry run. */
export function describePlan(plan) {
  const at = plan.sha ? plan.sha.slice(0, 12) : 'the tagged commit'
  return [
    `Release ${plan.tag} (${plan.version}${plan.date ? `, ${plan.date}` : ''})`,
    `- check that dist/ is rebuilt from src and committed, and that the tests pass`,
    `- create the GitHub ${plan.prerelease ? 'pre-release' : 'release'} ${plan.title} with these notes:`,
    ...plan.notes.split('\n').map((l) => `    ${l}`.trimEnd()),
    plan.majorTag
      ? `- move ${plan.majorTag} to ${at}, so users of @${plan.majorTag} get ${plan.tag}`
      : plan.newerInLine
        ? `- leave the major tag alone (${plan.newerInLine} is newer than ${plan.tag})`
        : `- leave the major tag alone (pre-release)`
  ]
}

// Run directly: read package.json and CHANGELOG.md next to this script's directory.
const { pathToFileURL } = await import('node:url')
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { appendFileSync, readFileSync, writeFileSync } = await import('node:fs')
  const args = process.argv.slice(2)
  const option = (name) => {
    const i = args.indexOf(name)
    return i >= 0 ? args[i + 1] : undefined
  }
  const flags = new Set(['--newest-in-line'])
  const tag = args.find(
    (a, i) => !a.startsWith('--') && !(args[i - 1]?.startsWith('--') && !flags.has(args[i - 1]))
  )
  if (!tag) {
    console.error(
      'usage: node scripts/release.js vX.Y.Z [--sha SHA] [--tags-file FILE] [--notes-file FILE] [--github-output FILE]\n' +
        '       node scripts/release.js vX.Y.Z --newest-in-line [--tags-file FILE]'
    )
    process.exit(2)
  }
  const root = new URL('../', import.meta.url)
  // The version tags that exist: from --tags-file (the workflow lists the remote's), else the
  // local clone's tags, so that a dry run shows whether the major tag would move.
  const tagsFile = option('--tags-file')
  let existingTags = []
  if (tagsFile) existingTags = readFileSync(tagsFile, 'utf8').split(/\r?\n/).filter(Boolean)
  else {
    const { spawnSync } = await import('node:child_process')
    const git = spawnSync('git', ['tag', '--list', 'v*'], { cwd: root, encoding: 'utf8' })
    if (git.status === 0) existingTags = git.stdout.split('\n').filter(Boolean)
  }
  if (args.includes('--newest-in-line')) {
    const newest = newestInLine(tag, existingTags)
    if (!newest) {
      console.error(`::error::${tag} is not a version tag vMAJOR.MINOR.PATCH`)
      process.exit(1)
    }
    console.log(newest)
    process.exit(0)
  }
  const plan = releasePlan({
    existingTags,
    tag,
    packageVersion: JSON.parse(readFileSync(new URL('package.json', root), 'utf8')).version,
    changelog: readFileSync(new URL('CHANGELOG.md', root), 'utf8'),
    sha: option('--sha')
  })
  if (plan.problems.length) {
    for (const p of plan.problems) console.error(`::error::${p}`)
    process.exit(1)
  }
  for (const w of plan.warnings) console.error(`::warning::${w}`)
  for (const line of describePlan(plan)) console.log(line)
  const notesFile = option('--notes-file')
  if (notesFile) writeFileSync(notesFile, `${plan.notes}\n`)
  const outputFile = option('--github-output')
  if (outputFile)
    appendFileSync(
      outputFile,
      [
        `version=${plan.version}`,
        `prerelease=${plan.prerelease}`,
        `major-tag=${plan.majorTag ?? ''}`,
        ''
      ].join('\n')
    )
}
