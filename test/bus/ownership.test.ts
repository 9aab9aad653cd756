// Whatever a user does with a value the bus handed over (keep it, write into it, transfer its
// buffer to another thread) touches nothing else: raw values and binary keys replayed from the
// log each own their ArrayBuffer, holding their own bytes and no other record's.
import { describe, expect, it } from 'vitest'
import { SMALL, useBuses, type AnyMessage } from './helpers.js'

const newBus = useBuses()
const text = (s: string) => new TextEncoder().encode(s)

describe('values handed to users', () => {
  it('own their bytes: a replayed raw value or binary key shares its buffer with nothing', async () => {
    const bus = await newBus(SMALL)
    bus.topic('secrets', { codec: 'raw' })
    bus.topic('greetings', { codec: 'raw' })
    bus.publish('secrets', text('password=hunter2'), { key: text('k1') })
    bus.publish('greetings', text('hello'), { key: text('k2') })
    bus.publish('greetings', text('world'))
    const got: AnyMessage[] = []
    bus.subscribe('greetings', (m) => { got.push(m) }, { from: 'earliest' })
    await bus.idle()
    expect(got.map((m) => new TextDecoder().decode(m.value as Uint8Array))).toEqual(['hello', 'world'])
    for (const m of got) {
      const value = m.value as Uint8Array
      expect(value.byteOffset).toBe(0)
      expect(value.buffer.byteLength).toBe(value.length)
    }
    const key = got[0].key as Uint8Array
    expect(key.byteOffset).toBe(0)
    expect(key.buffer.byteLength).toBe(2)
  })

  it('survive being written to and transferred: later deliveries and replays are unaffected', async () => {
    const bus = await newBus(SMALL)
    bus.topic('frames', { codec: 'raw' })
    for (let i = 0; i < 50; i++) bus.publish('frames', new Uint8Array([i, i + 1, i + 2]), { key: new Uint8Array([i]) })
    const { port1, port2 } = new MessageChannel()
    let n = 0
    bus.subscribe('frames', (m) => {
      const value = m.value as Uint8Array
      expect(Array.from(value)).toEqual([n, n + 1, n + 2])
      value.fill(0xee) // the user's to change
      port1.postMessage(value, [value.buffer]) // and to give away
      expect(value.length).toBe(0)
      port1.postMessage((m.key as Uint8Array), [(m.key as Uint8Array).buffer])
      n++
    }, { from: 'earliest' })
    await bus.idle()
    expect(n).toBe(50)
    // the log and every other reader still see the bytes that were published
    const again: number[][] = []
    bus.subscribe('frames', (m) => { again.push(Array.from(m.value as Uint8Array)) }, { from: 'earliest' })
    await bus.idle()
    expect(again).toEqual(Array.from({ length: 50 }, (_, i) => [i, i + 1, i + 2]))
    port1.close()
    port2.close()
  })
})
