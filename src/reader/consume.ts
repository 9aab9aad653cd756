// consume(): a reader turned into an async iterator with a bounded buffer. The reader pauses at
// the high-water mark and resumes when the loop has taken half of it; break, return() or the
// signal end the loop without throwing.
import { asyncDispose } from '../dispose.js'
import type { Delivered } from '../topic/topic.js'
import type { ReaderLike } from './surface.js'

export function consumeReader(open: (push: (message: Delivered) => void) => ReaderLike, highWaterMark: number): AsyncIterableIterator<Delivered> & AsyncDisposable {
  const buffer: Delivered[] = []
  let head = 0
  /** next() calls not answered yet, oldest first; while any waits, the buffer is empty. */
  const waiting: Array<(result: IteratorResult<Delivered>) => void> = []
  const take = (): IteratorResult<Delivered> => {
    const value = buffer[head++]
    if (head === buffer.length) buffer.length = head = 0
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
    buffer.push(message)
    settle()
    if (buffer.length - head >= highWaterMark) reader.pause()
  })
  reader.onClose(settle)
  const done = (): IteratorResult<Delivered> => {
    buffer.length = head = 0
    reader.close()
    settle() // the reader may have closed before: the waiting calls end here then
    return { value: undefined, done: true }
  }
  const iterator = {
    async next(): Promise<IteratorResult<Delivered>> {
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
