import { existsSync, readFileSync } from 'node:fs'

/** The parts of the workflow run that say where a connection comes from. */
export interface RunContext {
  repository?: string
  workflow?: string
  runId?: number
  runAttempt?: number
  serverUrl: string
  ref?: string
  environment?: string
}

/** What @actions/github's context (and the environment) offers; a structural subset. */
export interface GithubContextLike {
  workflow?: string
  runId?: number
  runAttempt?: number
  serverUrl: string
  ref?: string
  payload: { [key: string]: unknown }
}

/**
 * The same fields @actions/github's `context` reads (GITHUB_WORKFLOW, GITHUB_RUN_ID,
 * GITHUB_RUN_ATTEMPT, GITHUB_SERVER_URL, GITHUB_REF and the GITHUB_EVENT_PATH payload), built
 * here so the bundle does not load Octokit just for them. The event file is read on first use;
 * a missing one is reported through `log` (the step prints only through output.ts).
 */
export function githubContext(
  env: NodeJS.ProcessEnv = process.env,
  log: (line: string) => void = () => undefined
): GithubContextLike {
  let payload: { [key: string]: unknown } | undefined
  return {
    workflow: env.GITHUB_WORKFLOW,
    runId: parseInt(env.GITHUB_RUN_ID ?? '', 10),
    runAttempt: parseInt(env.GITHUB_RUN_ATTEMPT ?? '', 10),
    serverUrl: env.GITHUB_SERVER_URL ?? 'https://github.com',
    ref: env.GITHUB_REF,
    get payload() {
      if (payload) return payload
      payload = {}
      const file = env.GITHUB_EVENT_PATH
      if (file) {
        if (existsSync(file)) payload = JSON.parse(readFileSync(file, 'utf8')) as typeof payload
        else log(`GITHUB_EVENT_PATH ${file} does not exist`)
      }
      return payload
    }
  }
}

/**
 * Builds the run context. Steps cannot see their job's `environment:` (the runner does not
 * expose it), so the name comes from a deployment event, or from AEP_ENVIRONMENT when the
 * workflow sets it (e.g. `env: AEP_ENVIRONMENT: prod`).
 */
export function runContext(ctx: GithubContextLike, env: NodeJS.ProcessEnv): RunContext {
  const deployment = ctx.payload.deployment as { environment?: unknown } | undefined
  const deploymentEnv = deployment?.environment
  return {
    repository: env.GITHUB_REPOSITORY || undefined,
    workflow: ctx.workflow || undefined,
    runId: Number.isFinite(ctx.runId) ? ctx.runId : undefined,
    runAttempt: Number.isFinite(ctx.runAttempt) ? ctx.runAttempt : undefined,
    serverUrl: ctx.serverUrl,
    ref: ctx.ref || undefined,
    environment:
      env.AEP_ENVIRONMENT ||
      (typeof deploymentEnv === 'string' ? deploymentEnv : undefined) ||
      undefined
  }
}

/**
 * Makes a value that users control (branch names, workflow and environment names) safe to
 * embed: anything outside a plain set of characters is percent-encoded, and length is capped.
 */
export function safe(value: string, max = 100): string {
  const encoded = Array.from(value)
    .map((ch) => (/^[A-Za-z0-9 ._\-/@+:#]$/.test(ch) ? ch : encodeURIComponent(ch)))
    .join('')
  return encoded.length > max ? `${encoded.slice(0, max - 1)}…` : encoded
}

/** The link to the workflow run, when the run is known. */
export function runUrl(c: RunContext): string | undefined {
  if (!c.repository || !c.runId || !/^[\w.-]+\/[\w.-]+$/.test(c.repository)) return undefined
  const server = /^https?:\/\/[\w.:-]+$/.test(c.serverUrl) ? c.serverUrl : 'https://github.com'
  return `${server}/${c.repository}/actions/runs/${c.runId}`
}

/** The default description: which repository, workflow, run, ref and environment manage it. */
export function defaultDescription(c: RunContext): string {
  if (!c.repository) return 'Managed by the AEP PostgreSQL connection GitHub Action'
  const parts = [`Managed by GitHub Actions: ${safe(c.repository)}`]
  if (c.workflow) parts.push(`workflow "${safe(c.workflow)}"`)
  const url = runUrl(c)
  if (c.runId) parts.push(`run ${c.runId}${url ? ` (${url})` : ''}`)
  if (c.ref) parts.push(`ref ${safe(c.ref)}`)
  if (c.environment) parts.push(`environment ${safe(c.environment)}`)
  return parts.join(', ')
}
