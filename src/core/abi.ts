// The layout contract between the AssemblyScript core (assembly/) and the TypeScript host
// (src/core/): one descriptor per structure, each a diagram and its constants. The host imports
// them through this file; asc cannot resolve the '.js' specifiers below, so assembly/ imports
// each descriptor directly.
export * from './abi/arena.js'
export * from './abi/control.js'
export * from './abi/cursor.js'
export * from './abi/dedup.js'
export * from './abi/directory.js'
export * from './abi/frame.js'
export * from './abi/group.js'
export * from './abi/layout.js'
export * from './abi/partition.js'
export * from './abi/queue.js'
export * from './abi/route.js'
export * from './abi/segment.js'
export * from './abi/status.js'
