import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { INGRESS_GROUP, startIngressBridge, type IngressBridgeOptions } from '../../src/ingress/index.js';
import { createLogger } from '../../src/shared/logger.js';
import { closeJobId, keys } from '../../src/shared/names.js';
import { createQueues } from '../../src/shared/queues.js';
import { createRedis } from '../../src/shared/redis.js';
import { testRedisUrl, track, trackRedis, uniquePrefix } from '../helpers/context.js';
import { startRedisServer } from '../helpers/redis-server.js';
import { waitFor as waitForCondition } from '../helpers/wait.js';

const run = promisify(execFile);

/** Runs the real `redis-cli` (a client nobody here wrote) and returns its raw output lines. */
async function redisCli(url: string, ...args: string[]): Promise<string[]> {
  const { stdout } = await run('/usr/bin/redis-cli', ['-u', url, ...args], { encoding: 'utf8' });
  return stdout.split('\n').filter((l) => l !== '');
}

const waitFor = (what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30_000) => waitForCondition(what, check, timeoutMs, 25);

const quiet = () => createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent', destination: 2, pretty: false });

async function setup(url = testRedisUrl()) {
  const prefix = uniquePrefix('ingress');
  const redis = trackRedis(createRedis(url, { role: 'worker', name: 'test' }));
  const queues = track(createQueues({ connection: redis, prefix }), 'queues');
  const k = keys(prefix);
  const start = (o: Partial<IngressBridgeOptions> = {}) => track(startIngressBridge({ connection: redis, prefix, logger: quiet(), ...o }), 'ingress bridge');
  const xadd = (...fields: string[]) => redisCli(url, 'XADD', k.ingress, '*', ...fields).then((l) => l[0] as string);
  const rejected = async () =>
    (await redis.xrange(k.ingressRejected, '-', '+')).map(([, f]) => Object.fromEntries(f.flatMap((v, i) => (i % 2 === 0 ? [[v, f[i + 1]]] : []))) as Record<string, string>);
  const pendingCount = async () => Number(((await redis.xpending(k.ingress, INGRESS_GROUP)) as [number])[0]);
  const jobData = async (sessionId: string) => (await queues.closeQueue.getJob(closeJobId(sessionId)))?.data;
  const cleanup = async () => {
    await queues.closeQueue.obliterate({ force: true });
    await redis.del(k.ingress, k.ingressRejected);
    await queues.close();
    await redis.quit();
  };
  return { prefix, url, redis, queues, k, start, xadd, rejected, pendingCount, jobData, cleanup };
}

describe('ingress bridge (entries written with redis-cli)', () => {
  it('moves single ids and JSON batches into the close queue with their correlation fields, then acknowledges them', async () => {
    const t = await setup();
    const bridge = t.start();
    await bridge.ready;
    await t.xadd('session_id', 'sess-single', 'request_id', 'req-1', 'project_id', 'proj-1');
    await t.xadd('session_ids', JSON.stringify(['sess-b1', 'sess-b2', 'sess-b3']), 'request_id', 'req-2');
    await waitFor('4 close jobs', async () => (await t.queues.closeQueue.getJobCountByTypes('waiting')) === 4);
    expect(await t.jobData('sess-single')).toMatchObject({ sessionId: 'sess-single', requestId: 'req-1', projectId: 'proj-1', source: 'ingress' });
    expect(await t.jobData('sess-b2')).toMatchObject({ sessionId: 'sess-b2', requestId: 'req-2', source: 'ingress' });
    await waitFor('both entries acknowledged', async () => bridge.stats().entries === 2 && (await t.pendingCount()) === 0);
    expect(bridge.stats()).toMatchObject({ accepted: 4, duplicates: 0, rejected: 0 });
    await bridge.close();
    await t.cleanup();
  });

  it('processes entries written before any bridge ran, and a repeated id is a no-op', async () => {
    const t = await setup();
    await t.xadd('session_id', 'early-1');
    await t.xadd('session_id', 'early-1', 'request_id', 'again');
    await t.xadd('session_ids', '["early-1","early-2","early-2"]');
    const bridge = t.start();
    await waitFor('3 entries handled', () => bridge.stats().entries === 3);
    expect(bridge.stats()).toMatchObject({ accepted: 2, duplicates: 3, rejected: 0 });
    expect(await t.queues.closeQueue.getJobCountByTypes('waiting')).toBe(2);
    await bridge.close();
    await t.cleanup();
  });

  it('sets malformed entries aside with their fields and reason, lets valid ids of a mixed batch through, and never blocks', async () => {
    const t = await setup();
    const bridge = t.start();
    const bad1 = await t.xadd('project_id', 'p-only');
    const bad2 = await t.xadd('session_ids', '[not json');
    const bad3 = await t.xadd('session_id', 'has space');
    const bad4 = await t.xadd('sessionId', 'camel');
    const mixed = await t.xadd('session_ids', JSON.stringify(['mix-ok-1', 'mix/bad', 17, 'mix-ok-2']), 'request_id', 'req-mixed');
    await t.xadd('session_id', 'after-garbage');
    await waitFor('6 entries handled', () => bridge.stats().entries === 6);
    expect((await t.queues.closeQueue.getWaiting()).map((j) => j.data.sessionId).sort()).toEqual(['after-garbage', 'mix-ok-1', 'mix-ok-2']);
    const rej = await t.rejected();
    expect(rej.map((r) => [r.entry_id, r.code])).toEqual([
      [bad1, 'MISSING_SESSION_ID'],
      [bad2, 'INVALID_JSON'],
      [bad3, 'INVALID_SESSION_ID'],
      [bad4, 'UNKNOWN_FIELD'],
      [mixed, 'INVALID_SESSION_ID'],
      [mixed, 'INVALID_SESSION_ID'],
    ]);
    expect(JSON.parse(rej[1]!.fields!)).toEqual(['session_ids', '[not json']);
    expect(rej[2]!.reason).toMatch(/`session_id` "has space": invalid session id: contains a whitespace/);
    expect(rej[3]!.reason).toMatch(/did you mean `session_id`/);
    expect(rej[4]).toMatchObject({ index: '1', input: '"mix/bad"', request_id: 'req-mixed' });
    expect(rej[5]).toMatchObject({ index: '2', input: '17', reason: expect.stringMatching(/got number/) });
    expect(await t.pendingCount()).toBe(0);
    expect(bridge.stats().rejected).toBe(6);
    await bridge.close();
    await t.cleanup();
  });

  it('moves big batches completely (handled in bounded groups)', async () => {
    const t = await setup();
    const bridge = t.start();
    const big = (tag: string) => JSON.stringify(Array.from({ length: 6000 }, (_, i) => `${tag}-${i}`));
    await t.xadd('session_ids', big('big-a'));
    await t.xadd('session_ids', big('big-b'), 'request_id', 'r-big');
    await t.xadd('session_id', 'small-1');
    await waitFor('3 entries handled', () => bridge.stats().entries === 3, 60_000);
    expect(bridge.stats()).toMatchObject({ accepted: 12_001, rejected: 0 });
    expect(await t.queues.closeQueue.getJobCountByTypes('waiting')).toBe(12_001);
    expect(await t.jobData('big-b-5999')).toMatchObject({ requestId: 'r-big' });
    expect(await t.pendingCount()).toBe(0);
    await bridge.close();
    await t.cleanup();
  });

  it('claims entries of a consumer that read them and died before acknowledging (XREADGROUP without XACK)', async () => {
    const t = await setup();
    const first = t.start({ claimIdleMs: 60_000 });
    await first.ready; // creates the group
    await first.close();
    await t.xadd('session_id', 'orphan-1');
    await t.xadd('session_ids', '["orphan-2","orphan-3"]');
    // A consumer that reads both entries with redis-cli and is never heard from again.
    const read = await redisCli(t.url, 'XREADGROUP', 'GROUP', INGRESS_GROUP, 'dead-consumer', 'COUNT', '10', 'STREAMS', t.k.ingress, '>');
    expect(read).toContain('orphan-1');
    expect(await t.pendingCount()).toBe(2);
    const live = t.start({ claimIdleMs: 300 });
    await waitFor('claimed entries enqueued', async () => (await t.queues.closeQueue.getJobCountByTypes('waiting')) === 3);
    await waitFor('nothing pending', async () => (await t.pendingCount()) === 0);
    expect(live.stats()).toMatchObject({ claimed: 2, accepted: 3 });
    await live.close();
    await t.cleanup();
  });

  it('sets aside an entry whose consumers kept dying before acknowledging it', async () => {
    const t = await setup();
    const first = t.start();
    await first.ready;
    await first.close();
    const poison = await t.xadd('session_id', 'poison-1');
    await t.xadd('session_id', 'fine-1');
    await redisCli(t.url, 'XREADGROUP', 'GROUP', INGRESS_GROUP, 'crashy', 'COUNT', '1', 'STREAMS', t.k.ingress, '>');
    for (let i = 0; i < 5; i++) await redisCli(t.url, 'XREADGROUP', 'GROUP', INGRESS_GROUP, 'crashy', 'STREAMS', t.k.ingress, '0');
    const bridge = t.start({ claimIdleMs: 200, maxDeliveries: 5 });
    await waitFor('both handled', () => bridge.stats().entries === 2);
    expect((await t.queues.closeQueue.getWaiting()).map((j) => j.data.sessionId)).toEqual(['fine-1']);
    const [rec] = await t.rejected();
    expect(rec).toMatchObject({ entry_id: poison, code: 'TOO_MANY_DELIVERIES', fields: JSON.stringify(['session_id', 'poison-1']) });
    expect(rec!.reason).toMatch(/delivered 7 times/);
    await bridge.close();
    await t.cleanup();
  });

  it('trims acknowledged entries but never one still pending, nor one another group has not read', async () => {
    const t = await setup();
    const setupBridge = t.start({ claimIdleMs: 60_000 });
    await setupBridge.ready;
    await setupBridge.close();
    const held = await t.xadd('session_id', 'held-1');
    await redisCli(t.url, 'XREADGROUP', 'GROUP', INGRESS_GROUP, 'slow-consumer', 'COUNT', '1', 'STREAMS', t.k.ingress, '>');
    for (let i = 0; i < 20; i++) await t.xadd('session_id', `trim-${i}`);
    const bridge = t.start({ claimIdleMs: 60_000, trimIntervalMs: 50 });
    await waitFor('20 handled', () => bridge.stats().entries === 20);
    // The pending entry is the oldest, so nothing may go yet.
    const passes = bridge.stats().trimPasses;
    await waitFor('two trim passes after the batch', () => bridge.stats().trimPasses >= passes + 2);
    expect(await t.redis.xlen(t.k.ingress)).toBe(21);
    const pendingEntries = await t.redis.xrange(t.k.ingress, held, held);
    expect(pendingEntries).toHaveLength(1);
    // Once acknowledged, everything before the last delivered entry goes.
    await t.redis.xack(t.k.ingress, INGRESS_GROUP, held);
    await waitFor('stream trimmed to the last delivered entry', async () => (await t.redis.xlen(t.k.ingress)) === 1);
    // A second group that has read nothing yet holds back trimming of everything it has not seen.
    await t.redis.xgroup('CREATE', t.k.ingress, 'audit', '$');
    for (let i = 0; i < 5; i++) await t.xadd('session_id', `audit-${i}`);
    await waitFor('5 more handled', () => bridge.stats().entries === 25);
    const passes2 = bridge.stats().trimPasses;
    await waitFor('two more trim passes', () => bridge.stats().trimPasses >= passes2 + 2);
    expect(await t.redis.xlen(t.k.ingress)).toBe(6);
    await redisCli(t.url, 'XREADGROUP', 'GROUP', 'audit', 'a1', 'COUNT', '100', 'STREAMS', t.k.ingress, '>');
    await redisCli(t.url, 'XACK', t.k.ingress, 'audit', ...(await t.redis.xrange(t.k.ingress, '-', '+')).map(([id]) => id));
    await waitFor('trimmed once the other group acknowledged', async () => (await t.redis.xlen(t.k.ingress)) === 1);
    await bridge.close();
    await t.cleanup();
  });

  it('removes consumers that hold nothing and went idle, and leaves the group on close', async () => {
    const t = await setup();
    const bridge = t.start({ consumerExpiryMs: 300 });
    await bridge.ready;
    await redisCli(t.url, 'XGROUP', 'CREATECONSUMER', t.k.ingress, INGRESS_GROUP, 'gone-host:1');
    const names = async () => ((await t.redis.xinfo('CONSUMERS', t.k.ingress, INGRESS_GROUP)) as string[][]).map((c) => c[1]);
    await waitFor('the idle consumer removed', async () => !(await names()).includes('gone-host:1'));
    expect(await names()).toContain(bridge.consumerName);
    await bridge.close();
    expect(await names()).toEqual([]);
    await t.cleanup();
  });

  it('closes promptly while a read is blocked, far sooner than the block time', async () => {
    const t = await setup();
    const bridge = t.start({ blockMs: 120_000, claimIdleMs: 600_000, trimIntervalMs: 600_000 });
    await bridge.ready;
    await waitFor('the blocking read issued', async () => String(await t.redis.client('LIST')).includes('cmd=xreadgroup'));
    const started = Date.now();
    await bridge.close();
    expect(Date.now() - started).toBeLessThan(60_000);
    await t.cleanup();
  });

  it('keeps going across a Redis restart', async () => {
    const server = track(await startRedisServer({ appendOnly: true }), 'redis-server');
    const t = await setup(server.url);
    const bridge = t.start({ blockMs: 200 });
    await t.xadd('session_id', 'before-restart');
    await waitFor('first entry', () => bridge.stats().entries === 1);
    await server.stop();
    await server.start();
    await t.xadd('session_id', 'after-restart');
    await waitFor('entry written after the restart', () => bridge.stats().entries === 2, 30_000);
    expect((await t.queues.closeQueue.getWaiting()).map((j) => j.data.sessionId).sort()).toEqual(['after-restart', 'before-restart']);
    await bridge.close();
    await t.cleanup();
    await server.close();
  });

  it('rejects bad options naming the option and value', () => {
    const redis = new Redis(testRedisUrl(), { lazyConnect: true });
    expect(() => startIngressBridge({ connection: redis, logger: quiet(), claimIdleMs: 0 })).toThrow(/`claimIdleMs` to be an integer ≥ 1, got `0`/);
    expect(() => startIngressBridge({ connection: redis, logger: quiet(), batchSize: 1.5 })).toThrow(/`batchSize`.*`1.5`/);
    redis.disconnect();
  });
});
