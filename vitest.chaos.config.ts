import { defineConfig } from 'vitest/config';

/**
 * The fault-injection suite (`npm run chaos`): real worker processes, Redis and the simulator
 * under SIGKILL, a Redis restart, API faults and a 429 storm. Files run one at a time so their
 * worker processes do not compete for the CPU; the whole suite is bounded by the timeouts below.
 */
export default defineConfig({
  test: {
    include: ['test/chaos/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    setupFiles: ['test/helpers/leak-check.ts'],
    pool: 'forks',
    maxWorkers: 1,
    fileParallelism: false,
    testTimeout: 300_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
