import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    testTimeout: 30_000,
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          typecheck: { enabled: true, include: ['test/**/*.test-d.ts'], tsconfig: './tsconfig.json' },
          testTimeout: 30_000,
        },
      },
      // the bus behaviour suite again on every other transport (test/bus/transports.ts): one
      // contract; the 'unit' project runs it on a plain bus
      ...(['shared', 'worker-shared', 'worker-copy'] as const).map((transport) => ({
        test: {
          name: `bus-${transport}`,
          include: ['test/bus/**/*.test.ts'],
          env: { RINGBUS_TRANSPORT: transport },
          testTimeout: 30_000,
        },
      })),
    ],
  },
})
