import { raiseWasmTieringBudget } from '../platform/wasm-tiering.js'
import { run } from './main.js'

// After the imports (undici loaded, its HTTP parser compiling) and before the first await, so
// before the parser is instantiated: see wasm-tiering.ts.
raiseWasmTieringBudget()
await run()
