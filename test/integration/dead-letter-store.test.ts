import { describe, expect, it } from 'vitest';
import { countDeadLetters, listDeadLetters, purgeDeadLetters, readDeadLetters, redriveDeadLetters } from '../../src/dead-letters/index.js';
import { createQueues, DEAD_LETTER_STATES, getQueueStats } from '../../src/shared/queues.js';
import { createRedis } from '../../src/shared/redis.js';
import { testRedisUrl, trackRedis, uniquePrefix } from '../helpers/context.js';
import { lettersInEveryState } from '../helpers/dead-letter-states.js';
import { waitFor } from '../helpers/wait.js';

async function setup(perState = 2) {
  const prefix = uniquePrefix('dlq-store');
  const redis = trackRedis(createRedis(testRedisUrl(), { role: 'producer' }));
  const queues = createQueues({ connection: redis, prefix });
  const letters = await lettersInEveryState(testRedisUrl(), prefix, perState);
  return {
    queues,
    letters,
    async close() {
      await letters.close();
      await queues.close();
      await redis.quit();
    },
  };
}

describe('the dead-letter store: one definition of the DLQ', () => {
  it('counts, lists and pages the same letters in every state (waiting, active, delayed, prioritized, failed)', async () => {
    const { queues, letters, close } = await setup(2);
    const all = await listDeadLetters(queues, { start: 0, end: 999 });
    const total = DEAD_LETTER_STATES.length * 2;
    expect(await countDeadLetters(queues)).toBe(total);
    expect((await getQueueStats(queues)).dead).toBe(total);
    expect(all).toHaveLength(total);
    // The count equals the list length for the letters in each state.
    const counts = await queues.deadLetterQueue.getJobCounts(...DEAD_LETTER_STATES);
    for (const state of DEAD_LETTER_STATES) {
      const listed = all.filter((e) => e.state === state);
      expect(listed.length, state).toBe(counts[state]);
      expect(listed.map((e) => e.data.sessionId).sort(), state).toEqual([...letters.sessions[state]].sort());
    }
    // Pages of 3 add up to the whole listing, each letter once (no longer up to 3 per state per page).
    const paged = [];
    for (let start = 0; start < total; start += 3) {
      const page = await readDeadLetters(queues, { start, end: start + 2 });
      expect(page.total).toBe(total);
      expect(page.entries.length).toBe(Math.min(3, total - start));
      paged.push(...page.entries);
    }
    expect(paged.map((e) => e.id)).toEqual(all.map((e) => e.id));
    await close();
  });

  it('dlq retry --all no longer skips a letter being parked (active): it is re-driven once parked', async () => {
    const { queues, letters, close } = await setup(1);
    const redrive = redriveDeadLetters(queues, { all: true, settleMs: 30_000 });
    // Everything else is re-driven at once; the active letter waits for its processor.
    await waitFor('only the active letter left', async () => (await countDeadLetters(queues)) === 1);
    letters.release();
    const r = await redrive;
    expect([...r.redriven].sort()).toEqual([...letters.ids].sort());
    expect(r.held).toBeUndefined();
    expect(await countDeadLetters(queues)).toBe(0);
    for (const id of letters.ids) expect((await queues.closeQueue.getJob(id))?.data).toMatchObject({ source: 'redrive', redriveCount: 1 });
    await close();
  });

  it('dlq purge deletes what dlq list shows, a letter being parked included, and reports that count', async () => {
    const { queues, letters, close } = await setup(2);
    const listed = (await listDeadLetters(queues, { start: 0, end: 999 })).length;
    const purge = purgeDeadLetters(queues, { settleMs: 30_000 });
    await waitFor('only the active letters left', async () => (await countDeadLetters(queues)) === 2);
    letters.release();
    expect(await purge).toBe(listed);
    expect(await countDeadLetters(queues)).toBe(0);
    await close();
  });

  it('a letter still held after settleMs is reported as held, not as re-driven or missing', async () => {
    const { queues, letters, close } = await setup(1);
    const r = await redriveDeadLetters(queues, { ids: [letters.ids[1]!, 'close-nope'], settleMs: 300 });
    expect(letters.ids[1]).toBe(`close-${letters.sessions.active[0]}`);
    expect(r).toEqual({ redriven: [], missing: ['close-nope'], held: [letters.ids[1]] });
    await close();
  });
});
