// consume(): a reader turned into an async iterator with a bounded buffer. The reader pauses at
// the high-water mark and resumes when the loop has taken half of it; break, return() or the
// signal end the loop without throwing.
import { asyncDispose } from '../dispose.js'
import type { Delivered } from '../topic/topic.js'
import type { ReaderLike } from './surface.js'

/** Why a record buffered for a group's loop was not handled: the loop ended before taking it. */
export const NOT_TAKEN: unique symbol = Symbol('ringbus.notTaken')

/**
 * `acknowledge` (a group member): each record counts as handled only once the loop asks for the
 * next one (or ends), so that what is committed is what the loop's body finished.
 */
export function consumeReader(open: (push: (message: Delivered) => unknown) => ReaderLike, highWaterMark: number, acknowledge = false): AsyncIterableIterator<Delivered> & AsyncDisposable {
  const buffer: Delivered[] = []
  /** With `acknowledge`: what settles each buffered record's handling, by buffer index. */
  const handled: Array<(taken: boolean) => void> = []
  /** The record the loop's body has now. */
  let inHand: ((taken: boolean) => void) | undefined
  const finish = (): void => {
    inHand?.(true)
    inHand = undefined
  }
  let head = 0
  /** next() calls not answered yet, oldest first; while any waits, the buffer is empty. */
  const waiting: Array<(result: IteratorResult<Delivered>) => void> = []
  const take = (): IteratorResult<Delivered> => {
    if (acknowledge) inHand = handled[head]
    const value = buffer[head++]
    if (head === buffer.length) buffer.length = handled.length = head = 0
    if (reader.paused && buffer.length - head <= highWaterMark >> 1) reader.resume()
    return { value, done: false }
  }
  // buffered records go to waiting next() calls in order; once closed and drained, they end
  const settle = (): void => {
    if (waiting.length === 0) return
    while (waiting.length > 0 && head < buffer.length) waiting.shift()!(take())
    if (reader.closed && head === buffer.length) for (const resolve of waiting.splice(0)) resolve({ value: undefined, done: true })
  }
  const reader = open((message) => {
    const whenHandled = acknowledge
      ? new Promise<void>((resolve, reject) => { handled[buffer.length] = (taken) => taken ? resolve() : reject(NOT_TAKEN) })
      : undefined
    buffer.push(message)
    settle()
    if (buffer.length - head >= highWaterMark) reader.pause()
    return whenHandled
  })
  reader.onClose(settle)
  const done = (): IteratorResult<Delivered> => {
    finish()
    reader.close()
    // records the loop never took go back, uncommitted, to whoever reads the partition next
    for (let i = head; i < handled.length; i++) handled[i]?.(false)
    buffer.length = handled.length = head = 0
    settle() // the reader may have closed before: the waiting calls end here then
    return { value: undefined, done: true }
  }
  const iterator = {
    async next(): Promise<IteratorResult<Delivered>> {
      finish() // the body is done with the record it had
      if (head < buffer.length) return take()
      if (reader.closed) return done()
      return new Promise<IteratorResult<Delivered>>((resolve) => waiting.push(resolve))
    },
    async return(): Promise<IteratorResult<Delivered>> {
      return done()
    },
    [Symbol.asyncIterator]() {
      return iterator
    },
    [asyncDispose]: async () => { done() },
  }
  return iterator as AsyncIterableIterator<Delivered> & AsyncDisposable
}
