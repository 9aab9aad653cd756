// The queue region: queues, their consumers and the delivery state of every message, at
// CTL_QUEUES (CTL_QUEUE_BYTES long). Consumers in any thread claim, ack and requeue here.
// Plain numeric constants only: asc compiles this file for assembly/ and tsc for src/core/.
//
//  +---------------------------------------------------------------+
//  |           queue lock (0 or the holder's lane token)           |  0
//  +---------------------------------------------------------------+
//  |                      reserved to QUEUE_HEADER                 ...  4
//  +---------------------------------------------------------------+
//  |  arena (arena.ts) for everything else, to the region's end    | QUEUE_HEADER
export const QUEUE_LOCK = 0
export const QUEUE_HEADER = 256
