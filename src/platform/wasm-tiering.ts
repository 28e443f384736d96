import { setFlagsFromString } from 'node:v8'

/*
 * undici parses HTTP with llhttp compiled to WebAssembly. V8 runs it on its baseline compiler
 * (Liftoff) and, once the parser has run for a while (three small replies are enough), compiles
 * its 29 kB parse function again with its optimising compiler, on a background thread: 100-200 ms
 * of CPU and some 35 MB for a parser that a step with a handful of requests has nearly finished
 * with, and the process waits for that compile before it exits. With a larger tiering budget the
 * parser stays on Liftoff for the requests of an ordinary step; a long run (150 small replies or
 * more, a scan of thousands of connections) still gets the optimised parser.
 *
 * When: V8 reads the budget when the WebAssembly module is instantiated. undici starts compiling
 * it as undici loads and instantiates it once that compile has finished, in a later task. Each
 * action's entry (its index.ts) sets the budget after its imports, which load undici, and before
 * it awaits anything, so before that instantiation. Not earlier: a V8 flag changed from its
 * default no longer matches the code cache of Node's own modules, so every built-in module loaded
 * after the change (http, tls, undici's and @actions/core's dependencies) is compiled from source,
 * some 10-20 ms of start-up.
 */
export const WASM_TIERING_BUDGET = 1_000_000_000

export function raiseWasmTieringBudget(): void {
  setFlagsFromString(`--wasm-tiering-budget=${WASM_TIERING_BUDGET}`)
}
