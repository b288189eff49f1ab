import { describe, expect, it } from 'vitest';
import { buildRejectedRecord, INGRESS_GROUP, rejectAndAck, startIngressBridge } from '../../src/ingress/index.js';
import { keys } from '../../src/shared/names.js';
import { createQueues } from '../../src/shared/queues.js';
import { createRedis } from '../../src/shared/redis.js';
import { capturingLogger } from '../helpers/capturing-logger.js';
import { testRedisUrl, track, trackRedis, uniquePrefix } from '../helpers/context.js';
import { waitFor as waitForCondition } from '../helpers/wait.js';

// Recording a rejection and acknowledging its entry is all or nothing; each test is named after what broke.

const waitFor = (what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30_000) => waitForCondition(what, check, timeoutMs, 25);

async function setup() {
  const prefix = uniquePrefix('ingress-ack');
  const redis = trackRedis(createRedis(testRedisUrl(), { role: 'worker', name: 'test' }));
  const k = keys(prefix);
  await redis.xgroup('CREATE', k.ingress, INGRESS_GROUP, '0', 'MKSTREAM');
  /** Adds entries and has consumer `c` read them, so they are pending. */
  const pendingEntries = async (...entries: string[][]) => {
    const ids: string[] = [];
    for (const fields of entries) ids.push((await redis.xadd(k.ingress, '*', ...fields)) as string);
    await redis.xreadgroup('GROUP', INGRESS_GROUP, 'c', 'COUNT', String(entries.length), 'STREAMS', k.ingress, '>');
    return ids;
  };
  const pendingCount = async () => Number(((await redis.xpending(k.ingress, INGRESS_GROUP)) as [number])[0]);
  const record = (id: string, reason = 'why') => buildRejectedRecord(id, ['project_id', 'p'], { code: 'MISSING_SESSION_ID', reason }, 1);
  const cleanup = async () => {
    await redis.del(k.ingress, k.ingressRejected);
    await redis.quit();
  };
  return { prefix, redis, k, pendingEntries, pendingCount, record, cleanup };
}

describe('rejectAndAck: records and acknowledgements, all or nothing', () => {
  it('an entry is no longer acknowledged when its rejected record cannot be written (MULTI ran the XACK after the failed XADD)', async () => {
    const t = await setup();
    const [id] = await t.pendingEntries(['project_id', 'p']);
    await t.redis.set(t.k.ingressRejected, 'not a stream'); // every XADD to it fails with WRONGTYPE
    await expect(rejectAndAck(t.redis, t.k.ingress, t.k.ingressRejected, [t.record(id!)], [id!])).rejects.toThrow(/WRONGTYPE/);
    expect(await t.pendingCount()).toBe(1);
    await t.redis.del(t.k.ingressRejected);
    await rejectAndAck(t.redis, t.k.ingress, t.k.ingressRejected, [t.record(id!)], [id!]);
    expect(await t.pendingCount()).toBe(0);
    expect((await t.redis.xrange(t.k.ingressRejected, '-', '+')).map(([, f]) => f[1])).toEqual([id]);
    await t.cleanup();
  });

  it('a failing XACK leaves none of the records behind, so the retry does not record them twice', async () => {
    const t = await setup();
    const [a, b] = await t.pendingEntries(['project_id', 'p'], ['project_id', 'q']);
    await t.redis.del(t.k.ingress);
    await t.redis.set(t.k.ingress, 'not a stream'); // the XACK now fails with WRONGTYPE (after both XADDs ran)
    await expect(rejectAndAck(t.redis, t.k.ingress, t.k.ingressRejected, [t.record(a!), t.record(b!)], [a!, b!])).rejects.toThrow(/WRONGTYPE/);
    expect(await t.redis.xlen(t.k.ingressRejected)).toBe(0);
    await t.cleanup();
  });

  it('acknowledges 10,000 entries in one call (the largest --batch-size; one unpack of them all overflows the script stack beyond about 8,000)', async () => {
    const t = await setup();
    const multi = t.redis.multi();
    for (let i = 0; i < 10_000; i++) multi.xadd(t.k.ingress, '*', 'session_id', `many-${i}`);
    const ids = ((await multi.exec()) ?? []).map(([, id]) => id as string);
    await t.redis.xreadgroup('GROUP', INGRESS_GROUP, 'c', 'COUNT', '10000', 'STREAMS', t.k.ingress, '>');
    expect(await t.pendingCount()).toBe(10_000);
    await rejectAndAck(t.redis, t.k.ingress, t.k.ingressRejected, [t.record(ids[0]!)], ids);
    expect(await t.pendingCount()).toBe(0);
    expect(await t.redis.xlen(t.k.ingressRejected)).toBe(1);
    await t.cleanup();
  });
});

describe('ingress bridge: acknowledging', () => {
  it('the bridge no longer acknowledges an entry whose rejected record could not be written: it stays pending until the record can be written', async () => {
    const t = await setup();
    const queues = track(createQueues({ connection: t.redis, prefix: t.prefix }), 'queues');
    await t.redis.set(t.k.ingressRejected, 'not a stream');
    const bad = (await t.redis.xadd(t.k.ingress, '*', 'project_id', 'no-id')) as string;
    await t.redis.xadd(t.k.ingress, '*', 'session_id', 'ack-ok-1');
    const { logger, lines } = capturingLogger();
    const bridge = track(startIngressBridge({ connection: t.redis, prefix: t.prefix, logger, blockMs: 200 }), 'ingress bridge');
    const failures = () => lines.filter((l) => l.msg === 'ingress bridge step failed; retrying');
    await waitFor('two failed attempts', () => failures().length >= 2);
    expect(String((failures()[0]?.err as { message?: string } | undefined)?.message)).toMatch(/WRONGTYPE/);
    expect(await t.pendingCount()).toBe(2); // the valid entry's group was not acknowledged either: it is retried whole
    expect(bridge.stats()).toMatchObject({ entries: 0, rejected: 0, setAside: 0 });

    await t.redis.del(t.k.ingressRejected);
    await waitFor('both entries handled', () => bridge.stats().entries === 2);
    expect(await t.pendingCount()).toBe(0);
    const recs = await t.redis.xrange(t.k.ingressRejected, '-', '+');
    expect(recs.map(([, f]) => [f[1], f[3]])).toEqual([[bad, 'MISSING_SESSION_ID']]);
    expect((await queues.closeQueue.getWaiting()).map((j) => j.data.sessionId)).toEqual(['ack-ok-1']);
    await bridge.close();
    await queues.closeQueue.obliterate({ force: true });
    await queues.close();
    await t.cleanup();
  });

  it('entries a bridge left pending under its own name are no longer counted as claimed from a dead consumer when it starts again', async () => {
    const t = await setup();
    await t.redis.xadd(t.k.ingress, '*', 'session_id', 'own-1');
    await t.redis.xadd(t.k.ingress, '*', 'session_id', 'own-2');
    await t.redis.xreadgroup('GROUP', INGRESS_GROUP, 'same-name', 'COUNT', '2', 'STREAMS', t.k.ingress, '>');
    // Idle longer than claimIdleMs: a claim pass before reading them would take them as a dead consumer's.
    await waitFor('both entries idle 300 ms', async () => {
      const rows = (await t.redis.xpending(t.k.ingress, INGRESS_GROUP, '-', '+', 10)) as Array<[string, string, number, number]>;
      return rows.length === 2 && rows.every(([, , idle]) => idle >= 300);
    });
    const queues = track(createQueues({ connection: t.redis, prefix: t.prefix }), 'queues');
    const bridge = track(startIngressBridge({ connection: t.redis, prefix: t.prefix, logger: capturingLogger().logger, consumerName: 'same-name', claimIdleMs: 100, blockMs: 200 }), 'ingress bridge');
    await waitFor('both entries handled', () => bridge.stats().entries === 2);
    expect(bridge.stats()).toMatchObject({ accepted: 2, claimed: 0 });
    await bridge.close();
    await queues.closeQueue.obliterate({ force: true });
    await queues.close();
    await t.cleanup();
  });
});
