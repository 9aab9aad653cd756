// Differential test: every scenario replayed on ringbus must give exactly the outcomes a real
// RabbitMQ broker gave (fixtures/<id>.json, recorded by record.mjs; see README.md for what they
// establish). No broker is needed to run it: the fixtures are committed.
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { replay } from './replay.js'
import { scenarios, type Fixture } from './scenarios.js'

function fixtureOf(id: string): Fixture {
  return JSON.parse(readFileSync(new URL(`./fixtures/${id}.json`, import.meta.url), 'utf8')) as Fixture
}

describe('ringbus against recorded RabbitMQ behaviour', () => {
  it('has a fixture for every scenario, recorded for that scenario', () => {
    for (const scenario of scenarios) expect(fixtureOf(scenario.id).scenario).toBe(scenario.id)
  })

  for (const scenario of scenarios) {
    it(`${scenario.id}: ${scenario.title}`, async () => {
      expect(await replay(scenario)).toEqual(fixtureOf(scenario.id).outcomes)
    })
  }
})
