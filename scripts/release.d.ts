/** Types for release.js (plain ESM, so that it runs without a build step). */

export declare function parseTag(
  tag: string
): { version: string; major: string; prerelease: boolean } | undefined

export declare function changelogSection(
  markdown: string,
  version: string
): { heading: string; date: string | undefined; body: string } | undefined

export interface ReleasePlan {
  /** empty when the release can go ahead */
  problems: string[]
  tag?: string
  version?: string
  prerelease?: boolean
  title?: string
  notes?: string
  date?: string
  sha?: string
  /** the major tag to move (v1), or undefined for a pre-release */
  majorTag?: string
}

export declare function releasePlan(opts: {
  tag: string
  packageVersion: string
  changelog: string
  sha?: string
}): ReleasePlan

export declare function describePlan(plan: ReleasePlan): string[]
