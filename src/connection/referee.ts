import type { FlowApi } from '../platform/flow-api.js'
import type { RefereeDeps, SpecReferee } from './connection-spec.js'
import type { CreateBody } from './payload.js'
import type { Plan } from './plan.js'
import { isUnexplained400 } from './refusal.js'

/** Loads the referee's code (connection-spec.ts); tests pass stand-ins. */
export type LoadReferee = () => Promise<typeof import('./connection-spec.js')>

const loadSpecModule: LoadReferee = () => import('./connection-spec.js')

/**
 * Flow Service's live connection spec as the referee (connection-spec.ts), its code loaded on the
 * first run that consults it: a dry run, validate-spec, or a create or update refused with a 400
 * nothing else explains (refusal.ts). What the referee does then is all its own; here is only
 * when it is needed, so that an ordinary run neither compiles nor evaluates it (the bundle keeps
 * it, with ajv, in chunks of its own). A referee whose code cannot be loaded is unavailable, as
 * one whose spec cannot be read: a warning, the plan unchanged, Flow Service's own error kept.
 */
export class LazyReferee {
  private referee?: Promise<SpecReferee>
  private warned = false

  constructor(
    /** The referee's own deps, but the spec read: it is connection-spec.ts's, through `api`. */
    private readonly deps: Omit<RefereeDeps, 'readSpec'> & { api: FlowApi },
    private readonly loadModule: LoadReferee = loadSpecModule
  ) {}

  /** One referee per run: it reads the spec at most once, and says each warning once. */
  private load(): Promise<SpecReferee> {
    this.referee ??= this.loadModule().then((spec) => {
      const { api, ...deps } = this.deps
      return new spec.SpecReferee({ ...deps, readSpec: () => spec.readConnectionSpec(api) })
    })
    return this.referee
  }

  /** The referee's own words for an unavailable spec, once, with why its code did not load. */
  private unavailable(failure: unknown): void {
    if (this.warned) return
    this.warned = true
    const why = String(failure instanceof Error ? failure.message : failure)
    const shown = this.deps.shorten ? this.deps.shorten(why, 200) : why.slice(0, 200)
    this.deps.warn(
      `could not check the auth params against Flow Service's live connection spec: its code could not be loaded (${shown}); going on without that check`
    )
  }

  /** SpecReferee.vetPlan: the same plan, with no referee loaded, unless it would check it. */
  async vetPlan(plan: Plan, s: { dryRun: boolean; validateSpec: boolean }): Promise<Plan> {
    if (!(s.dryRun || s.validateSpec) || (plan.kind !== 'create' && plan.kind !== 'update'))
      return plan
    let referee: SpecReferee
    try {
      referee = await this.load()
    } catch (failure) {
      this.unavailable(failure)
      return plan
    }
    return referee.vetPlan(plan, s)
  }

  /** SpecReferee.guard: the referee is loaded only for a refusal it may explain. */
  async guard<T>(body: CreateBody, send: (b: CreateBody) => Promise<T>): Promise<T> {
    try {
      return await send(body)
    } catch (e) {
      if (!isUnexplained400(e)) throw e
      let referee: SpecReferee
      try {
        referee = await this.load()
      } catch (failure) {
        // As for a referee that fails once loaded: Flow Service's own error stands.
        this.unavailable(failure)
        throw e
      }
      return await referee.afterRefusal(e, body, send)
    }
  }
}
