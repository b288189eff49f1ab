import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { createEnqueueHandler, createIngressConsumer, INGRESS_GROUP, INGRESS_LIMITS, resolveIngressSettings, startIngressBridge, type IngressBridgeOptions } from '../../src/ingress/index.js';
import { createLogger } from '../../src/shared/logger.js';
import { closeJobId, keys } from '../../src/shared/names.js';
import { createQueues } from '../../src/shared/queues.js';
import { createRedis } from '../../src/shared/redis.js';
import { capturingLogger } from '../helpers/capturing-logger.js';
import { testRedisUrl, track, trackRedis, uniquePrefix } from '../helpers/context.js';
import { startRedisServer } from '../helpers/redis-server.js';
import { waitFor as waitForCondition } from '../helpers/wait.js';

// Hostile entries and misconfiguration: each test is named after what used to break.

const run = promisify(execFile);
const redisCli = async (url: string, ...args: string[]) => (await run('/usr/bin/redis-cli', ['-u', url, ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })).stdout.split('\n').filter((l) => l !== '');
const waitFor = (what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30_000) => waitForCondition(what, check, timeoutMs, 25);
const quiet = () => createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent', destination: 2, pretty: false });

const MiB = 1024 * 1024;
/** `[[[[...]]]]`, `depth` levels: parses, but `JSON.stringify` of it overflows the stack. */
const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

async function setup(url = testRedisUrl()) {
  const prefix = uniquePrefix('ingress-hostile');
  const redis = trackRedis(createRedis(url, { role: 'worker', name: 'test' }));
  const queues = track(createQueues({ connection: redis, prefix }), 'queues');
  const k = keys(prefix);
  const start = (o: Partial<IngressBridgeOptions> = {}) => track(startIngressBridge({ connection: redis, prefix, logger: quiet(), blockMs: 200, ...o }), 'ingress bridge');
  const xadd = (...fields: string[]) => redisCli(url, 'XADD', k.ingress, '*', ...fields).then((l) => l[0] as string);
  const rejected = async () =>
    (await redis.xrange(k.ingressRejected, '-', '+')).map(([, f]) => Object.fromEntries(f.flatMap((v, i) => (i % 2 === 0 ? [[v, f[i + 1]]] : []))) as Record<string, string>);
  const pendingCount = async () => Number(((await redis.xpending(k.ingress, INGRESS_GROUP)) as [number])[0]);
  const waiting = async () => (await queues.closeQueue.getWaiting()).map((j) => j.data.sessionId).sort();
  const cleanup = async () => {
    await queues.closeQueue.obliterate({ force: true });
    await redis.del(k.ingress, k.ingressRejected);
    await queues.close();
    await redis.quit();
  };
  return { prefix, url, redis, queues, k, start, xadd, rejected, pendingCount, waiting, cleanup };
}

/** Bytes this Redis has sent to all its clients so far (a private server: nobody else talks to it). */
async function bytesSent(redis: Redis): Promise<number> {
  const info = await redis.info('stats');
  return Number(/total_net_output_bytes:(\d+)/.exec(info)?.[1]);
}

describe('ingress bridge against hostile entries', () => {
  it('a 5,000-level nested array element no longer stops the bridge: it is rejected with a readable reason and the entries after it are enqueued', async () => {
    const t = await setup();
    const bridge = t.start();
    await bridge.ready;
    const poison = await t.xadd('session_ids', `["nest-ok-1",${nested(5000)},"nest-ok-2"]`, 'request_id', 'r-nest');
    await t.xadd('session_id', 'after-nest-1');
    await t.xadd('session_ids', '["after-nest-2"]');
    await waitFor('3 entries handled', () => bridge.stats().entries === 3);
    expect(await t.waiting()).toEqual(['after-nest-1', 'after-nest-2', 'nest-ok-1', 'nest-ok-2']);
    const [rec, ...more] = await t.rejected();
    expect(more).toEqual([]);
    expect(rec).toMatchObject({ entry_id: poison, code: 'INVALID_SESSION_ID', index: '1', request_id: 'r-nest', truncated: '1' });
    expect(rec!.reason).toMatch(/^`session_ids\[1\]` "\[\[\[\[\[\[\[\[\[…\]\]\]\]\]\]\]\]\]": expected a session id string, got an array$/);
    expect(rec!.input!.length).toBeLessThan(300);
    expect(await t.pendingCount()).toBe(0);
    await bridge.close();
    await t.cleanup();
  });

  it('a 5,000-level nested array element left pending by a bridge that stopped does not stick the next bridge, under the same name or another', async () => {
    const t = await setup();
    const first = t.start();
    await first.ready;
    await first.close();
    const mine = await t.xadd('session_ids', `[${nested(5000)}]`);
    await t.xadd('session_id', 'pending-ok-1');
    const theirs = await t.xadd('session_ids', `["pending-ok-2",${nested(5000)}]`);
    await t.xadd('session_id', 'pending-ok-3');
    // One consumer (name reused by the next bridge) read two entries and stopped, another read the other two and died.
    await redisCli(t.url, 'XREADGROUP', 'GROUP', INGRESS_GROUP, 'fixed-name', 'COUNT', '2', 'STREAMS', t.k.ingress, '>');
    await redisCli(t.url, 'XREADGROUP', 'GROUP', INGRESS_GROUP, 'gone-host:1', 'COUNT', '2', 'STREAMS', t.k.ingress, '>');
    expect(await t.pendingCount()).toBe(4);
    const bridge = t.start({ consumerName: 'fixed-name', claimIdleMs: 200 });
    await waitFor('all 4 handled, 2 of them claimed', () => bridge.stats().entries === 4 && bridge.stats().claimed === 2);
    expect(await t.waiting()).toEqual(['pending-ok-1', 'pending-ok-2', 'pending-ok-3']);
    expect((await t.rejected()).map((r) => [r.entry_id, r.code, r.index])).toEqual(
      expect.arrayContaining([
        [mine, 'INVALID_SESSION_ID', '0'],
        [theirs, 'INVALID_SESSION_ID', '1'],
      ]),
    );
    expect(await t.pendingCount()).toBe(0);
    await bridge.close();
    await t.cleanup();
  });

  it('an entry whose handling keeps throwing is set aside as UNPROCESSABLE, alone: the entries around it go through and the bridge keeps reading', async () => {
    const t = await setup();
    const first = t.start();
    await first.ready;
    await first.close();
    await t.xadd('session_id', 'around-1');
    const poison = await t.xadd('session_id', 'around-poison', 'trace_id', 'explodes');
    await t.xadd('session_ids', '["around-2","around-3"]');
    // A consumer composed with a handling step that has a bug only this entry triggers (the step
    // is otherwise the bridge's real one, on real Redis).
    const real = createEnqueueHandler({ connection: t.redis, prefix: t.prefix });
    const bridge = track(
      createIngressConsumer({
        connection: t.redis,
        prefix: t.prefix,
        logger: quiet(),
        settings: resolveIngressSettings({ blockMs: 200 }),
        handler: {
          handle: (entries, context) => {
            if (entries.some(([, pairs]) => pairs?.includes('explodes'))) throw new TypeError('Cannot read properties of undefined (reading "x")');
            return real.handle(entries, context);
          },
          close: () => real.close(),
        },
      }),
      'ingress consumer',
    );
    await waitFor('3 entries handled', () => bridge.stats().entries === 3);
    expect(await t.waiting()).toEqual(['around-1', 'around-2', 'around-3']);
    const recs = await t.rejected();
    expect(recs).toHaveLength(1);
    expect(recs[0]).toMatchObject({ entry_id: poison, code: 'UNPROCESSABLE', fields: JSON.stringify(['session_id', 'around-poison', 'trace_id', 'explodes']) });
    expect(recs[0]!.reason).toMatch(/failed 3 times in a row while Redis answered \(last: TypeError: Cannot read properties of undefined \(reading "x"\)\); set aside/);
    expect(bridge.stats()).toMatchObject({ entries: 3, accepted: 3, rejected: 1, setAside: 1 });
    expect(await t.pendingCount()).toBe(0);
    await t.xadd('session_id', 'around-4');
    await waitFor('a later entry', () => bridge.stats().entries === 4);
    expect(await t.waiting()).toContain('around-4');
    await bridge.close();
    await t.cleanup();
  });

  it('a bridge that may not write the queue (ACL) keeps its entries pending and sets none aside, however often it fails', async () => {
    const server = track(await startRedisServer(), 'redis-server');
    const t = await setup(server.url);
    const first = t.start();
    await first.ready;
    await first.close();
    await t.redis.call('ACL', 'SETUSER', 'ingress-only', 'on', '>pw', 'resetkeys', `~${t.prefix}:ingress*`, '&*', '+@all');
    await t.xadd('session_id', 'acl-1');
    await t.xadd('session_ids', '["acl-2","acl-3"]');
    await t.xadd('session_id', 'bad id'); // its rejection could be written: it is not proof that the others are at fault
    const limited = trackRedis(createRedis(`redis://ingress-only:pw@127.0.0.1:${server.port}`, { role: 'worker', name: 'limited' }));
    const { logger, lines } = capturingLogger();
    const bridge = track(startIngressBridge({ connection: limited, prefix: t.prefix, logger, blockMs: 200 }), 'ingress bridge');
    const failures = () => lines.filter((l) => l.msg === 'ingress bridge step failed; retrying');
    // Three failures of the batch and three of one entry would set it aside if NOPERM counted against entries.
    await waitFor('7 failed attempts', () => failures().length >= 7, 45_000);
    expect(String((failures()[0]?.err as { message?: string } | undefined)?.message)).toMatch(/NOPERM/);
    expect(bridge.stats()).toMatchObject({ entries: 0, setAside: 0, rejected: 0 });
    expect(await t.pendingCount()).toBe(3);
    expect(await t.rejected()).toEqual([]);
    await bridge.close();
    limited.disconnect();
    await t.cleanup();
    await server.close();
  }, 90_000);

  it('five 40 MiB entries are rejected as TOO_LARGE without being sent to the bridge, and the bridge keeps going', async () => {
    // A private server, so the bytes it sends are the bridge's (and this test's small replies).
    const server = track(await startRedisServer(), 'redis-server');
    const t = await setup(server.url);
    const first = t.start();
    await first.ready;
    await first.close();
    const huge = 'x'.repeat(40 * MiB);
    const ids = [
      await t.redis.xadd(t.k.ingress, '*', 'session_ids', huge, 'request_id', 'r-huge'),
      await t.redis.xadd(t.k.ingress, '*', 'session_ids', `["${huge}"]`),
      await t.redis.xadd(t.k.ingress, '*', 'session_id', huge),
      await t.redis.xadd(t.k.ingress, '*', 'session_id', 'huge-ok-0', 'blob', huge),
      await t.redis.xadd(t.k.ingress, '*', huge.slice(0, 20_000), 'v', 'session_id', 'huge-ok-1'),
    ];
    await t.xadd('session_id', 'after-huge-1');
    const before = await bytesSent(t.redis);
    const bridge = t.start();
    await waitFor('6 entries handled', () => bridge.stats().entries === 6, 120_000);
    const sent = (await bytesSent(t.redis)) - before;
    expect(sent).toBeLessThan(2 * MiB); // 200 MiB before: the bridge read every entry whole
    expect(await t.waiting()).toEqual(['after-huge-1']);
    const recs = await t.rejected();
    expect(recs.map((r) => [r.entry_id, r.code, r.truncated])).toEqual(ids.map((id) => [id, 'TOO_LARGE', '1']));
    expect(recs[0]!.reason).toBe('the entry is too large to read (41943067 bytes in all): field "session_ids" is 41943040 bytes long (at most 1048576 characters are accepted)');
    expect(recs[2]!.reason).toMatch(/field "session_id" is 41943040 bytes long \(at most 256 characters are accepted\)/);
    expect(recs[3]!.reason).toMatch(/field "blob" is 41943040 bytes long \(at most 4096 characters are accepted\)/);
    expect(recs[4]!.reason).toMatch(/a field name is 20000 bytes long \(it starts "x{32}"\)/);
    const fields = JSON.parse(recs[0]!.fields!) as string[];
    expect(fields).toEqual(['session_ids', 'x'.repeat(1024), 'request_id', 'r-huge']);
    expect(await t.pendingCount()).toBe(0);

    // One arriving while the bridge waits: the wait takes it whole once (COUNT 1), never more than one.
    await waitFor('the bridge waiting for entries', async () => String(await t.redis.client('LIST')).includes('cmd=xreadgroup'));
    const before2 = await bytesSent(t.redis);
    // Both land at once (MULTI): the wait can take only the first.
    const [, late] = (((await t.redis.multi().xadd(t.k.ingress, '*', 'session_ids', huge).xadd(t.k.ingress, '*', 'blob', huge.slice(0, 4 * MiB)).exec()) ?? []) as Array<[Error | null, string]>)[0]!;
    await t.xadd('session_id', 'after-huge-2');
    await waitFor('3 more handled', () => bridge.stats().entries === 9, 120_000);
    expect((await bytesSent(t.redis)) - before2).toBeLessThan(40 * MiB + 2 * MiB);
    expect((await t.rejected()).filter((r) => r.code === 'TOO_LARGE').map((r) => r.entry_id)).toContain(late);
    expect(await t.waiting()).toEqual(['after-huge-1', 'after-huge-2']);
    await bridge.close();
    await t.cleanup();
    await server.close();
  }, 300_000);

  it('an entry with 100,000 fields is rejected as TOO_LARGE without being sent whole', async () => {
    // A private server: writing and measuring such an entry holds Redis for a moment, and other suites share the test server.
    const server = track(await startRedisServer(), 'redis-server');
    const t = await setup(server.url);
    const bridge = t.start();
    await bridge.ready;
    const args = [t.k.ingress, '*', 'session_id', 'many-fields'];
    for (let i = 0; i < 100_000; i++) args.push(`f${i}`, 'v');
    const id = (await t.redis.call('XADD', args)) as string;
    await t.xadd('session_id', 'after-many');
    await waitFor('2 entries handled', () => bridge.stats().entries === 2);
    const [rec] = await t.rejected();
    expect(rec).toMatchObject({ entry_id: id, code: 'TOO_LARGE', truncated: '1' });
    expect(rec!.reason).toMatch(/it has 100001 fields \(at most 64 are read\)/);
    expect((JSON.parse(rec!.fields!) as string[]).length).toBe(128);
    expect(await t.waiting()).toEqual(['after-many']);
    await bridge.close();
    await t.cleanup();
    await server.close();
  });

  it('one entry with 10,000 invalid ids writes one summarised rejection, so earlier rejections survive in the capped stream', async () => {
    const t = await setup();
    const bridge = t.start();
    await bridge.ready;
    const earlier = [await t.xadd('session_id', 'has space'), await t.xadd('project_id', 'no-id')];
    await waitFor('the earlier entries handled', () => bridge.stats().entries === 2);
    const bad = (tag: string) => Array.from({ length: INGRESS_LIMITS.maxBatchIds }, (_, i) => (i % 2000 === 0 ? `${tag}-ok-${i}` : `${tag}/bad/${i}`));
    const flood1 = await t.redis.xadd(t.k.ingress, '*', 'session_ids', JSON.stringify(bad('f1')), 'request_id', 'r-flood');
    const flood2 = await t.redis.xadd(t.k.ingress, '*', 'session_ids', JSON.stringify(bad('f2')));
    await waitFor('the floods handled', () => bridge.stats().entries === 4);
    expect(await t.waiting()).toEqual(['f1-ok-0', 'f1-ok-2000', 'f1-ok-4000', 'f1-ok-6000', 'f1-ok-8000', 'f2-ok-0', 'f2-ok-2000', 'f2-ok-4000', 'f2-ok-6000', 'f2-ok-8000']);
    const recs = await t.rejected();
    expect(recs.map((r) => [r.entry_id, r.code])).toEqual([
      [earlier[0], 'INVALID_SESSION_ID'],
      [earlier[1], 'MISSING_SESSION_ID'],
      [flood1, 'INVALID_SESSION_ID'],
      [flood2, 'INVALID_SESSION_ID'],
    ]);
    expect(recs[2]).toMatchObject({ invalid_count: '9995', request_id: 'r-flood' });
    expect(recs[2]!.reason).toMatch(/^9995 of the 10000 elements of `session_ids` are invalid \(the 5 others went through\); the first: `session_ids\[1\]` "f1\/bad\/1": invalid session id: /);
    const items = JSON.parse(recs[2]!.invalid_items!) as Array<{ index: number; input: string; reason: string }>;
    expect(items.map((i) => [i.index, i.input])).toEqual([1, 2, 3, 4, 5].map((i) => [i, JSON.stringify(`f1/bad/${i}`)]));
    expect(items[0]!.reason).toMatch(/`session_ids\[1\]` "f1\/bad\/1": invalid session id: contains the character `\/`/);
    expect(bridge.stats().rejected).toBe(4);
    await bridge.close();
    await t.cleanup();
  });

  it('extra fields named constructor, toString, __proto__ and hasOwnProperty are ignored as unknown fields, not reported as misspellings', async () => {
    const t = await setup();
    const bridge = t.start();
    await bridge.ready;
    await t.xadd('session_id', 'proto-1', 'constructor', 'c', 'toString', 't', '__proto__', 'p', 'hasOwnProperty', 'h', 'valueOf', 'v');
    await t.xadd('session_id', 'proto-2', 'sessionId', 'still-a-misspelling');
    await waitFor('2 entries handled', () => bridge.stats().entries === 2);
    expect(await t.waiting()).toEqual(['proto-1']);
    expect((await t.queues.closeQueue.getJob(closeJobId('proto-1')))?.data).toMatchObject({ sessionId: 'proto-1', source: 'ingress' });
    expect((await t.rejected()).map((r) => r.code)).toEqual(['UNKNOWN_FIELD']);
    await bridge.close();
    await t.cleanup();
  });

  it('the stream deleted under a running bridge: it creates its group again and reads what is written next', async () => {
    const t = await setup();
    const bridge = t.start();
    await t.xadd('session_id', 'before-del');
    await waitFor('first entry', () => bridge.stats().entries === 1);
    await t.redis.del(t.k.ingress);
    await t.xadd('session_id', 'after-del'); // a new stream, without the group
    await waitFor('entry written after the delete', () => bridge.stats().entries === 2);
    expect(await t.waiting()).toEqual(['after-del', 'before-del']);
    await bridge.close();
    await t.cleanup();
  });

  it('a backlog of 100 small entries is still read and handled as one batch', async () => {
    const t = await setup();
    const first = t.start();
    await first.ready;
    await first.close();
    const multi = t.redis.multi();
    for (let i = 0; i < 100; i++) multi.xadd(t.k.ingress, '*', 'session_id', `backlog-${i}`);
    await multi.exec();
    const { logger, lines } = capturingLogger();
    const bridge = t.start({ logger });
    await waitFor('100 entries handled', () => bridge.stats().entries === 100);
    const batches = lines.filter((l) => l.msg === 'ingress entries enqueued');
    expect(batches.map((l) => l.entries)).toEqual([100]);
    await bridge.close();
    await t.cleanup();
  });
});
