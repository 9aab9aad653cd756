// The routing region (src/core/abi/route.ts), laid out once by logInit.
import { CTL_ROUTE, CTL_ROUTE_BYTES } from '../../src/core/abi/control'
import { ROUTE_HEADER } from '../../src/core/abi/route'
import { arenaInit } from '../arena'

export function routeInit(ctl: usize): void {
  const region = <usize>load<u32>(ctl, CTL_ROUTE)
  const bytes = load<u32>(ctl, CTL_ROUTE_BYTES)
  memory.fill(region, 0, ROUTE_HEADER)
  arenaInit(region + ROUTE_HEADER, bytes - <u32>ROUTE_HEADER)
}
