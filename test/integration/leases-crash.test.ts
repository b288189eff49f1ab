import { describe, expect, it } from 'vitest';
import { withSession } from '../../src/leases/with-session.js';
import { acquireLeases, endLeases, listLeases, readLeaseCounts, renewLease } from '../../src/leases/lease-store.js';
import { readResults } from '../../src/results/index.js';
import { leaseKeys } from '../../src/shared/names.js';
import { startWorkerService } from '../../src/worker/service.js';
import { track } from '../helpers/context.js';
import { closeArrivals, runNode } from '../helpers/leases.js';
import { SIM_KEY, startPipeline, testLogger, waitFor, type PipelineFixture } from '../helpers/pipeline.js';
import { startRedisServer } from '../helpers/redis-server.js';

async function worker(p: PipelineFixture) {
  return track(await startWorkerService({ config: p.config, logger: testLogger(), ingress: false, sweeps: false }), 'worker service');
}

/** The deadline of each pending lease, ms epoch. */
async function deadlines(p: PipelineFixture): Promise<Map<string, number>> {
  return new Map((await listLeases({ queue: p.producer.queues.closeQueue, redis: p.producer.redis }, { limit: 1000 })).leases.map((l) => [l.sessionId, l.expiresAt]));
}

const resultOf = async (p: PipelineFixture, id: string) => (await readResults({ redis: p.producer.redis, prefix: p.prefix })).find((r) => r.sessionId === id);

/** Checks each session's close reached the API at or after its deadline and within a second of it; prints the figures. */
function expectFiredOnTime(p: PipelineFixture, due: Map<string, number>, label: string): void {
  const arrivals = closeArrivals(p.sim);
  const late = [...due].map(([id, at]) => (arrivals.get(id) ?? Number.NaN) - at);
  console.log(`[leases] ${label}: close arrival - deadline, ms: ${late.join(', ')}`);
  for (const ms of late) {
    expect(ms).toBeGreaterThanOrEqual(0);
    expect(ms).toBeLessThanOrEqual(1000);
  }
}

describe('leases outlive their holder', () => {
  it('a process holding keepAlive leases is killed with SIGKILL: its sessions are closed within deadline + 1 s', async () => {
    const p = await startPipeline();
    const ids = p.sim.createSessions(3);
    const service = await worker(p);
    const holder = runNode(
      `const { createProducer } = await import(LIB);
       const producer = createProducer({ redisUrl: process.env.REDIS_URL, prefix: process.env.PREFIX });
       for (const id of JSON.parse(process.env.IDS)) {
         const lease = await producer.lease(id, { ttl: '10s', requestId: 'holder' });
         lease.keepAlive({ every: '2s', onError: (e) => console.error('renewal failed', e.message) });
       }
       console.log('holding');
       setInterval(() => {}, 1000);`,
      { REDIS_URL: p.config.redisUrl, PREFIX: p.prefix, IDS: JSON.stringify(ids) },
    );
    await holder.waitFor(/^holding$/m);
    const first = await deadlines(p);
    // the holder outlives its first deadline: its renewals keep the sessions open
    await waitFor('past the first deadlines', () => Date.now() > Math.max(...first.values()) + 500, 20_000);
    expect(closeArrivals(p.sim).size).toBe(0);
    expect([...(await listLeases({ queue: p.producer.queues.closeQueue, redis: p.producer.redis })).leases].every((l) => l.renewals >= 4)).toBe(true);
    holder.kill('SIGKILL');
    await holder.exited;
    const due = await deadlines(p);
    expect(due.size).toBe(3);
    await waitFor('every session closed by its lease', async () => (await readResults({ redis: p.producer.redis, prefix: p.prefix })).length === 3, 30_000);
    expectFiredOnTime(p, due, 'SIGKILLed keepAlive holder');
    for (const id of ids) expect(await resultOf(p, id)).toMatchObject({ outcome: 'closed', lease: true, leaseEnd: 'fired', requestId: 'holder' });
    await holder.close();
    await service.close();
    await p.close();
  });

  it('withSession closes the session when the function returns, when it throws, and (by its lease) when its process is SIGKILLed', async () => {
    const p = await startPipeline();
    const service = await worker(p);
    const opts = { producer: p.producer, client: p.client, ttl: '10s', renewEvery: '2s', requestId: 'with-session' };
    let seen: string | undefined;
    const value = await withSession(opts, async (session, { lease, signal }) => {
      seen = session.id;
      expect(session.status).toBe('RUNNING');
      expect({ active: lease.active, aborted: signal.aborted }).toEqual({ active: true, aborted: false });
      return 42;
    });
    expect(value).toBe(42);
    const returned = seen as string;
    await waitFor('closed after the function returned', async () => (await resultOf(p, returned))?.leaseEnd === 'released', 20_000);

    const boom = new Error('the workflow failed');
    await expect(withSession(opts, async (session) => {
      seen = session.id;
      throw boom;
    })).rejects.toBe(boom);
    const threw = seen as string;
    await waitFor('closed after the function threw', async () => (await resultOf(p, threw))?.leaseEnd === 'released', 20_000);
    for (const id of [returned, threw]) await waitFor(`${id} ended`, () => p.sim.getSession(id)?.status === 'COMPLETED', 10_000);

    const child = runNode(
      `const { withSession } = await import(LIB);
       await withSession({ redisUrl: process.env.REDIS_URL, prefix: process.env.PREFIX, apiKey: process.env.KEY, baseUrl: process.env.BASE, ttl: '10s', renewEvery: '2s' }, async (session) => {
         console.log('session ' + session.id);
         await new Promise(() => {}); // a workflow that hangs until the process is killed
       });`,
      { REDIS_URL: p.config.redisUrl, PREFIX: p.prefix, KEY: SIM_KEY, BASE: p.sim.url },
    );
    const [, killed] = (await child.waitFor(/^session (\S+)$/m)) as unknown as [string, string];
    await waitFor('a renewal', async () => ((await listLeases({ queue: p.producer.queues.closeQueue, redis: p.producer.redis })).leases[0]?.renewals ?? 0) >= 1, 20_000);
    child.kill('SIGKILL');
    await child.exited;
    const due = await deadlines(p);
    expect([...due.keys()]).toEqual([killed]);
    await waitFor('the killed holder\'s session closed by its lease', async () => (await resultOf(p, killed)) !== undefined, 30_000);
    expectFiredOnTime(p, due, 'SIGKILLed withSession');
    expect(await resultOf(p, killed)).toMatchObject({ lease: true, leaseEnd: 'fired' });
    expect(p.sim.stats().closes.releasedMoreThanOnce).toBe(0);
    await child.close();
    await service.close();
    await p.close();
  });

  it('renewals from two processes at once: each is one atomic step, the job and the index agree, and the lease fires once, at the last deadline', async () => {
    const p = await startPipeline();
    const [id] = p.sim.createSessions(1) as [string];
    const target = { queue: p.producer.queues.closeQueue, redis: p.producer.redis };
    await acquireLeases(target, [id], 60_000);
    const service = await worker(p);
    const renewer = () =>
      runNode(
        `const { createProducer } = await import(LIB);
         const producer = createProducer({ redisUrl: process.env.REDIS_URL, prefix: process.env.PREFIX });
         const lease = await producer.lease(process.env.ID, { ttl: '10s' });
         let n = 1;
         for (; n <= 300; n++) await lease.renew(10_000 + Math.floor(Math.random() * 5_000));
         console.log('renewed ' + n);
         await producer.close();`,
        { REDIS_URL: p.config.redisUrl, PREFIX: p.prefix, ID: id },
      );
    const [a, b] = [renewer(), renewer()];
    await Promise.all([a.waitFor(/^renewed 301$/m), b.waitFor(/^renewed 301$/m)]);
    await Promise.all([a.exited, b.exited]);
    const job = await p.producer.queues.closeQueue.getJob(`close-${id}`);
    const indexed = Number(await p.producer.redis.zscore(leaseKeys(p.prefix).deadlines, `close-${id}`));
    const delayedScore = Number(await p.producer.redis.zscore(p.producer.queues.closeQueue.keys.delayed as string, `close-${id}`));
    expect(job ? job.timestamp + job.delay : 0).toBe(indexed);
    expect(Math.floor(delayedScore / 0x1000)).toBe(indexed);
    expect(await p.producer.queues.closeQueue.getDelayedCount()).toBe(1);
    const leases = (await listLeases(target)).leases;
    expect(leases).toEqual([expect.objectContaining({ sessionId: id, renewals: 602, expiresAt: indexed })]);
    expect(await readLeaseCounts(p.producer.redis, p.prefix)).toMatchObject({ created: 1, renewed: 602, active: 1 });
    expect(closeArrivals(p.sim).size).toBe(0);
    await waitFor('the lease fired at its last deadline', async () => (await resultOf(p, id)) !== undefined, 30_000);
    expectFiredOnTime(p, new Map([[id, indexed]]), 'after 600 concurrent renewals');
    expect(p.sim.stats().closes.calls).toBe(1);
    await a.close();
    await b.close();
    await service.close();
    await p.close();
  });

  it('leases survive a Redis restart with append-only persistence: pending ones fire at their deadline, renewals and cancels work after it', async () => {
    const redis = track(await startRedisServer({ appendOnly: true }), 'redis-server');
    const p = await startPipeline({ redisUrl: redis.url });
    const [fires, renewed, cancelled] = p.sim.createSessions(3) as [string, string, string];
    const target = { queue: p.producer.queues.closeQueue, redis: p.producer.redis };
    await acquireLeases(target, [fires], 10_000, { now: Date.now() - 5_000 }); // due in 5 s
    await acquireLeases(target, [renewed, cancelled], 60_000);
    await renewLease(target, renewed, 120_000);
    const service = await worker(p);
    await redis.stop();
    await redis.start();
    await waitFor('the producer reconnected', async () => (await p.producer.redis.ping().catch(() => '')) === 'PONG', 30_000, 100);
    expect(await readLeaseCounts(p.producer.redis, p.prefix)).toMatchObject({ active: 3, created: 3, renewed: 1 });
    expect((await renewLease(target, renewed, 300_000)).renewals).toBe(2);
    expect((await endLeases(target, 'cancel', [cancelled]))[0]?.status).toBe('cancelled');
    const due = new Map([[fires, (await deadlines(p)).get(fires) as number]]);
    await waitFor('the lease made before the restart fired', async () => (await resultOf(p, fires)) !== undefined, 30_000);
    expectFiredOnTime(p, due, 'across a Redis restart (AOF)');
    expect((await deadlines(p)).has(renewed)).toBe(true);
    await service.close();
    await p.close();
    await redis.close();
  }, 120_000);
});
