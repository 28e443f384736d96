import * as core from '@actions/core'
import {
  buildAuth,
  buildCreateBody,
  splitConnectionStringLoosely,
  type CreateBody
} from './connection.js'
import { SpecReferee } from './connection-spec.js'
import { testConnection } from './connection-test.js'
import { ActionError } from './errors.js'
import { FlowService } from './flow-service.js'
import {
  Deadline,
  DeadlineError,
  systemClock,
  type Clock,
  type RetryContext,
  type Transport
} from './http.js'
import { fetchToken, givenToken, imsTokenSource, type TokenSource } from './ims.js'
import { INPUT_NAMES, InputError, parseInputs, SECRET_INPUTS, type RawInputs } from './inputs.js'
import type { Settings } from './settings.js'
import { connectionStringSecrets } from './masking.js'
import { Output, type OutputSink, type SummaryContent } from './output.js'
import { decide, describePlan, operationOf, type Plan } from './plan.js'
import { describeRoutes, proxyConfig, proxySecrets } from './proxy.js'
import {
  defaultDescription,
  githubContext,
  runContext,
  runUrl,
  type GithubContextLike,
  type RunContext
} from './provenance.js'
import { apply, findLive, StoredConnectionError } from './reconcile.js'
import {
  failureSummary,
  outcomeLine,
  setOutputs,
  setTablesOutput,
  successSummary,
  testText,
  type Result,
  type TestResult
} from './report.js'
import { undiciTransport } from './transport.js'

/**
 * The parts of @actions/core the step uses; tests pass a recorder instead. Everything but
 * getInput is reached only through output.ts.
 */
export type CoreLike = Pick<typeof core, 'getInput'> & OutputSink

/** The step's I/O edges. Everything else is plain logic. */
export interface Deps {
  core: CoreLike
  /** Sends HTTP; defaults to undici with one keep-alive agent. */
  transport?: Transport
  clock: Clock
  env: NodeJS.ProcessEnv
  github: GithubContextLike
}

/** Inputs whose secret values are built from other values (so not redacted run by run). */
const COMPOSITE_INPUTS: ReadonlySet<string> = new Set(['connection-string', 'postgres-url'])

/** Reads every input; secret ones are masked the moment they are read, before validation. */
function readInputs(c: CoreLike, out: Output): RawInputs {
  const raw = {} as RawInputs
  for (const name of INPUT_NAMES) {
    // A password may legitimately start or end with spaces; only a pasted newline is dropped.
    raw[name] =
      name === 'password'
        ? c.getInput(name, { trimWhitespace: false }).replace(/\r?\n$/, '')
        : c.getInput(name)
  }
  for (const name of SECRET_INPUTS)
    if (COMPOSITE_INPUTS.has(name)) out.compositeSecret(raw[name])
    else out.secret(raw[name])
  // The passwords inside a connection string, even one that does not split cleanly.
  for (const value of connectionStringSecrets(raw['connection-string'])) out.secret(value)
  // HTTP Basic's client-id:client-secret, as an IMS error may echo it (base64).
  if (raw['client-secret']) out.compositeSecret(`${raw['client-id']}:${raw['client-secret']}`)
  return raw
}

/** Masks what is derived from the secrets: the parts of a postgres-url, the built payload. */
function maskDerived(s: Settings, out: Output, body: CreateBody | undefined): void {
  // The password inside a postgres-url or connection string, once decoded or split out.
  out.secret(s.credentials?.parts?.password)
  if (s.credentials?.source === 'connection-string') {
    const kv = splitConnectionStringLoosely(s.credentials.connectionString)
    out.secret(kv.get('password'))
    out.secret(kv.get('pwd'))
  }
  if (body) {
    const p = body.auth.params
    if (typeof p.password === 'string') out.secret(p.password)
    if (typeof p.connectionString === 'string') out.compositeSecret(p.connectionString)
    // The auth block as it travels inside the JSON request body.
    out.compositeSecret(JSON.stringify(p))
  }
}

/** The desired connection payload, or none when deleting. */
function desiredBody(s: Settings, ctx: RunContext): CreateBody | undefined {
  if (s.state === 'absent') return undefined
  const description = s.description ?? defaultDescription(ctx)
  return buildCreateBody(s.connectionName, description, buildAuth(s))
}

/** What applying each kind of plan does, as the debug-mode group of its requests says it. */
const APPLYING: Record<Plan['kind'], string | undefined> = {
  create: 'creating the connection',
  update: 'updating the connection',
  delete: 'deleting the connection',
  // These send nothing.
  reuse: undefined,
  absent: undefined
}

/** Opens the HTTP layer (deadline, retries, tracing) and the token source for Flow Service. */
function connect(
  settings: Settings,
  deps: Deps,
  out: Output
): {
  flow: FlowService
  tokens: TokenSource
  deadline: Deadline
  routes: string[]
  close?: () => Promise<void>
} {
  const deadline = new Deadline(deps.clock, settings.timeoutSeconds * 1000)
  // Which proxy each host goes through; a proxy variable that cannot be used fails here,
  // before anything is sent.
  const proxies = proxyConfig(deps.env)
  const routes = describeRoutes(
    settings.accessToken ? [settings.platformUrl] : [settings.imsUrl, settings.platformUrl],
    proxies
  )
  let transport = deps.transport
  let close: (() => Promise<void>) | undefined
  if (!transport) {
    const t = undiciTransport({ proxies, timeLeft: () => deadline.remaining() })
    transport = t.transport
    close = t.close
  }
  const retry: RetryContext = {
    clock: deps.clock,
    deadline,
    maxAttempts: settings.maxAttempts,
    log: (line) => out.info(line)
  }
  const traced = tracing(transport, out)
  const tokens: TokenSource = settings.accessToken
    ? givenToken(settings.accessToken)
    : imsTokenSource(() =>
        fetchToken(
          traced,
          retry,
          {
            imsUrl: settings.imsUrl,
            clientId: settings.clientId,
            clientSecret: settings.clientSecret ?? '',
            scopes: settings.scopes
          },
          // Masked before anything else can print it.
          (token) => out.secret(token)
        )
      )
  const flow = new FlowService({
    platformUrl: settings.platformUrl,
    clientId: settings.clientId,
    imsOrgId: settings.imsOrgId,
    sandboxName: settings.sandboxName,
    tokens,
    transport: traced,
    retry
  })
  return { flow, tokens, deadline, routes, close }
}

/** The step: inputs -> token -> plan -> apply -> outputs, with every error caught once, here. */
export async function run(overrides: Partial<Deps> = {}): Promise<void> {
  const c = overrides.core ?? core
  // Created first: nothing is printed, not even by a failing setup, but through it.
  const out = new Output(c)
  const deps: Deps = {
    core: c,
    clock: systemClock,
    env: process.env,
    github: overrides.github ?? githubContext(process.env, (line) => out.info(line)),
    ...overrides
  }
  let closeTransport: (() => Promise<void>) | undefined
  let deadline: Deadline | undefined
  let ctx: RunContext | undefined
  let result: Result | undefined
  // In debug mode each request adds a trace line; a phase's trace is folded into a group.
  const traced = <T>(title: string, fn: () => Promise<T>): Promise<T> =>
    deps.env.RUNNER_DEBUG === '1' ? out.group(`Requests: ${title}`, fn) : fn()
  try {
    // 1. Inputs: secrets masked first (proxy credentials too), then validated; nothing is sent
    // before this passes.
    for (const secret of proxySecrets(deps.env)) out.compositeSecret(secret)
    const raw = readInputs(c, out)
    ctx = runContext(deps.github, deps.env)
    const settings = parseInputs(raw)
    const body = desiredBody(settings, ctx)
    maskDerived(settings, out, body)

    // 2. HTTP and token.
    const conn = connect(settings, deps, out)
    closeTransport = conn.close
    deadline = conn.deadline
    const flow = conn.flow
    // Flow Service's live connection spec, read only when it can help (see connection-spec.ts).
    const referee = new SpecReferee({
      readSpec: () => flow.connectionSpec(),
      log: (line) => out.info(line),
      warn: (message) => out.warning(message)
    })

    // 3. Plan: find the connection by name, decide. The token is fetched (and its mask
    // registered) first, so every ::add-mask:: precedes the step's first log line.
    await conn.tokens.token()
    for (const route of conn.routes) out.info(route)
    if (settings.credentials?.source === 'postgres-url' && settings.credentials.ignoredParams)
      out.warning(
        `postgres-url parameters not used by Flow Service were ignored: ${settings.credentials.ignoredParams.join(', ')}`
      )
    out.info(
      `Looking up PostgreSQL connection "${settings.connectionName}" in sandbox ${settings.sandboxName}`
    )
    const plan = await traced('looking up the connection', async () =>
      referee.vetPlan(
        decide(
          settings,
          await findLive(flow, settings.connectionName, (line) => out.info(line)),
          body
        ),
        settings
      )
    )
    const operation = operationOf(plan, settings.dryRun)
    const r: Result = {
      operation,
      connectionId: 'existing' in plan ? plan.existing.id : '',
      etag: 'existing' in plan ? (plan.existing.etag ?? '') : '',
      connectionName: settings.connectionName,
      sandboxName: settings.sandboxName,
      dryRun: settings.dryRun,
      runUrl: runUrl(ctx)
    }

    // 4. Apply (or, in a dry run, show what would be sent).
    if (settings.dryRun)
      await out.group(
        `Dry run: ${operation}. The request that would be sent (secrets shown as ***)`,
        async () => {
          for (const line of describePlan(plan, flow.base)) out.block(line)
        }
      )
    else {
      const applying = APPLYING[plan.kind]
      const applyPlan = () =>
        apply(plan, {
          flow,
          settings,
          log: (line) => out.info(line),
          warn: (message) => out.warning(message),
          guard: (body, send) => referee.guard(body, send)
        })
      Object.assign(r, await (applying ? traced(applying, applyPlan) : applyPlan()))
    }
    out.info(outcomeLine(r))

    // 5. Outputs first, so a later step can inspect or clean up even if the test fails. Each
    // output is checked against the secrets (a warning names one the runner would drop).
    setOutputs(out, r)
    result = r
    if (settings.testConnection && (settings.state === 'absent' || settings.dryRun)) {
      r.test = { ok: true, skipped: settings.dryRun ? 'dry run' : 'state absent' }
      out.info(`Connection test: ${testText(r.test)}`)
    } else if (settings.testConnection)
      r.test = await traced('testing the connection', () =>
        runConnectionTest(flow, r.connectionId, out)
      )
    if (r.test?.ok === false) throw new ActionError(r.test.error ?? 'the connection test failed')
    await summarise(out, deps.env, () => successSummary(r))
  } catch (e) {
    // The connection exists (this run's or one it adopted): say which, even though the step fails.
    if (e instanceof StoredConnectionError) {
      out.setOutput('connection-id', e.connectionId)
      out.setOutput('etag', e.etag)
    }
    const outOfTime = deadline !== undefined && deadline.remaining() < 1000
    const failure = fail(out, e, outOfTime)
    await summarise(out, deps.env, () =>
      failureSummary({ ...failure, result, runUrl: ctx ? runUrl(ctx) : undefined })
    )
  } finally {
    await closeTransport?.().catch(() => undefined)
  }
}

/**
 * The connection test (connection-test.ts); a failure is a result, reported after the outputs.
 * A passed test also sets the `tables` output.
 */
async function runConnectionTest(flow: FlowService, id: string, out: Output): Promise<TestResult> {
  try {
    const { tables, paths } = await testConnection(flow, id, (line) => out.info(line))
    out.info(`Connection test passed: Flow Service sees ${tables} table(s)`)
    setTablesOutput(out, paths, (message) => out.warning(message))
    return { ok: true, tables }
  } catch (e) {
    if (!(e instanceof ActionError)) throw e
    return { ok: false, error: out.describe(e) }
  }
}

/** Writes the job summary, where there is a summary file (none in local runs: nothing to warn about). */
async function summarise(
  out: Output,
  env: NodeJS.ProcessEnv,
  content: () => SummaryContent
): Promise<void> {
  if (env.GITHUB_STEP_SUMMARY) await out.summary(content())
  else out.debug('GITHUB_STEP_SUMMARY is not set: no job summary written')
}

/**
 * One clear ::error per problem, exit code 1. Returns what the failure summary shows: the error
 * as printed and, for invalid inputs, the inputs to fix.
 */
function fail(out: Output, e: unknown, outOfTime: boolean): { error: string; inputs?: string[] } {
  if (e instanceof InputError) {
    const lines = e.problems.map((p) => `Invalid input '${p.input}': ${p.message}`)
    for (const line of lines.slice(0, -1)) out.error(line)
    const suffix = ' (nothing was sent to Adobe)'
    out.fail(`${lines.at(-1) ?? 'invalid input'}${suffix}`)
    return {
      error: `${lines.join('; ')}${suffix}`,
      inputs: [...new Set(e.problems.map((p) => p.input))]
    }
  }
  let error = out.describe(e)
  if (outOfTime && !(e instanceof DeadlineError)) error += " (the step's timeout-seconds ran out)"
  if (outOfTime || e instanceof DeadlineError)
    error += '; raise timeout-seconds or check the network path to Adobe'
  out.fail(error)
  return { error }
}

/** Logs each request in debug mode: method, URL and status only; never headers or bodies. */
function tracing(transport: Transport, out: Output): Transport {
  return async (req, timeoutMs) => {
    try {
      const res = await transport(req, timeoutMs)
      const id = res.headers['x-request-id']
      out.debug(`${req.method} ${req.url} -> ${res.status}${id ? ` (request id ${id})` : ''}`)
      return res
    } catch (e) {
      out.debug(`${req.method} ${req.url} -> ${(e as Error).message}`)
      throw e
    }
  }
}
