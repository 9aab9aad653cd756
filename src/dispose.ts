// The disposal symbols. Node 20 defines them; the fallback keeps older runtimes and browsers
// working (`using` needs the real ones, but calling the methods by name always works).
export const asyncDispose: typeof Symbol.asyncDispose = Symbol.asyncDispose ?? Symbol.for('Symbol.asyncDispose')
export const dispose: typeof Symbol.dispose = Symbol.dispose ?? Symbol.for('Symbol.dispose')
