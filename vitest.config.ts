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
      {
        // the bus behaviour suite again, on a core in shared memory: one contract, both transports
        test: {
          name: 'bus-shared',
          include: ['test/bus/**/*.test.ts'],
          env: { RINGBUS_SHARED: '1' },
          testTimeout: 30_000,
        },
      },
    ],
  },
})
