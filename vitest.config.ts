import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Dates are UTC whatever the machine's TZ; tests that check this set TZ themselves.
    env: { TZ: 'UTC' },
  },
});
