/** Types for release.js (plain ESM, so that it runs without a build step). */

export declare function parseTag(
  tag: string
): { version: string; major: string; prerelease: boolean } | undefined

export declare function changelogSection(
  markdown: string,
  version: string
): { heading: string; date: string | undefined; body: string } | undefined

export declare function newestInLine(tag: string, tags: readonly string[]): string | undefined

export interface ReleasePlan {
  /** empty when the release can go ahead */
  problems: string[]
  /** worth a look, but no reason to stop (entries left under [Unreleased]) */
  warnings?: string[]
  tag?: string
  version?: string
  prerelease?: boolean
  title?: string
  notes?: string
  date?: string
  sha?: string
  /** the major tag to move (v1), or undefined for a pre-release or an older release */
  majorTag?: string
  /** set when the major tag stays: the newer stable tag of the same major line */
  newerInLine?: string
}

export declare function releasePlan(opts: {
  tag: string
  packageVersion: string
  changelog: string
  sha?: string
  /** version tags that exist (names or refs/tags/… refs), to keep the major tag from moving back */
  existingTags?: readonly string[]
}): ReleasePlan

export declare function describePlan(plan: ReleasePlan): string[]
