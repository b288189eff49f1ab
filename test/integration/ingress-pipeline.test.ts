import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { INGRESS_GROUP, startIngressBridge } from '../../src/ingress/index.js';
import { followResults } from '../../src/results/follow-results.js';
import { readResults, type ResultRecord } from '../../src/results/results-stream.js';
import { keys } from '../../src/shared/names.js';
import { startWorkerService } from '../../src/worker/service.js';
import { testRedisUrl, track, trackRedis } from '../helpers/context.js';
import { startPipeline, testLogger, waitFor } from '../helpers/pipeline.js';
import { createRedis } from '../../src/shared/redis.js';

const run = promisify(execFile);
const redisCli = async (url: string, ...args: string[]) => (await run('/usr/bin/redis-cli', ['-u', url, ...args], { encoding: 'utf8' })).stdout.split('\n').filter((l) => l !== '');

describe('other services feed bb-reaper through Redis and read each outcome back', () => {
  it('every valid id written with redis-cli ends closed in the simulator and appears once in the results stream', async () => {
    const url = testRedisUrl();
    const pipe = await startPipeline({ config: { rate: 200, concurrency: 20 } });
    const k = keys(pipe.prefix);
    const redis = trackRedis(createRedis(url, { role: 'worker', name: 'test' }));
    const ids = pipe.sim.createSessions(12);
    const ghost = 'ghost-session-never-created';

    // Entries from before any bridge ran, one of them read by a consumer that died without acknowledging.
    await redisCli(url, 'XGROUP', 'CREATE', k.ingress, INGRESS_GROUP, '0', 'MKSTREAM');
    await redisCli(url, 'XADD', k.ingress, '*', 'session_id', ids[0]!, 'request_id', 'req-dead-1');
    await redisCli(url, 'XADD', k.ingress, '*', 'session_ids', JSON.stringify([ids[1], ids[2]]), 'request_id', 'req-dead-2');
    const stolen = await redisCli(url, 'XREADGROUP', 'GROUP', INGRESS_GROUP, 'crashed-host:1', 'COUNT', '2', 'STREAMS', k.ingress, '>');
    expect(stolen).toContain(ids[0]);

    // The worker process (with its own ingress bridge and the results writer) and a second bridge,
    // as on another host, that claims what the crashed consumer held.
    const service = track(await startWorkerService({ config: pipe.config, logger: testLogger() }), 'worker service');
    // claimIdleMs: long enough that entries the live bridge is still working on on a busy machine are
    // never claimed too (a second delivery would record their rejections twice).
    const claimer = track(startIngressBridge({ connection: redis, prefix: pipe.prefix, logger: testLogger(), claimIdleMs: 3_000, blockMs: 200 }), 'ingress bridge');
    const follower = new AbortController();
    const followed: ResultRecord[] = [];
    const following = (async () => {
      for await (const r of followResults({ connection: redis, prefix: pipe.prefix, from: '0', signal: follower.signal, blockMs: 200 })) followed.push(r);
    })();

    await redisCli(url, 'XADD', k.ingress, '*', 'session_id', ids[3]!, 'request_id', 'req-single');
    await redisCli(url, 'XADD', k.ingress, '*', 'session_id', ids[4]!);
    await redisCli(url, 'XADD', k.ingress, '*', 'session_ids', JSON.stringify([ids[5], 'bad/id', ids[6], 7, ids[7], ghost]), 'request_id', 'req-batch', 'project_id', 'sim-project');
    await redisCli(url, 'XADD', k.ingress, '*', 'session_ids', '[oops');
    await redisCli(url, 'XADD', k.ingress, '*', 'request_id', 'no-id');
    await redisCli(url, 'XADD', k.ingress, '*', 'session_id', ids[8]!, 'session_id', ids[9]!);
    await redisCli(url, 'XADD', k.ingress, '*', 'session_ids', JSON.stringify(ids.slice(8)));
    await redisCli(url, 'XADD', k.ingress, '*', 'session_id', ids[3]!, 'request_id', 'req-repeat'); // already pending or done: a no-op

    const valid = [...ids, ghost];
    await waitFor('an outcome for every valid id', async () => (await readResults({ redis, prefix: pipe.prefix })).length >= valid.length);
    for (const id of ids) await waitFor(`${id} COMPLETED`, async () => (await pipe.client.getSession(id)).status === 'COMPLETED');

    const results = await readResults({ redis, prefix: pipe.prefix });
    expect(results.map((r) => r.sessionId).sort()).toEqual([...valid].sort());
    const bySession = new Map(results.map((r) => [r.sessionId, r]));
    expect(bySession.get(ids[0]!)).toMatchObject({ requestId: 'req-dead-1', outcome: 'closed', status: expect.any(String), httpStatus: 200, attempts: 1 });
    expect(bySession.get(ids[2]!)).toMatchObject({ requestId: 'req-dead-2', outcome: 'closed' });
    expect(bySession.get(ids[3]!)).toMatchObject({ requestId: 'req-single', jobId: `close-${ids[3]}` });
    expect(bySession.get(ids[4]!)?.requestId).toBeUndefined();
    expect(bySession.get(ids[6]!)).toMatchObject({ requestId: 'req-batch', outcome: 'closed' });
    expect(bySession.get(ghost)).toMatchObject({ requestId: 'req-batch', outcome: 'already_gone', httpStatus: 404 });
    for (const r of results) expect(r.finishedAt).toBeGreaterThan(0);

    // Rejected input, each with a reason; nothing left unacknowledged.
    const rejected = (await redis.xrange(k.ingressRejected, '-', '+')).map(([, f]) => f[f.indexOf('code') + 1]);
    expect(rejected.sort()).toEqual(['DUPLICATE_FIELD', 'INVALID_JSON', 'INVALID_SESSION_ID', 'INVALID_SESSION_ID', 'MISSING_SESSION_ID']);
    await waitFor('every entry acknowledged', async () => Number(((await redis.xpending(k.ingress, INGRESS_GROUP)) as [number])[0]) === 0);
    expect(claimer.stats().claimed).toBe(2);

    // Library users following the stream saw the same outcomes.
    await waitFor('follower caught up', () => followed.length === valid.length);
    expect(followed.map((r) => r.id)).toEqual(results.map((r) => r.id));
    follower.abort();
    await following;
    expect(pipe.sim.stats().closes.distinctSessions).toBe(valid.length);

    await claimer.close();
    await service.close();
    await pipe.producer.queues.closeQueue.obliterate({ force: true });
    await redis.del(k.ingress, k.ingressRejected, k.results);
    await redis.quit();
    await pipe.producer.close();
    await pipe.client.close();
    await pipe.sim.close();
  });
});
