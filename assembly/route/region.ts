// The routing region (src/core/abi/route.ts), laid out once by logInit, and the helpers every
// routing operation shares: the arena, exchanges by id, lists, trie nodes.
import { CTL_ROUTE, CTL_ROUTE_BYTES } from '../../src/core/abi/control'
import {
  ROUTE_ARRAY_CAPACITY, ROUTE_ARRAY_SLOTS, ROUTE_EDGE_HASH, ROUTE_EDGE_STAR, ROUTE_EDGE_WORD, ROUTE_EXCHANGES, ROUTE_HEADER,
  ROUTE_N_BINDINGS, ROUTE_N_EDGE, ROUTE_N_EDGES, ROUTE_N_HASH, ROUTE_N_PARENT, ROUTE_N_STAR, ROUTE_N_WORD, ROUTE_N_WORD_HASH,
  ROUTE_N_WORD_LENGTH,
} from '../../src/core/abi/route'
import { arenaFree, arenaInit } from '../arena'
import { tableRemove } from './table'

export function routeInit(ctl: usize): void {
  const region = <usize>load<u32>(ctl, CTL_ROUTE)
  const bytes = load<u32>(ctl, CTL_ROUTE_BYTES)
  memory.fill(region, 0, ROUTE_HEADER)
  arenaInit(region + ROUTE_HEADER, bytes - <u32>ROUTE_HEADER)
}

// @ts-ignore: decorator
@inline export function regionOf(ctl: usize): usize {
  return <usize>load<u32>(ctl, CTL_ROUTE)
}

// @ts-ignore: decorator
@inline export function arenaOf(region: usize): usize {
  return region + ROUTE_HEADER
}

/** The exchange record of `id`, or 0 (never declared, or deleted). */
export function exchangeAt(region: usize, id: i32): usize {
  const array = <usize>load<u32>(region, ROUTE_EXCHANGES)
  if (id < 0 || array == 0 || <u32>id >= load<u32>(array, ROUTE_ARRAY_CAPACITY)) return 0
  return <usize>load<u32>(array + ROUTE_ARRAY_SLOTS + (<usize>id << 2))
}

// Doubly linked lists threaded through binding records: `head` is the address of the head word,
// `prev`/`next` the offsets of the links in a binding. The next links and the head are the
// truth, each change published by one store; prev links are rebuilt by recovery.

export function listLink(head: usize, b: usize, prev: usize, next: usize): void {
  const first = <usize>load<u32>(head)
  store<u32>(b + prev, 0)
  store<u32>(b + next, <u32>first)
  store<u32>(head, <u32>b) // published
  if (first != 0) store<u32>(first + prev, <u32>b)
}

export function listUnlink(head: usize, b: usize, prev: usize, next: usize): void {
  const before = <usize>load<u32>(b + prev)
  const after = <usize>load<u32>(b + next)
  if (before == 0) store<u32>(head, <u32>after) // published
  else store<u32>(before + next, <u32>after)
  if (after != 0) store<u32>(after + prev, <u32>before)
}

export function listHas(head: usize, b: usize, next: usize): bool {
  for (let x = <usize>load<u32>(head); x != 0; x = <usize>load<u32>(x + next)) if (x == b) return true
  return false
}

/** Sets every prev link from the next links; returns the list's length. */
export function listRelink(head: usize, prev: usize, next: usize): u32 {
  let before: usize = 0
  let n: u32 = 0
  for (let x = <usize>load<u32>(head); x != 0; x = <usize>load<u32>(x + next)) {
    store<u32>(x + prev, <u32>before)
    before = x
    n++
  }
  return n
}

// @ts-ignore: decorator
@inline export function nodeBytes(node: usize): u32 {
  return <u32>ROUTE_N_WORD + load<u32>(node, ROUTE_N_WORD_LENGTH)
}

/** No bindings and no children: the node can go. */
export function nodeEmpty(node: usize): bool {
  return load<u32>(node, ROUTE_N_BINDINGS) == 0 && load<u32>(node, ROUTE_N_STAR) == 0 && load<u32>(node, ROUTE_N_HASH) == 0 &&
    load<u32>(node, ROUTE_N_EDGES) == 0
}

/** Unlinks a node from its parent (one store, or one tombstone) and frees it. */
export function nodeDrop(arena: usize, node: usize, shrink: bool): void {
  const parent = <usize>load<u32>(node, ROUTE_N_PARENT)
  const edge = load<u32>(node, ROUTE_N_EDGE)
  if (edge == ROUTE_EDGE_STAR) store<u32>(parent, 0, ROUTE_N_STAR)
  else if (edge == ROUTE_EDGE_HASH) store<u32>(parent, 0, ROUTE_N_HASH)
  else if (edge == ROUTE_EDGE_WORD) tableRemove(arena, parent + ROUTE_N_EDGES, load<u32>(node, ROUTE_N_WORD_HASH), node, shrink)
  arenaFree(arena, node, nodeBytes(node))
}

/** Drops `node` and then its ancestors while they are empty; the root stays. */
export function prune(arena: usize, node: usize): void {
  while (node != 0 && load<u32>(node, ROUTE_N_PARENT) != 0 && nodeEmpty(node)) {
    const parent = <usize>load<u32>(node, ROUTE_N_PARENT)
    nodeDrop(arena, node, true)
    node = parent
  }
}
