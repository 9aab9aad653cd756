// Topic names follow Kafka's rule; subscription patterns follow AMQP topic-exchange rules
// (`*` is exactly one word, `#` zero or more words, words split on `.`).
import { INTERNAL_PREFIX } from '../core/directory.js'
import { InvalidTopicError } from '../errors.js'

const LEGAL = /^[a-zA-Z0-9._-]+$/
const MAX_NAME = 249

export function isPattern(name: string): boolean {
  return name.includes('*') || name.includes('#')
}

export function validateTopicName(name: unknown): string {
  if (typeof name !== 'string') throw new InvalidTopicError(`topic name must be a string, got ${typeof name}`, { topic: String(name) })
  if (name.length === 0) throw new InvalidTopicError('topic name is empty', { topic: name })
  if (isPattern(name)) throw new InvalidTopicError(`'${name}' is a pattern: publish and declare need a topic name`, { topic: name })
  if (name.length > MAX_NAME) throw new InvalidTopicError(`topic name is ${name.length} bytes, more than ${MAX_NAME}`, { topic: name })
  if (!LEGAL.test(name)) throw new InvalidTopicError(`topic name '${name}' may only hold [a-zA-Z0-9._-]`, { topic: name })
  if (name === '.' || name === '..') throw new InvalidTopicError(`topic name '${name}' is not allowed`, { topic: name })
  if (name.startsWith(INTERNAL_PREFIX)) throw new InvalidTopicError(`topic names starting with '${INTERNAL_PREFIX}' are the bus's own`, { topic: name })
  return name
}

/** Checks a subscription target (a topic name or an AMQP pattern) and returns a matcher. */
export function compileSubscription(target: unknown): (topic: string) => boolean {
  if (typeof target !== 'string') throw new InvalidTopicError(`subscription must name a topic or pattern, got ${typeof target}`, { topic: String(target) })
  if (!isPattern(target)) {
    validateTopicName(target)
    return (topic) => topic === target
  }
  if (target.length > 255) throw new InvalidTopicError(`pattern is ${target.length} bytes, more than 255`, { topic: target })
  const words = target.split('.')
  for (const word of words) {
    if ((word.includes('*') || word.includes('#')) && word.length !== 1) {
      throw new InvalidTopicError(`pattern '${target}': '*' and '#' must stand for a whole word`, { topic: target })
    }
    if (word.length > 1 && !LEGAL.test(word)) throw new InvalidTopicError(`pattern '${target}' may only hold [a-zA-Z0-9._-*#]`, { topic: target })
  }
  return (topic) => matchWords(words, 0, topic.split('.'), 0)
}

/** AMQP topic matching over words; `#` may match zero words, `*` exactly one. */
export function matchWords(pattern: string[], p: number, words: string[], w: number): boolean {
  for (;;) {
    if (p === pattern.length) return w === words.length
    const word = pattern[p]
    if (word === '#') {
      // collapse repeated '#', then try every split point
      while (p + 1 < pattern.length && pattern[p + 1] === '#') p++
      if (p + 1 === pattern.length) return true
      for (let i = w; i <= words.length; i++) if (matchWords(pattern, p + 1, words, i)) return true
      return false
    }
    if (w === words.length || (word !== '*' && word !== words[w])) return false
    p++
    w++
  }
}
