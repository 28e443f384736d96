export const id = 500;
export const ids = [500];
export const modules = {

/***/ 8500:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

// ESM COMPAT FLAG
__webpack_require__.r(__webpack_exports__);

// EXPORTS
__webpack_require__.d(__webpack_exports__, {
  JUDGE_MAX_MS: () => (/* binding */ JUDGE_MAX_MS),
  JUDGE_SHARE: () => (/* binding */ JUDGE_SHARE),
  MAX_SCHEMA_NODES: () => (/* binding */ MAX_SCHEMA_NODES),
  MAX_SPEC_CHARS: () => (/* binding */ MAX_SPEC_CHARS),
  SPEC_READ_ATTEMPTS: () => (/* binding */ SPEC_READ_ATTEMPTS),
  SPEC_READ_MAX_MS: () => (/* binding */ SPEC_READ_MAX_MS),
  SPEC_READ_SHARE: () => (/* binding */ SPEC_READ_SHARE),
  SchemaError: () => (/* binding */ SchemaError),
  SpecReferee: () => (/* binding */ SpecReferee),
  authSchemaOf: () => (/* binding */ authSchemaOf),
  describeChanges: () => (/* binding */ describeChanges),
  describeProblems: () => (/* binding */ describeProblems),
  enumList: () => (/* binding */ enumList),
  judgeParams: () => (/* binding */ judgeParams),
  plainShorten: () => (/* binding */ plainShorten),
  readConnectionSpec: () => (/* binding */ readConnectionSpec),
  reshapeValue: () => (/* binding */ reshapeValue),
  specText: () => (/* reexport */ spec_text/* specText */.d),
  usesBraceQuoting: () => (/* binding */ usesBraceQuoting),
  withBody: () => (/* binding */ withBody),
  withParams: () => (/* binding */ withParams)
});

// EXTERNAL MODULE: ./src/platform/collections.ts
var collections = __webpack_require__(7594);
// EXTERNAL MODULE: ./src/platform/errors.ts
var errors = __webpack_require__(6316);
// EXTERNAL MODULE: ./src/platform/http.ts + 2 modules
var http = __webpack_require__(5787);
// EXTERNAL MODULE: ./src/platform/listing.ts
var listing = __webpack_require__(7211);
// EXTERNAL MODULE: ./src/platform/output.ts
var output = __webpack_require__(3962);
// EXTERNAL MODULE: ./src/platform/zod.ts + 14 modules
var zod = __webpack_require__(8494);
// EXTERNAL MODULE: ./src/platform/lazy.ts
var lazy = __webpack_require__(9753);
// EXTERNAL MODULE: external "node:vm"
var external_node_vm_ = __webpack_require__(714);
;// CONCATENATED MODULE: ./src/connection/bounded-regexp.ts

const MAX_PATTERN_LENGTH = 1000;
const PATTERN_TIME_MS = 250;
let sandbox;
function testWithin(re, s, timeMs) {
    sandbox ??= { context: (0,external_node_vm_.createContext)({}), script: new external_node_vm_.Script('re.test(s)') };
    const { context, script } = sandbox;
    context.re = re;
    context.s = s;
    try {
        return script.runInContext(context, { timeout: timeMs }) === true;
    }
    catch (e) {
        if (e.code === 'ERR_SCRIPT_EXECUTION_TIMEOUT')
            return undefined;
        throw e;
    }
    finally {
        context.re = undefined;
        context.s = undefined;
    }
}
const PATTERNS_BUDGET_MS = 2000;
function compilePattern(pattern, flags) {
    const unicode = flags.includes('u') ? flags : `${flags}u`;
    try {
        return new RegExp(pattern, unicode);
    }
    catch {
        return new RegExp(pattern, unicode.replace('u', ''));
    }
}
function boundedRegExps(limits = {}) {
    const maxLength = limits.maxLength ?? MAX_PATTERN_LENGTH;
    const timeMs = limits.timeMs ?? PATTERN_TIME_MS;
    const budgetMs = Math.max(0, limits.budgetMs ?? PATTERNS_BUDGET_MS);
    let spentMs = 0;
    const unchecked = new Map();
    const engine = ((pattern, flags) => {
        const key = `/${pattern}/${flags}`;
        if (pattern.length > maxLength) {
            unchecked.set(pattern, `it is longer than ${maxLength} characters`);
            return { test: () => true, toString: () => key };
        }
        const re = compilePattern(pattern, flags);
        return {
            test(s) {
                if (unchecked.has(pattern))
                    return true;
                const left = budgetMs - spentMs;
                if (left < 1) {
                    unchecked.set(pattern, `the time for checking patterns (${budgetMs} ms) ran out`);
                    return true;
                }
                const limit = Math.min(timeMs, Math.ceil(left));
                const started = performance.now();
                const matched = testWithin(re, s, limit);
                spentMs += performance.now() - started;
                if (matched !== undefined)
                    return matched;
                unchecked.set(pattern, limit < timeMs
                    ? `the time for checking patterns (${budgetMs} ms) ran out`
                    : `it took too long to evaluate (over ${timeMs} ms)`);
                return true;
            },
            toString: () => key
        };
    });
    engine.code = 'boundedRegExp';
    return { engine, unchecked };
}

// EXTERNAL MODULE: ./src/connection/plan.ts + 1 modules
var connection_plan = __webpack_require__(2785);
// EXTERNAL MODULE: ./src/connection/refusal.ts
var refusal = __webpack_require__(4356);
// EXTERNAL MODULE: ./src/connection/spec-text.ts
var spec_text = __webpack_require__(4005);
;// CONCATENATED MODULE: ./src/connection/connection-spec.ts












const SpecReplySchema = (0,lazy/* lazy */.R)(() => zod/* looseObject */._H3({
    items: zod/* array */.YOg(zod/* looseObject */._H3({
        id: zod/* optional */.lqM(zod/* string */.YjP()),
        name: zod/* optional */.lqM(zod/* string */.YjP()),
        authSpec: zod/* optional */.lqM(zod/* array */.YOg(zod/* looseObject */._H3({ name: zod/* optional */.lqM(zod/* string */.YjP()), spec: zod/* optional */.lqM(zod/* unknown */.L5J()) })))
    }))
}));
const PropertySchema = (0,lazy/* lazy */.R)(() => zod/* looseObject */._H3({
    type: zod/* optional */.lqM(zod/* union */.KCZ([zod/* string */.YjP(), zod/* array */.YOg(zod/* string */.YjP())])),
    enum: zod/* optional */.lqM(zod/* array */.YOg(zod/* unknown */.L5J())),
    format: zod/* optional */.lqM(zod/* string */.YjP())
}));
const isObject = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);
const plainShorten = (text, max) => (0,output/* cut */.Jj)((0,spec_text/* specText */.d)(text), max);
function authSchemaOf(reply, specName, shorten = plainShorten) {
    const parsed = SpecReplySchema().safeParse(reply);
    if (!parsed.success)
        return { unavailable: 'the reply is not a connection spec list' };
    const spec = parsed.data.items.find((i) => (0,listing/* sameSpec */.sZ)(i.id, collections/* POSTGRES_SPEC_ID */.Ih));
    if (!spec)
        return { unavailable: `the reply holds no PostgreSQL connection spec (id ${collections/* POSTGRES_SPEC_ID */.Ih})` };
    const names = (spec.authSpec ?? []).map((a) => a.name).filter((n) => n !== undefined);
    const auth = (spec.authSpec ?? []).find((a) => a.name === specName);
    if (!auth)
        return {
            unavailable: `it has no auth type named "${specName}" (it lists: ${shorten(names.join(', '), 200) || 'none'})`
        };
    if (!isObject(auth.spec))
        return { unavailable: `it has no schema for "${specName}"` };
    return { schema: auth.spec };
}
class SchemaError extends Error {
    constructor(message) {
        super(message);
        this.name = 'SchemaError';
    }
}
const importAjv = () => __webpack_require__.e(/* import() */ 463).then(__webpack_require__.t.bind(__webpack_require__, 2463, 23));
let ajvModule;
const loadAjv = () => (ajvModule ??= importAjv());
const MAX_SCHEMA_NODES = 1000;
function nodesOf(value, max) {
    let count = 0;
    const stack = [value];
    while (stack.length > 0 && count <= max) {
        const v = stack.pop();
        count++;
        if (Array.isArray(v))
            stack.push(...v);
        else if (isObject(v))
            stack.push(...Object.values(v));
    }
    return Math.min(count, max + 1);
}
async function compile(schema, shorten, budgetMs) {
    if (nodesOf(schema, MAX_SCHEMA_NODES) > MAX_SCHEMA_NODES)
        throw new SchemaError(`its schema is too large to use (more than ${MAX_SCHEMA_NODES} nodes)`);
    const { Ajv } = (await loadAjv()).default;
    const regExps = boundedRegExps(budgetMs === undefined ? {} : { budgetMs });
    const ajv = new Ajv({
        allErrors: true,
        strict: false,
        validateFormats: false,
        validateSchema: false,
        logger: false,
        unicodeRegExp: true,
        addUsedSchema: false,
        code: { regExp: regExps.engine }
    });
    const { $schema: _ignored, ...rest } = schema;
    let fn;
    try {
        fn = ajv.compile(rest);
    }
    catch (e) {
        throw new SchemaError(`its schema could not be compiled (${shorten(e.message, 300)})`);
    }
    return {
        validate: (params) => (fn(params) ? [] : (fn.errors ?? [])),
        unchecked: regExps.unchecked
    };
}
function uncheckedRules(schema, unchecked, shorten) {
    const properties = isObject(schema.properties) ? schema.properties : {};
    const rules = [];
    for (const [pattern, why] of unchecked) {
        const params = Object.entries(properties)
            .filter(([, prop]) => isObject(prop) && prop.pattern === pattern)
            .map(([name]) => name);
        for (const param of params.length > 0 ? params : ['(a param)'])
            rules.push({ param: shorten(param, 80), rule: 'pattern', why });
    }
    return rules;
}
const pointerToName = (p) => p.slice(1).split('/')[0]?.replace(/~1/g, '/').replace(/~0/g, '~') ?? '';
const A_TYPE = {
    integer: 'an integer',
    number: 'a number',
    string: 'a string',
    boolean: 'a boolean (true or false)',
    object: 'an object',
    array: 'an array',
    null: 'null'
};
const MAX_PATTERN_SHOWN = 160;
const MAX_ENUM_SHOWN = 200;
function enumList(values, shorten = plainShorten) {
    let out = '';
    for (const v of values) {
        const text = shorten(typeof v === 'string' ? v : (JSON.stringify(v) ?? String(v)), 60);
        if (out && out.length + 2 + text.length > MAX_ENUM_SHOWN)
            return `${out}, … (${values.length} values in all)`;
        out = out ? `${out}, ${text}` : text;
    }
    return out;
}
function describe(e, shorten) {
    const d = describeRaw(e, shorten);
    return { ...d, param: shorten(d.param, 80) };
}
function describeRaw(e, shorten) {
    const p = e.params;
    switch (e.keyword) {
        case 'required':
            return {
                param: String(p.missingProperty),
                keyword: e.keyword,
                expected: 'is required by the connection spec but is not sent'
            };
        case 'additionalProperties':
            return {
                param: String(p.additionalProperty),
                keyword: e.keyword,
                expected: 'is not a param this auth type accepts'
            };
        case 'type': {
            const types = String(p.type).split(',');
            return {
                param: pointerToName(e.instancePath) || '(params)',
                keyword: e.keyword,
                expected: `must be ${shorten(types.map((t) => A_TYPE[t] ?? t).join(' or '), 200)}`
            };
        }
        case 'enum':
            return {
                param: pointerToName(e.instancePath),
                keyword: e.keyword,
                expected: `must be one of: ${enumList(Array.isArray(p.allowedValues) ? p.allowedValues : [], shorten)}`
            };
        case 'pattern':
            return {
                param: pointerToName(e.instancePath),
                keyword: e.keyword,
                expected: `must match the pattern ${shorten(String(p.pattern), MAX_PATTERN_SHOWN)}`
            };
        default:
            return {
                param: pointerToName(e.instancePath) || '(params)',
                keyword: e.keyword,
                expected: shorten(e.message ?? `fails the "${e.keyword}" rule`, 200)
            };
    }
}
function problemsOf(errors, shorten) {
    const seen = new Set();
    return errors
        .map((e) => describe(e, shorten))
        .filter((p) => !seen.has(`${p.param}\0${p.expected}`) && seen.add(`${p.param}\0${p.expected}`));
}
const typesOf = (prop) => prop.type === undefined ? [] : Array.isArray(prop.type) ? prop.type : [prop.type];
const looseKey = (s) => s.toLowerCase().replace(/[\s_-]+/g, '');
const isPlainNumber = (s) => /^-?(0|[1-9]\d*)(\.\d+)?$/.test(s) && String(Number(s)) === s;
function reshapeValue(value, prop, shorten = plainShorten) {
    const types = typesOf(prop);
    let v = value;
    const changes = [];
    if (typeof v === 'string' && types.length > 0 && !types.includes('string')) {
        if (types.includes('integer') && isPlainNumber(v) && Number.isSafeInteger(Number(v))) {
            v = Number(v);
            changes.push('string -> integer');
        }
        else if (types.includes('number') && isPlainNumber(v)) {
            v = Number(v);
            changes.push('string -> number');
        }
        else if (types.includes('boolean') && (v === 'true' || v === 'false')) {
            v = v === 'true';
            changes.push('string -> boolean');
        }
    }
    else if (typeof v === 'boolean' && types.includes('string') && !types.includes('boolean')) {
        v = String(v);
        changes.push('boolean -> string');
    }
    if (prop.enum && typeof v === 'string' && !prop.enum.includes(v)) {
        const key = looseKey(v);
        const matches = prop.enum.filter((e) => typeof e === 'string' && !spec_text/* UNPRINTABLE */.b.test(e) && looseKey(e) === key);
        const [only] = matches;
        if (matches.length === 1 && only !== undefined) {
            v = only;
            changes.push(prop.format === 'password'
                ? 'matched one allowed value'
                : `matched the allowed value "${shorten(only, 60)}"`);
        }
    }
    return changes.length > 0 ? { value: v, change: changes.join(', ') } : undefined;
}
async function judgeParams(schema, params, opts = {}) {
    const shorten = opts.shorten ?? plainShorten;
    const { validate, unchecked } = await compile(schema, shorten, opts.budgetMs);
    const first = validate(params);
    const skipped = () => uncheckedRules(schema, unchecked, shorten);
    if (first.length === 0)
        return { params, changes: [], problems: [], unchecked: skipped() };
    const properties = isObject(schema.properties) ? schema.properties : {};
    const failing = new Set(first.map((e) => describeRaw(e, shorten).param));
    const reshaped = { ...params };
    const tried = [];
    for (const param of failing) {
        const value = params[param];
        const prop = PropertySchema().safeParse(properties[param]);
        if (value === undefined || !prop.success)
            continue;
        const r = reshapeValue(value, prop.data, shorten);
        if (!r)
            continue;
        reshaped[param] = r.value;
        tried.push({ param, change: r.change });
    }
    if (tried.length === 0)
        return { params, changes: [], problems: problemsOf(first, shorten), unchecked: skipped() };
    const second = validate(reshaped);
    const problems = problemsOf(second, shorten);
    const stillFailing = new Set(second.map((e) => describeRaw(e, shorten).param));
    const changes = tried.filter((c) => !stillFailing.has(c.param));
    const out = { ...params };
    for (const c of changes)
        out[c.param] = reshaped[c.param];
    return { params: out, changes, problems, unchecked: skipped() };
}
function usesBraceQuoting(params) {
    const cs = params.connectionString;
    return typeof cs === 'string' && /(^|;)\s*[^=;]+=\s*\{/.test(cs);
}
function describeProblems(problems, params, max = 600) {
    let hint = '';
    if (problems.some((p) => p.param === 'connectionString' && p.keyword === 'pattern')) {
        hint = usesBraceQuoting(params)
            ? 'a value in the connection string needed brace quoting ({...}), which the pattern does not allow: use auth-type: basic, which sends each part on its own and needs no quoting. '
            : 'check the keywords and their order against the pattern, or use auth-type: basic. ';
    }
    let text = hint;
    for (const [i, p] of problems.entries()) {
        const item = `${p.param} ${p.expected}`;
        const more = problems.length - i;
        const room = max - text.length - (i > 0 ? 2 : 0) - (more > 1 ? 24 : 0);
        if (i > 0 && item.length > room) {
            text += `; and ${more} more problem${more > 1 ? 's' : ''}`;
            break;
        }
        text += `${i > 0 ? '; ' : ''}${i === 0 ? (0,output/* cut */.Jj)(item, Math.max(room, 80)) : item}`;
    }
    return text;
}
function describeChanges(changes) {
    return changes.map((c) => `${c.param} (${c.change})`).join(', ');
}
const JUDGE_SHARE = 0.2;
const JUDGE_MAX_MS = 5000;
function withBody(plan, body) {
    if (plan.kind === 'create')
        return { ...plan, body };
    if (plan.kind === 'update')
        return { ...plan, body, ops: (0,connection_plan/* patchOps */.h5)(plan.existing, body) };
    return plan;
}
const withParams = (body, params) => ({
    ...body,
    auth: { ...body.auth, params }
});
const MESSAGE_ROOM = output/* MAX_MESSAGE */.h2;
const REFUSAL_ROOM = 600;
class SpecReferee {
    deps;
    reply;
    warned = new Set();
    reads = 0;
    constructor(deps) {
        this.deps = deps;
    }
    read() {
        this.reply ??= (async () => {
            this.reads++;
            try {
                return { reply: await this.deps.readSpec() };
            }
            catch (e) {
                if (e instanceof errors/* ActionError */.lZ)
                    return { error: this.deps.describe?.(e) ?? e.message };
                throw e;
            }
        })();
        return this.reply;
    }
    warnOnce(message) {
        if (this.warned.has(message))
            return;
        this.warned.add(message);
        this.deps.warn(message);
    }
    async rule(body) {
        const r = await this.read();
        if ('error' in r)
            return { kind: 'unavailable', reason: r.error };
        const found = authSchemaOf(r.reply, body.auth.specName, this.deps.shorten);
        if ('unavailable' in found)
            return { kind: 'unavailable', reason: found.unavailable };
        let verdict;
        const left = this.deps.timeLeft?.() ?? Infinity;
        const budgetMs = Math.floor(Math.min(JUDGE_MAX_MS, left * JUDGE_SHARE));
        try {
            verdict = await judgeParams(found.schema, body.auth.params, {
                shorten: this.deps.shorten,
                budgetMs
            });
        }
        catch (e) {
            if (e instanceof SchemaError)
                return { kind: 'unavailable', reason: e.message };
            const why = (this.deps.shorten ?? plainShorten)(String(e.message), 200);
            return { kind: 'unavailable', reason: `its schema could not be evaluated (${why})` };
        }
        for (const u of verdict.unchecked)
            this.warnOnce(`could not check ${u.param} against the connection spec's ${u.rule} (${u.why}); going on without that rule`);
        if (verdict.problems.length > 0)
            return { kind: 'mismatch', problems: verdict.problems };
        if (verdict.changes.length > 0)
            return {
                kind: 'reshaped',
                body: withParams(body, verdict.params),
                changes: verdict.changes
            };
        return { kind: 'match', unchecked: verdict.unchecked };
    }
    unavailable(reason) {
        this.warnOnce(`could not check the auth params against Flow Service's live connection spec: ${reason}; going on without that check`);
    }
    async vet(body, nothingSent) {
        const ruling = await this.rule(body);
        switch (ruling.kind) {
            case 'unavailable':
                this.unavailable(ruling.reason);
                return body;
            case 'match':
                this.deps.log(`The auth params match Flow Service's live connection spec for "${body.auth.specName}"${ruling.unchecked.length > 0 ? ' (apart from the rules it could not check)' : ''}`);
                return body;
            case 'reshaped':
                this.deps.log(`Reshaped to match Flow Service's live connection spec for "${body.auth.specName}": ${describeChanges(ruling.changes)}`);
                return ruling.body;
            case 'mismatch': {
                const head = `the auth params do not match Flow Service's live connection spec for "${body.auth.specName}" (${nothingSent}): `;
                throw new errors/* ActionError */.lZ(`${head}${describeProblems(ruling.problems, body.auth.params, MESSAGE_ROOM - head.length)}`);
            }
        }
    }
    async vetPlan(plan, s) {
        if (!(s.dryRun || s.validateSpec) || (plan.kind !== 'create' && plan.kind !== 'update'))
            return plan;
        const nothingSent = s.dryRun ? 'dry run: nothing would be sent' : 'nothing was sent';
        const body = await this.vet(plan.body, nothingSent);
        return body === plan.body ? plan : withBody(plan, body);
    }
    async guard(body, send) {
        try {
            return await send(body);
        }
        catch (e) {
            return await this.afterRefusal(e, body, send);
        }
    }
    async afterRefusal(e, body, send) {
        if (!(0,refusal/* isUnexplained400 */.s)(e))
            throw e;
        let ruling;
        try {
            ruling = await this.rule(body);
        }
        catch (failure) {
            this.unavailable(failure instanceof errors/* ActionError */.lZ
                ? (this.deps.describe?.(failure) ?? failure.message)
                : 'it could not be consulted');
            throw e;
        }
        switch (ruling.kind) {
            case 'unavailable':
                this.unavailable(ruling.reason);
                throw e;
            case 'match':
                throw e.withNote(" (the auth params match Flow Service's live connection spec, so the spec does not explain it)");
            case 'mismatch': {
                const note = `. Flow Service's live connection spec for "${body.auth.specName}" says: `;
                const room = MESSAGE_ROOM - Math.min(e.message.length, REFUSAL_ROOM) - note.length;
                throw e.withNote(`${note}${describeProblems(ruling.problems, body.auth.params, room)}`);
            }
            case 'reshaped':
                this.deps.log(`Flow Service refused the auth params (HTTP 400); reshaped to match its live connection spec for "${body.auth.specName}": ${describeChanges(ruling.changes)}. Sending once more`);
                return await send(ruling.body);
        }
    }
}
const SPEC_READ_SHARE = 0.2;
const SPEC_READ_MAX_MS = 20_000;
const SPEC_READ_ATTEMPTS = 2;
const MAX_SPEC_CHARS = 256 * 1024;
async function readConnectionSpec(api, id = collections/* POSTGRES_SPEC_ID */.Ih) {
    const label = 'reading the connection spec';
    const parent = api.o.retry.deadline;
    const budgetMs = Math.floor(Math.min(SPEC_READ_MAX_MS, parent.remaining() * SPEC_READ_SHARE));
    const retry = {
        ...api.o.retry,
        deadline: new http/* Deadline */.B2(api.o.retry.clock, budgetMs),
        maxAttempts: Math.min(SPEC_READ_ATTEMPTS, api.o.retry.maxAttempts)
    };
    let a;
    try {
        a = await api.send(label, 'GET', `${api.base}/connectionSpecs/${encodeURIComponent(id)}`, undefined, undefined, retry);
    }
    catch (e) {
        if (e instanceof http/* DeadlineError */.j3 && parent.remaining() > 0)
            throw new errors/* ActionError */.lZ(`${label} failed: no answer within its share of the step's time (${(budgetMs / 1000).toFixed(1)} s)`);
        if (e instanceof http/* TransportError */.wX)
            throw new errors/* ActionError */.lZ(e.message);
        throw e;
    }
    if (a.kind !== 'response' || a.res.status !== 200)
        api.fail(label, a);
    if (a.res.text.length > MAX_SPEC_CHARS)
        throw new errors/* ActionError */.lZ(`the connection spec is too large to use (${Math.ceil(a.res.text.length / 1024)} KB, more than ${MAX_SPEC_CHARS / 1024} KB)`);
    return api.json(label, a);
}


/***/ })

};

//# sourceMappingURL=500.index.js.map