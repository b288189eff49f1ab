import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { followResults } from '../../src/results/follow-results.js';
import { createResultsWriter, readResults, resultDedupeKey, type ResultEntry } from '../../src/results/results-stream.js';
import { keys } from '../../src/shared/names.js';
import { testRedisUrl, track, trackRedis, uniquePrefix } from '../helpers/context.js';
import { startRedisServer } from '../helpers/redis-server.js';

const run = promisify(execFile);

const entry = (over: Partial<ResultEntry> = {}): ResultEntry => ({
  jobId: 'close-s1',
  jobTimestamp: 1_700_000_000_000,
  sessionId: 's1',
  requestId: 'req-1',
  outcome: 'closed',
  status: 'COMPLETED',
  httpStatus: 200,
  attempts: 1,
  finishedAt: 1_700_000_000_500,
  ...over,
});

/**
 * Waits until this test's follower (its connection is named after the prefix) is blocked in XREAD,
 * as seen in CLIENT LIST. Matching any follower let a parallel test's blocked follower stand in for
 * ours, so the writes came before ours pinned `$` and the test hung.
 */
async function waitForBlockedFollower(redis: Redis, prefix: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  const blocked = (list: string) => list.split('\n').some((l) => l.includes(`name=bb-reaper:results-follow:${prefix} `) && l.includes('cmd=xread') && / flags=b /.test(l));
  while (!blocked(String(await redis.client('LIST')))) {
    if (Date.now() > deadline) throw new Error('timed out waiting for the follower to block');
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function setup(url = testRedisUrl()) {
  const prefix = uniquePrefix('results');
  const redis = trackRedis(new Redis(url));
  const stream = keys(prefix).results;
  const cleanup = async () => {
    const seen = await redis.keys(`${stream}:seen:*`);
    await redis.del(stream, ...seen);
    await redis.quit();
  };
  return { prefix, redis, stream, url, cleanup };
}

describe('results stream', () => {
  it('writes the documented fields, which a real client (redis-cli) reads back', async () => {
    const t = await setup();
    const writer = createResultsWriter({ redis: t.redis, prefix: t.prefix });
    const id = await writer.append(entry());
    await writer.append(entry({ jobId: 'close-s2', sessionId: 's2', requestId: undefined, outcome: 'dead_lettered', status: undefined, httpStatus: 401, errorCode: 'REJECTED', attempts: 3 }));
    const { stdout } = await run('/usr/bin/redis-cli', ['-u', t.url, 'XRANGE', t.stream, '-', '+'], { encoding: 'utf8' });
    const lines = stdout.split('\n').filter((l) => l !== '');
    expect(lines.slice(0, 17)).toEqual([
      id,
      'session_id', 's1', 'request_id', 'req-1', 'job_id', 'close-s1', 'outcome', 'closed', 'status', 'COMPLETED',
      'http_status', '200', 'attempts', '1', 'finished_at', '1700000000500',
    ]);
    expect(lines.slice(17)).toEqual([
      expect.stringMatching(/^\d+-\d+$/),
      'session_id', 's2', 'job_id', 'close-s2', 'outcome', 'dead_lettered', 'http_status', '401', 'error_code', 'REJECTED',
      'attempts', '3', 'finished_at', '1700000000500',
    ]);
    expect(await readResults({ redis: t.redis, prefix: t.prefix })).toEqual([
      { id, jobId: 'close-s1', sessionId: 's1', requestId: 'req-1', outcome: 'closed', status: 'COMPLETED', httpStatus: 200, attempts: 1, finishedAt: 1_700_000_000_500 },
      { id: expect.any(String), jobId: 'close-s2', sessionId: 's2', outcome: 'dead_lettered', httpStatus: 401, errorCode: 'REJECTED', attempts: 3, finishedAt: 1_700_000_000_500 },
    ]);
    await t.cleanup();
  });

  it('writes one run of one job once, even when appends race (a job re-run after a crash)', async () => {
    const t = await setup();
    const writer = createResultsWriter({ redis: t.redis, prefix: t.prefix, dedupeTtlSeconds: 120 });
    const ids = await Promise.all(Array.from({ length: 20 }, () => writer.append(entry())));
    expect(ids.filter((x) => x !== null)).toHaveLength(1);
    expect(await writer.append(entry({ outcome: 'already_gone' }))).toBeNull();
    // The same job id created anew (a later enqueue of the same session) is a new outcome.
    expect(await writer.append(entry({ jobTimestamp: 1_700_000_099_000 }))).not.toBeNull();
    expect(await t.redis.xlen(t.stream)).toBe(2);
    const ttl = await t.redis.ttl(resultDedupeKey(t.prefix, 'close-s1', 1_700_000_000_000));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(120);
    await t.cleanup();
  });

  it('keeps the stream approximately capped', async () => {
    const t = await setup();
    const writer = createResultsWriter({ redis: t.redis, prefix: t.prefix, maxLen: 100, dedupeTtlSeconds: 60 });
    for (let i = 0; i < 1000; i++) await writer.append(entry({ jobId: `close-x${i}`, sessionId: `x${i}` }));
    const len = await t.redis.xlen(t.stream);
    expect(len).toBeGreaterThanOrEqual(100);
    expect(len).toBeLessThan(300);
    const [newest] = await t.redis.xrevrange(t.stream, '+', '-', 'COUNT', 1);
    expect(newest?.[1]).toContain('x999');
    await t.cleanup();
  });

  it('works on a fresh server and after its script cache is flushed', async () => {
    const server = track(await startRedisServer(), 'redis-server');
    const t = await setup(server.url);
    const writer = createResultsWriter({ redis: t.redis, prefix: t.prefix });
    expect(await writer.append(entry())).not.toBeNull();
    await t.redis.script('FLUSH');
    expect(await writer.append(entry({ jobId: 'close-s9' }))).not.toBeNull();
    expect(await t.redis.xlen(t.stream)).toBe(2);
    await t.cleanup();
    await server.close();
  });

  it('group-commits appends made together: one script call per batch of up to 200, each entry still written once and in order', async () => {
    const server = track(await startRedisServer(), 'redis-server');
    const t = await setup(server.url);
    const writer = createResultsWriter({ redis: t.redis, prefix: t.prefix });
    const scripts = async () => {
      const stats = String(await t.redis.info('commandstats'));
      return [...stats.matchAll(/^cmdstat_(?:evalsha|eval):calls=(\d+)/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
    };
    await writer.append(entry({ jobId: 'close-warm', sessionId: 'warm' })); // loads the script (a fresh server: NOSCRIPT, then EVAL)
    const before = await scripts();
    const ids = await Promise.all(Array.from({ length: 500 }, (_, i) => writer.append(entry({ jobId: `close-b${i}`, sessionId: `b${i}` }))));
    const calls = (await scripts()) - before;
    console.log(`500 appends made together: ${calls} script call(s)`);
    expect(calls).toBeLessThanOrEqual(3);
    expect(ids.every((id) => typeof id === 'string')).toBe(true);
    const read = (await readResults({ redis: t.redis, prefix: t.prefix, count: 1000 })).slice(1);
    expect(read.map((r) => r.sessionId)).toEqual(Array.from({ length: 500 }, (_, i) => `b${i}`));
    expect(read.map((r) => r.id)).toEqual(ids);
    // repeats inside one batch and across batches: written once
    const again = await Promise.all([writer.append(entry({ jobId: 'close-b0', sessionId: 'b0' })), writer.append(entry({ jobId: 'close-new', sessionId: 'new' })), writer.append(entry({ jobId: 'close-new', sessionId: 'new' }))]);
    expect(again[0]).toBeNull();
    expect(again.slice(1).filter((id) => id !== null)).toHaveLength(1);
    await t.cleanup();
    await server.close();
  });

  it('rejects a bad entry or option naming the field and value', async () => {
    const t = await setup();
    const writer = createResultsWriter({ redis: t.redis, prefix: t.prefix });
    await expect(writer.append(entry({ outcome: 'done' as never }))).rejects.toMatchObject({ code: 'INVALID_RESULT', message: expect.stringMatching(/`outcome`.*one of closed, already_gone, verified, dead_lettered, got `done`/) });
    expect(() => createResultsWriter({ redis: t.redis, maxLen: 0 })).toThrow(/`maxLen` to be an integer ≥ 1, got `0`/);
    expect(await t.redis.exists(t.stream)).toBe(0);
    await t.cleanup();
  });

  it('follows new outcomes in order and stops promptly on abort', async () => {
    const t = await setup();
    const writer = createResultsWriter({ redis: t.redis, prefix: t.prefix });
    await writer.append(entry({ jobId: 'close-old', sessionId: 'old' }));
    const ac = new AbortController();
    const seen: string[] = [];
    const following = (async () => {
      for await (const r of followResults({ connection: t.redis, prefix: t.prefix, signal: ac.signal, blockMs: 60_000 })) {
        seen.push(r.sessionId);
        if (seen.length === 3) ac.abort();
      }
    })();
    // Write once the follower is blocked reading (it pinned `$` to the newest entry before that).
    await waitForBlockedFollower(t.redis, t.prefix);
    for (const s of ['n1', 'n2', 'n3']) await writer.append(entry({ jobId: `close-${s}`, sessionId: s }));
    await following;
    expect(seen).toEqual(['n1', 'n2', 'n3']);

    const fromStart: string[] = [];
    for await (const r of followResults({ connection: t.redis, prefix: t.prefix, from: '0' })) {
      fromStart.push(r.sessionId);
      if (fromStart.length === 4) break;
    }
    expect(fromStart).toEqual(['old', 'n1', 'n2', 'n3']);

    // An abort while the read is blocked ends the loop without waiting for the block time.
    const idle = new AbortController();
    const blocked = (async () => {
      for await (const _ of followResults({ connection: t.redis, prefix: t.prefix, signal: idle.signal, blockMs: 120_000 })) void _;
    })();
    await waitForBlockedFollower(t.redis, t.prefix);
    const started = Date.now();
    idle.abort();
    await blocked;
    expect(Date.now() - started).toBeLessThan(60_000);
    await t.cleanup();
  });
});
