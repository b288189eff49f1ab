import { afterEach, expect } from 'vitest';
import { closeLeaked } from './context.js';

// A test that leaves a server, worker or connection open fails (graphile-worker's after-each check).
afterEach(async () => {
  const leaked = await closeLeaked();
  expect(leaked, `test left these open: ${leaked.join(', ')}`).toEqual([]);
});
