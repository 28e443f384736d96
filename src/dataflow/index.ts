// First, before anything loads undici: V8's tiering of its HTTP parser (see wasm-tiering.ts).
import '../platform/wasm-tiering.js'
import { run } from './main.js'

await run()
