// The queue region (src/core/abi/queue.ts), laid out once by logInit.
import { CTL_QUEUE_BYTES, CTL_QUEUES } from '../../src/core/abi/control'
import { QUEUE_HEADER } from '../../src/core/abi/queue'
import { arenaInit } from '../arena'

export function queueInit(ctl: usize): void {
  const region = <usize>load<u32>(ctl, CTL_QUEUES)
  const bytes = load<u32>(ctl, CTL_QUEUE_BYTES)
  memory.fill(region, 0, QUEUE_HEADER)
  arenaInit(region + QUEUE_HEADER, bytes - <u32>QUEUE_HEADER)
}
