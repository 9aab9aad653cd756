// consume(): a reader turned into an async iterator with a bounded buffer. The reader pauses at
// the high-water mark and resumes when the loop has taken half of it; break, return() or the
// signal end the loop without throwing.
import { asyncDispose } from '../dispose.js'
import type { Delivered } from '../topic/topic.js'
import type { ReaderLike } from './surface.js'

export function consumeReader(open: (push: (message: Delivered) => void) => ReaderLike, highWaterMark: number): AsyncIterableIterator<Delivered> & AsyncDisposable {
  const buffer: Delivered[] = []
  let head = 0
  let wake: (() => void) | undefined
  const reader = open((message) => {
    buffer.push(message)
    if (buffer.length - head >= highWaterMark) reader.pause()
    wake?.()
  })
  reader.onClose(() => wake?.())
  const done = (): IteratorResult<Delivered> => {
    reader.close()
    buffer.length = head = 0
    return { value: undefined, done: true }
  }
  const iterator = {
    async next(): Promise<IteratorResult<Delivered>> {
      for (;;) {
        if (head < buffer.length) {
          const value = buffer[head++]
          if (head === buffer.length) buffer.length = head = 0
          if (reader.paused && buffer.length - head <= highWaterMark >> 1) reader.resume()
          return { value, done: false }
        }
        if (reader.closed) return done()
        await new Promise<void>((resolve) => { wake = resolve })
        wake = undefined
      }
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
