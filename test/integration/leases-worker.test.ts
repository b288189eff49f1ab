import { describe, expect, it } from 'vitest';
import { acquireLeases, endLeases, readLeaseCounts, renewLease } from '../../src/leases/lease-store.js';
import { readCounters } from '../../src/metrics/counters.js';
import { gatherOpsSnapshot } from '../../src/ops/snapshot.js';
import { readResults, type ResultRecord } from '../../src/results/index.js';
import { startWorkerService } from '../../src/worker/service.js';
import { track } from '../helpers/context.js';
import { closeArrivals } from '../helpers/leases.js';
import { startPipeline, testLogger, waitFor, type PipelineFixture } from '../helpers/pipeline.js';

/** A lease of `ttl` whose deadline is `inMs` from now (the TTL's start moved back), as a holder would have made it earlier. */
const dueIn = (inMs: number, ttl = 10_000) => ({ ttl, now: Date.now() + inMs - ttl });

async function worker(p: PipelineFixture) {
  return track(await startWorkerService({ config: p.config, logger: testLogger(), ingress: false, sweeps: false }), 'worker service');
}

async function resultsBySession(p: PipelineFixture): Promise<Map<string, ResultRecord>> {
  const rows = await readResults({ redis: p.producer.redis, prefix: p.prefix });
  return new Map(rows.map((r) => [r.sessionId, r]));
}

describe('leases fired by the workers, through the normal close path', () => {
  it('fire at their deadline, never before and within a second of it; the results say lease: true, fired, and the minutes saved', async () => {
    const p = await startPipeline();
    const ids = p.sim.createSessions(4);
    const target = { queue: p.producer.queues.closeQueue, redis: p.producer.redis };
    const deadlines = new Map<string, number>();
    for (const [i, id] of ids.entries()) {
      const { ttl, now } = dueIn(1500 + 400 * i);
      const { outcomes } = await acquireLeases(target, [{ sessionId: id, requestId: `req-${i}` }], ttl, { now });
      deadlines.set(id, outcomes[0]?.expiresAt as number);
    }
    const service = await worker(p);
    await waitFor('every lease closed', async () => (await resultsBySession(p)).size === ids.length, 30_000);
    const arrivals = closeArrivals(p.sim);
    const results = await resultsBySession(p);
    const lateness = ids.map((id) => (arrivals.get(id) as number) - (deadlines.get(id) as number));
    console.log(`[leases] fire lateness (close arrival at the API - deadline), ms: ${lateness.join(', ')}`);
    for (const late of lateness) {
      expect(late).toBeGreaterThanOrEqual(0);
      expect(late).toBeLessThanOrEqual(1000);
    }
    for (const [i, id] of ids.entries()) {
      const r = results.get(id);
      expect(r).toMatchObject({ outcome: 'closed', lease: true, leaseEnd: 'fired', requestId: `req-${i}`, attempts: 1 });
      // simulated sessions expire an hour after they start: closing now saves almost all of it
      expect(r?.minutesSaved).toBeGreaterThan(59);
      expect(r?.minutesSaved).toBeLessThanOrEqual(60);
    }
    await waitFor('the simulator saw every leased session end', () => ids.every((id) => p.sim.getSession(id)?.status === 'COMPLETED'), 10_000);
    expect(p.sim.stats().closes.releasedMoreThanOnce).toBe(0);
    await service.close();
    const counters = await readCounters(p.producer.redis, p.prefix);
    expect(counters.minutesSaved.default).toBeGreaterThan(4 * 59);
    expect(await readLeaseCounts(p.producer.redis, p.prefix)).toMatchObject({ active: 0, due: 0, created: 4, fired: 4 });
    const snapshot = await gatherOpsSnapshot({ redis: p.producer.redis, queues: p.producer.queues });
    expect(snapshot.minutesSaved).toBeCloseTo(counters.minutesSaved.default as number, 5);
    await p.close();
  });

  it('a renewed lease never fires at its old deadline, a cancelled one never fires, a released one closes now, once, and a close request supersedes a lease', async () => {
    const p = await startPipeline();
    const [renewed, cancelled, released, superseded, witness] = p.sim.createSessions(5) as [string, string, string, string, string];
    const target = { queue: p.producer.queues.closeQueue, redis: p.producer.redis };
    const old = dueIn(1000);
    await acquireLeases(target, [renewed, cancelled], old.ttl, { now: old.now });
    await acquireLeases(target, [released, superseded], 60_000);
    const service = await worker(p);
    // before the old deadline: move `renewed` 2.5 s later, cancel `cancelled`
    const moved = await renewLease(target, renewed, 10_000, Date.now() + 2500 - 10_000);
    expect(moved.status).toBe('renewed');
    expect((await endLeases(target, 'cancel', [cancelled]))[0]?.status).toBe('cancelled');
    // a witness lease due after the old deadline: once it fired, the old deadline has long passed
    const w = dueIn(1500);
    await acquireLeases(target, [witness], w.ttl, { now: w.now });
    expect((await endLeases(target, 'release', [released]))[0]?.status).toBe('released');
    expect((await p.producer.closeSession(superseded)).leasesReleased).toBe(1);

    await waitFor('the witness lease fired', async () => (await resultsBySession(p)).has(witness), 30_000);
    expect(closeArrivals(p.sim).has(renewed)).toBe(false);
    await waitFor('the renewed lease fired', async () => (await resultsBySession(p)).has(renewed), 30_000);
    const arrivals = closeArrivals(p.sim);
    expect(arrivals.get(renewed)).toBeGreaterThanOrEqual(moved.expiresAt as number);
    const results = await resultsBySession(p);
    expect(results.get(released)).toMatchObject({ outcome: 'closed', lease: true, leaseEnd: 'released' });
    expect(results.get(superseded)).toMatchObject({ outcome: 'closed', lease: true, leaseEnd: 'superseded' });
    expect(results.get(renewed)).toMatchObject({ leaseEnd: 'fired' });
    expect(results.has(cancelled)).toBe(false);
    expect(arrivals.has(cancelled)).toBe(false);
    expect(p.sim.getSession(cancelled)?.status).toBe('RUNNING');
    expect(p.sim.stats().closes.releasedMoreThanOnce).toBe(0);
    expect(await readLeaseCounts(p.producer.redis, p.prefix)).toMatchObject({ active: 0, created: 5, renewed: 1, fired: 2, released: 2, cancelled: 1 });
    await service.close();
    await p.close();
  });

  it('a lease made while no worker runs fires when one starts, and one left past its deadline by a stopped worker fires after a restart', async () => {
    const p = await startPipeline();
    const [early, later] = p.sim.createSessions(2) as [string, string];
    const target = { queue: p.producer.queues.closeQueue, redis: p.producer.redis };
    const a = dueIn(300);
    await acquireLeases(target, [early], a.ttl, { now: a.now });
    await new Promise((r) => setTimeout(r, 400)); // its deadline passes with no worker at all
    expect(await readLeaseCounts(p.producer.redis, p.prefix)).toMatchObject({ active: 1, due: 1 });
    const first = await worker(p);
    await waitFor('the overdue lease fired', async () => (await resultsBySession(p)).has(early), 30_000);
    const b = dueIn(1500);
    await acquireLeases(target, [later], b.ttl, { now: b.now });
    await first.close(); // the worker stops before the second deadline
    await new Promise((r) => setTimeout(r, 1600));
    expect(closeArrivals(p.sim).has(later)).toBe(false);
    const second = await worker(p);
    await waitFor('the second lease fired after the restart', async () => (await resultsBySession(p)).get(later)?.leaseEnd === 'fired', 30_000);
    await second.close();
    await p.close();
  });
});
