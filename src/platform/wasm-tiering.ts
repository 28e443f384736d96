import { setFlagsFromString } from 'node:v8'

/*
 * Imported first by each action's entry (its index.ts), before anything loads undici.
 *
 * undici parses HTTP with llhttp compiled to WebAssembly, instantiated as undici loads. V8 runs
 * it on its baseline compiler (Liftoff) and, once the parser has run for a while (three small
 * replies are enough), compiles its 29 kB parse function again with its optimising compiler, on a
 * background thread: 100-200 ms of CPU and some 35 MB for a parser that a step with a handful of
 * requests has nearly finished with, and the process waits for that compile before it exits.
 * With a larger tiering budget the parser stays on Liftoff for the requests of an ordinary step;
 * a long run (150 small replies or more, a scan of thousands of connections) still gets the
 * optimised parser.
 *
 * V8 reads the budget when the WebAssembly module is instantiated, hence before undici loads.
 */
export const WASM_TIERING_BUDGET = 1_000_000_000

setFlagsFromString(`--wasm-tiering-budget=${WASM_TIERING_BUDGET}`)
