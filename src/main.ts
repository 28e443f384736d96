import * as core from '@actions/core'
import {
  buildAuth,
  buildCreateBody,
  splitConnectionStringLoosely,
  type CreateBody
} from './connection.js'
import { SpecReferee } from './connection-spec.js'
import { testConnection } from './connection-test.js'
import { ActionError, ApiError } from './errors.js'
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
import {
  INPUT_NAMES,
  InputError,
  parseInputs,
  SECRET_INPUTS,
  type RawInputs,
  type Settings
} from './inputs.js'
import { Masker } from './masking.js'
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
import {
  createExactlyOne,
  deleteExisting,
  findLive,
  StoredConnectionError,
  updateExisting,
  type Guard,
  type Outcome
} from './reconcile.js'
import {
  outcomeLine,
  setOutputs,
  setTablesOutput,
  testText,
  writeSummary,
  type Result,
  type SummaryLike
} from './report.js'
import { undiciTransport } from './transport.js'

/** The parts of @actions/core the step uses; tests pass a recorder instead. */
export type CoreLike = Pick<
  typeof core,
  | 'getInput'
  | 'setSecret'
  | 'setOutput'
  | 'setFailed'
  | 'info'
  | 'warning'
  | 'error'
  | 'debug'
  | 'startGroup'
  | 'endGroup'
> & { summary: SummaryLike }

/** The step's I/O edges. Everything else is plain logic. */
export interface Deps {
  core: CoreLike
  /** Sends HTTP; defaults to undici with one keep-alive agent. */
  transport?: Transport
  clock: Clock
  env: NodeJS.ProcessEnv
  github: GithubContextLike
}

/** Reads every input; secret ones are masked the moment they are read, before validation. */
function readInputs(c: CoreLike, masker: Masker): RawInputs {
  const raw = {} as RawInputs
  for (const name of INPUT_NAMES) {
    // A password may legitimately start or end with spaces; only a pasted newline is dropped.
    raw[name] =
      name === 'password'
        ? c.getInput(name, { trimWhitespace: false }).replace(/\r?\n$/, '')
        : c.getInput(name)
  }
  for (const name of SECRET_INPUTS) masker.add(raw[name])
  return raw
}

/** Masks what is derived from the secrets: the parts of a postgres-url, the built payload. */
function maskDerived(s: Settings, masker: Masker, body: CreateBody | undefined): void {
  // The password inside a postgres-url or connection string, once decoded or split out.
  masker.add(s.credentials?.parts?.password)
  if (s.credentials?.source === 'connection-string') {
    const kv = splitConnectionStringLoosely(s.credentials.connectionString)
    masker.add(kv.get('password'))
    masker.add(kv.get('pwd'))
  }
  if (body) {
    const p = body.auth.params
    for (const secret of [p.password, p.connectionString])
      if (typeof secret === 'string') masker.add(secret)
    // The auth block as it travels inside the JSON request body.
    masker.add(JSON.stringify(p))
  }
}

/** The desired connection payload, or none when deleting. */
function desiredBody(s: Settings, ctx: RunContext): CreateBody | undefined {
  if (s.state === 'absent') return undefined
  const description = s.description ?? defaultDescription(ctx)
  return buildCreateBody(s.connectionName, description, buildAuth(s))
}

/** Applies a plan; returns the outputs' view of what happened. */
async function apply(
  plan: Plan,
  flow: FlowService,
  settings: Settings,
  say: (l: string) => void,
  warn: (l: string) => void,
  referee: SpecReferee
): Promise<Outcome> {
  const guard: Guard = (body, send) => referee.guard(body, send)
  const create = (body: CreateBody) =>
    createExactlyOne({ flow, settings, body, log: say, warn, guard })
  switch (plan.kind) {
    case 'create':
      return create(plan.body)
    case 'update':
      try {
        return await updateExisting(flow, plan.existing, plan.body, say, guard)
      } catch (e) {
        // Being deleted since the lookup: skipped, as the lookup skips those already going.
        if (!(e instanceof ApiError) || e.code !== '1457-400') throw e
        say(
          `connection ${plan.existing.id} started being deleted since the lookup (1457): not counted, so a new one is created`
        )
        return create(plan.body)
      }
    case 'reuse':
      return {
        operation: 'unchanged',
        connectionId: plan.existing.id,
        etag: plan.existing.etag ?? ''
      }
    case 'delete':
      return deleteExisting(flow, plan.existing, say)
    case 'absent':
      return { operation: 'absent', connectionId: '', etag: '' }
  }
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
  masker: Masker,
  say: (line: string) => void
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
    log: say
  }
  const traced = tracing(transport, deps.core, masker)
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
          (token) => masker.add(token)
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
  const deps: Deps = {
    core,
    clock: systemClock,
    env: process.env,
    github: githubContext(),
    ...overrides
  }
  const c = deps.core
  const masker = new Masker(c)
  const say = (line: string) => c.info(masker.redact(line))
  /** A multi-line block, folded into one collapsible group of the log. */
  const block = (title: string, lines: string[]) => {
    c.startGroup(masker.redact(title))
    try {
      for (const line of lines) say(line)
    } finally {
      c.endGroup()
    }
  }
  // In debug mode each request adds a trace line; a phase's trace is folded into a group.
  const debug = deps.env.RUNNER_DEBUG === '1'
  const traced = async <T>(title: string, fn: () => Promise<T>): Promise<T> => {
    if (!debug) return fn()
    c.startGroup(masker.redact(`Requests: ${title}`))
    try {
      return await fn()
    } finally {
      c.endGroup()
    }
  }
  let closeTransport: (() => Promise<void>) | undefined
  let deadline: Deadline | undefined
  try {
    // 1. Inputs: secrets masked first (proxy credentials too), then validated; nothing is sent
    // before this passes.
    for (const secret of proxySecrets(deps.env)) masker.add(secret)
    const raw = readInputs(c, masker)
    const settings = parseInputs(raw)
    const ctx = runContext(deps.github, deps.env)
    const body = desiredBody(settings, ctx)
    maskDerived(settings, masker, body)

    // 2. HTTP and token.
    const conn = connect(settings, deps, masker, say)
    closeTransport = conn.close
    deadline = conn.deadline
    const flow = conn.flow
    // Flow Service's live connection spec, read only when it can help (see connection-spec.ts).
    const referee = new SpecReferee({
      readSpec: () => flow.connectionSpec(),
      log: say,
      warn: (m) => c.warning(masker.redact(m))
    })

    // 3. Plan: find the connection by name, decide. The token is fetched (and its mask
    // registered) first, so every ::add-mask:: precedes the step's first log line.
    await conn.tokens.token()
    for (const route of conn.routes) say(route)
    if (settings.credentials?.source === 'postgres-url' && settings.credentials.ignoredParams)
      c.warning(
        `postgres-url parameters not used by Flow Service were ignored: ${settings.credentials.ignoredParams.join(', ')}`
      )
    say(
      `Looking up PostgreSQL connection "${settings.connectionName}" in sandbox ${settings.sandboxName}`
    )
    const plan = await traced('looking up the connection', async () =>
      referee.vetPlan(
        decide(settings, await findLive(flow, settings.connectionName, say), body),
        settings
      )
    )
    const operation = operationOf(plan, settings.dryRun)
    const result: Result = {
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
      block(
        `Dry run: ${operation}. The request that would be sent (secrets shown as ***)`,
        describePlan(plan, flow.base)
      )
    else {
      const applying = APPLYING[plan.kind]
      const applyPlan = () =>
        apply(plan, flow, settings, say, (m) => c.warning(masker.redact(m)), referee)
      Object.assign(result, await (applying ? traced(applying, applyPlan) : applyPlan()))
    }
    say(outcomeLine(result))
    if (result.connectionId && masker.catches(result.connectionId))
      c.warning(
        'the connection id contains a secret value, so the runner will mask it in job outputs'
      )

    // 5. Outputs first, so a later step can inspect or clean up even if the test fails.
    setOutputs(c, result)
    let testError: ActionError | undefined
    if (settings.testConnection && (settings.state === 'absent' || settings.dryRun)) {
      result.test = { ok: true, skipped: settings.dryRun ? 'dry run' : 'state absent' }
      say(`Connection test: ${testText(result.test)}`)
    } else if (settings.testConnection) {
      try {
        const { tables, paths } = await traced('testing the connection', () =>
          testConnection(flow, result.connectionId, say)
        )
        result.test = { ok: true, tables }
        say(`Connection test passed: Flow Service sees ${tables} table(s)`)
        setTablesOutput(c, paths, (m) => c.warning(masker.redact(m)))
      } catch (e) {
        testError = e instanceof ActionError ? e : new ActionError(String(e))
        result.test = { ok: false, error: masker.redact(testError.message) }
      }
    }
    // Outside a runner (local runs) there is no summary file: nothing to warn about.
    if (deps.env.GITHUB_STEP_SUMMARY)
      await writeSummary(c.summary, result, (m) => c.warning(masker.redact(m)))
    else c.debug('GITHUB_STEP_SUMMARY is not set: no job summary written')
    if (testError) throw testError
  } catch (e) {
    // The connection exists (this run's or one it adopted): say which, even though the step fails.
    if (e instanceof StoredConnectionError) {
      c.setOutput('connection-id', e.connectionId)
      c.setOutput('etag', e.etag)
    }
    const outOfTime = deadline !== undefined && deadline.remaining() < 1000
    fail(c, masker, outOfTime && !(e instanceof DeadlineError) ? withDeadlineNote(e) : e)
  } finally {
    await closeTransport?.().catch(() => undefined)
  }
}

/** One clear ::error per problem, secrets redacted, exit code 1. */
function fail(c: CoreLike, masker: Masker, e: unknown): void {
  if (e instanceof InputError) {
    const lines = e.problems.map((p) => `Invalid input '${p.input}': ${p.message}`)
    for (const line of lines.slice(0, -1)) c.error(masker.redact(line))
    c.setFailed(masker.redact(`${lines.at(-1) ?? 'invalid input'} (nothing was sent to Adobe)`))
    return
  }
  if (e instanceof DeadlineError) {
    c.setFailed(
      masker.redact(`${e.message}; raise timeout-seconds or check the network path to Adobe`)
    )
    return
  }
  const message = e instanceof Error ? e.message : String(e)
  c.setFailed(masker.redact(message.length > 1000 ? `${message.slice(0, 999)}…` : message))
}

function withDeadlineNote(e: unknown): unknown {
  if (!(e instanceof Error)) return e
  return new DeadlineError(`${e.message} (the step's timeout-seconds ran out)`)
}

/** Logs each request in debug mode: method, URL and status only; never headers or bodies. */
function tracing(transport: Transport, c: CoreLike, masker: Masker): Transport {
  return async (req, timeoutMs) => {
    try {
      const res = await transport(req, timeoutMs)
      const id = res.headers['x-request-id']
      c.debug(
        masker.redact(`${req.method} ${req.url} -> ${res.status}${id ? ` (request id ${id})` : ''}`)
      )
      return res
    } catch (e) {
      c.debug(masker.redact(`${req.method} ${req.url} -> ${(e as Error).message}`))
      throw e
    }
  }
}
