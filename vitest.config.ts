import { playwright } from '@vitest/browser-playwright'
import { configDefaults, defineConfig, type TestProjectInlineConfiguration } from 'vitest/config'
import type { Transport } from './test/bus/transports.js'

const BUS_SUITE = 'test/bus/**/*.test.ts'

/**
 * Files of the bus suite that cannot run in a browser, and why (one place):
 * - test/bus/**\/*.node.test.ts: they reach into Node itself (node:v8 and node:vm to force a
 *   garbage collection and watch what the bus leaves resident).
 */
const NODE_ONLY = ['test/bus/**/*.node.test.ts']

/**
 * Real Chromium (Debian's, driven by playwright; it downloads no browser). A cross-origin-isolated
 * page (COOP/COEP) has SharedArrayBuffer, so a bus can be in shared memory and Web Workers attach
 * over it; a page without the headers has none, and its workers use the copying transport.
 */
function browserProject(transport: Transport, isolated: boolean, include: string[]): TestProjectInlineConfiguration {
  return {
    server: isolated ? { headers: { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' } } : {},
    test: {
      name: `browser-${transport}`,
      include,
      exclude: [...configDefaults.exclude, ...NODE_ONLY],
      provide: { transport },
      testTimeout: 30_000,
      browser: {
        enabled: true,
        headless: true,
        screenshotFailures: false,
        provider: playwright({
          launchOptions: {
            executablePath: '/usr/bin/chromium',
            args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
          },
        }),
        instances: [{ browser: 'chromium' }],
      },
    },
  }
}

export default defineConfig({
  test: {
    testTimeout: 30_000,
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, 'test/browser/**'],
          typecheck: { enabled: true, include: ['test/**/*.test-d.ts'], tsconfig: './tsconfig.json' },
          testTimeout: 30_000,
        },
      },
      // the bus behaviour suite again on every other transport (test/bus/transports.ts): one
      // contract; the 'unit' project runs it on a plain bus
      ...(['shared', 'worker-shared', 'worker-copy'] as const).map((transport) => ({
        test: {
          name: `bus-${transport}`,
          include: [BUS_SUITE],
          provide: { transport },
          testTimeout: 30_000,
        },
      })),
      // and in Chromium: a bus in the page, plain (not isolated) and shared (isolated); the worker
      // transports (isolated for shared memory, not for the copying one), each with the real Web
      // Worker tests of test/browser
      browserProject('plain', false, [BUS_SUITE]),
      browserProject('shared', true, [BUS_SUITE]),
      browserProject('worker-shared', true, [BUS_SUITE, 'test/browser/**/*.test.ts']),
      browserProject('worker-copy', false, [BUS_SUITE, 'test/browser/**/*.test.ts']),
    ],
  },
})
