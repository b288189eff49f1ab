import { describe, expect, it } from 'vitest';
import { enqueueCloses, SourcedInput } from '../../src/producer/index.js';
import { createQueues } from '../../src/shared/queues.js';
import { createRedis } from '../../src/shared/redis.js';
import { testRedisUrl, track, trackRedis, uniquePrefix } from '../helpers/context.js';

async function setup() {
  const prefix = uniquePrefix('enqueue-origin');
  const redis = trackRedis(createRedis(testRedisUrl(), { role: 'producer', name: 'test' }));
  const queues = track(createQueues({ connection: redis, prefix }), 'queues');
  const target = { queues, redis };
  const waiting = async () => (await queues.closeQueue.getWaiting()).map((j) => j.data.sessionId).sort();
  const cleanup = async () => {
    await queues.closeQueue.obliterate({ force: true });
    await queues.close();
    await redis.quit();
  };
  return { target, waiting, cleanup };
}

describe('enqueueCloses with origins (invalid items reported once, by it, with where they came from)', () => {
  it('reports each invalid SourcedInput with its origin in input order; a reader problem counts as invalid without being validated', async () => {
    const t = await setup();
    const items = [
      new SourcedInput('origin-ok-1', 'line 1'),
      new SourcedInput('bad/id', 'line 2'),
      new SourcedInput('origin-ok-2', 'line 3', 'line is longer than 65536 characters'),
      new SourcedInput({ sessionId: 'origin-ok-3', color: 'red' }, 'element 4'),
      'origin-ok-4', // a plain input beside them: no origin
      42,
    ];
    const report = await enqueueCloses<string>(t.target, items, { source: 'test', chunkSize: 2 });
    expect(report).toMatchObject({ accepted: 2, duplicates: 0, invalidCount: 4 });
    expect(report.invalid).toEqual([
      { input: 'bad/id', origin: 'line 2', reason: expect.stringMatching(/^invalid session id: contains the character `\/`/) },
      { input: 'origin-ok-2', origin: 'line 3', reason: 'line is longer than 65536 characters' },
      { input: { sessionId: 'origin-ok-3', color: 'red' }, origin: 'element 4', reason: 'unknown field(s) `color`' },
      { input: 42, reason: 'expected a session id string or {sessionId}, got number' },
    ]);
    expect(await t.waiting()).toEqual(['origin-ok-1', 'origin-ok-4']);
    await t.cleanup();
  });

  it('keeps what reportInputAs makes of an invalid input, not the input (a huge element is not held in memory)', async () => {
    const t = await setup();
    const huge = { sessionId: 'x', blob: 'y'.repeat(100_000) };
    const report = await enqueueCloses<string>(t.target, [new SourcedInput(huge, 'element 1')], { reportInputAs: (input) => `preview of ${typeof input}` });
    expect(report.invalid).toEqual([{ input: 'preview of object', origin: 'element 1', reason: 'unknown field(s) `blob`' }]);
    await t.cleanup();
  });

  it('plain inputs are reported as before, as {input, reason}', async () => {
    const t = await setup();
    const report = await enqueueCloses(t.target, ['plain-ok', 'not/valid']);
    expect(report.invalid).toEqual([{ input: 'not/valid', reason: expect.stringMatching(/^invalid session id: /) }]);
    expect(Object.keys(report.invalid[0]!)).toEqual(['input', 'reason']);
    await t.cleanup();
  });
});
