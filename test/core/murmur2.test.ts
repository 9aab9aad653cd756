import { describe, expect, it } from 'vitest'
import { LogCore } from '../../src/core/log.js'

// Values from the Kafka Java client's Utils.murmur2 (the vectors kafkajs generated with Java
// for its defaultJava partitioner).
const javaMurmur2: Record<string, number> = {
  '0': 971027396, '1': -1993445489, '128': -326012175, '2187': -1508407203, '16384': -325739742,
  '78125': -1654490814, '279936': 1462227128, '823543': -2014198330, '2097152': 607668903,
  '4782969': -1182699775, '10000000': -1830336757, '19487171': -1603849305, '35831808': -857013643,
  '62748517': -1167431028, '105413504': -381294639, '170859375': -1658323481, '100:48069': 1009543857,
}
describe('murmur2 (Kafka Java client)', async () => {
  const core = await LogCore.create({ maxBytes: 1 << 20, shared: false })
  const utf8 = (s: string) => new TextEncoder().encode(s)

  it('hashes like Utils.murmur2', () => {
    for (const [key, hash] of Object.entries(javaMurmur2)) expect(core.murmur2(utf8(key)), key).toBe(hash)
  })

  it('hashes the empty key and every tail length', () => {
    // seed ^ 0 through the final mix; tails of 1..3 bytes take the switch fall-through
    expect(core.murmur2(utf8(''))).toBe(275646681)
    expect(new Set(['a', 'ab', 'abc', 'abcd'].map((s) => core.murmur2(utf8(s)))).size).toBe(4)
  })

  it('picks the partition as (murmur2 & 0x7fffffff) % n', () => {
    for (const [key, hash] of Object.entries(javaMurmur2)) {
      expect((core.murmur2(utf8(key)) & 0x7fffffff) % 7, key).toBe((hash & 0x7fffffff) % 7)
    }
  })
})
