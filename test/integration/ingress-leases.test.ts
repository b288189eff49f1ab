import { describe, expect, it } from 'vitest';
import { listLeases, readLeaseCounts } from '../../src/leases/lease-store.js';
import { readResults } from '../../src/results/index.js';
import { keys } from '../../src/shared/names.js';
import { startWorkerService } from '../../src/worker/service.js';
import { track } from '../helpers/context.js';
import { closeArrivals } from '../helpers/leases.js';
import { startPipeline, testLogger, waitFor } from '../helpers/pipeline.js';

describe('ingress entries with close_after / close_at are leases', () => {
  it('create, renew and fire leases; an entry without either closes now and wins over the lease; bad fields are rejected', async () => {
    const p = await startPipeline();
    const redis = p.producer.redis;
    const k = keys(p.prefix);
    const target = { queue: p.producer.queues.closeQueue, redis };
    const [renewed, fired, batch1, batch2, superseded] = p.sim.createSessions(5) as [string, string, string, string, string];
    const service = track(await startWorkerService({ config: p.config, logger: testLogger(), sweeps: false }), 'worker service');
    const add = (...fields: string[]) => redis.xadd(k.ingress, '*', ...fields);
    const pendingLeases = async () => new Map((await listLeases(target, { limit: 100 })).leases.map((l) => [l.sessionId, l]));

    const firesAt = Date.now() + 10_500;
    await add('session_id', renewed, 'close_after', '30s', 'request_id', 'req-renewed');
    await add('session_id', fired, 'close_at', String(firesAt), 'request_id', 'req-fired');
    await add('session_ids', JSON.stringify([batch1, batch2, 'bad/id']), 'close_after', '1m');
    await add('session_id', superseded, 'close_after', '1m');
    await add('session_id', 'x-1', 'close_after', '5s');
    await add('session_id', 'x-2', 'close_at', 'tomorrow');
    await add('session_id', 'x-3', 'close_after', '1m', 'close_at', String(Date.now() + 60_000));
    await add('session_id', 'x-4', 'closeAfter', '1m');
    await waitFor('the leases registered', async () => (await pendingLeases()).size === 5, 20_000);
    const first = await pendingLeases();
    expect(first.get(fired)?.expiresAt).toBe(firesAt);
    expect(first.get(renewed)).toMatchObject({ requestId: 'req-renewed', ttlMs: 30_000, renewals: 0 });

    // a later entry with close_after renews; one with neither field closes now
    await add('session_id', renewed, 'close_after', '10m');
    await add('session_id', superseded);
    await waitFor('the renewal', async () => (await pendingLeases()).get(renewed)?.renewals === 1, 20_000);
    expect((await pendingLeases()).get(renewed)?.expiresAt).toBeGreaterThan(Date.now() + 9 * 60_000);
    await waitFor('the superseded lease closed now', async () => (await readResults({ redis, prefix: p.prefix })).some((r) => r.sessionId === superseded), 20_000);

    const rejected = await redis.xrange(k.ingressRejected, '-', '+');
    const records = rejected.map(([, f]) => Object.fromEntries(f.flatMap((v, i) => (i % 2 ? [] : [[v, f[i + 1]]]))) as Record<string, string>);
    const reasons = records.map((r) => `${r.code}: ${r.reason}`);
    expect(reasons).toEqual([
      expect.stringMatching(/^INVALID_SESSION_ID: `session_ids\[2\]` "bad\/id": invalid session id/),
      'INVALID_FIELD: Expected `close_after` to be a duration from 10s to 6h (the longest a Browserbase session runs), such as `90s` or `10m`, got `5s`',
      'INVALID_FIELD: Expected `close_at` to be a time in ms since the epoch, got `tomorrow`',
      'INVALID_FIELD: give either `close_after` or `close_at`, not both',
      'UNKNOWN_FIELD: unknown field `closeAfter`; did you mean `close_after`?',
    ]);

    await waitFor('the close_at lease fired', async () => (await readResults({ redis, prefix: p.prefix })).some((r) => r.sessionId === fired), 30_000);
    const late = (closeArrivals(p.sim).get(fired) as number) - firesAt;
    console.log(`[leases] ingress close_at lease: close arrived ${late} ms after its deadline`);
    expect(late).toBeGreaterThanOrEqual(0);
    expect(late).toBeLessThanOrEqual(1000);
    const results = new Map((await readResults({ redis, prefix: p.prefix })).map((r) => [r.sessionId, r]));
    expect(results.get(fired)).toMatchObject({ outcome: 'closed', lease: true, leaseEnd: 'fired', requestId: 'req-fired' });
    expect(results.get(superseded)).toMatchObject({ outcome: 'closed', lease: true, leaseEnd: 'superseded' });
    expect(results.has(renewed)).toBe(false);
    expect(await readLeaseCounts(redis, p.prefix)).toMatchObject({ active: 3, created: 5, renewed: 1, fired: 1, released: 1 });
    await service.close();
    await p.close();
  });
});
