// The routing region: exchanges, bindings and the topic tries RabbitMQ routing runs on, at
// CTL_ROUTE (CTL_ROUTE_BYTES long). Every thread binds, unbinds and routes on the same tables.
// Plain numeric constants only: asc compiles this file for assembly/ and tsc for src/core/.
//
//  +---------------------------------------------------------------+
//  |           route lock (0 or the holder's lane token)           |  0
//  +---------------------------------------------------------------+
//  |                      reserved to ROUTE_HEADER                 ...  4
//  +---------------------------------------------------------------+
//  |  arena (arena.ts) for everything else, to the region's end    | ROUTE_HEADER
export const ROUTE_LOCK = 0
export const ROUTE_HEADER = 256
