import { describe, expect, it } from 'vitest';
import { LeaseError } from '../../src/leases/lease-options.js';
import { acquireLeases, endLeases, listLeases, readLeaseCounts, renewLease, settleTakenLease } from '../../src/leases/lease-store.js';
import { enqueueCloses } from '../../src/producer/index.js';
import { createProducer } from '../../src/producer/producer.js';
import { CLOSE_JOB_NAME, closeJobId, leaseKeys } from '../../src/shared/names.js';
import { createQueues } from '../../src/shared/queues.js';
import { createRedis } from '../../src/shared/redis.js';
import { testRedisUrl, track, trackRedis, uniquePrefix } from '../helpers/context.js';

async function setup() {
  const prefix = uniquePrefix('lease-store');
  const redis = trackRedis(createRedis(testRedisUrl(), { role: 'producer', name: 'test' }));
  const queues = track(createQueues({ connection: redis, prefix }), 'queues');
  const target = { queue: queues.closeQueue, redis };
  const state = async (sessionId: string) => (await queues.closeQueue.getJob(closeJobId(sessionId)))?.getState() ?? 'absent';
  const deadline = async (sessionId: string) => {
    const job = await queues.closeQueue.getJob(closeJobId(sessionId));
    return job ? job.timestamp + job.delay : undefined;
  };
  const cleanup = async () => {
    await queues.close();
    await redis.quit();
  };
  return { prefix, redis, queues, target, state, deadline, cleanup };
}

describe('leases in Redis (one atomic script per step, over the close queue\'s delayed jobs)', () => {
  it('a created lease is a delayed close job stored exactly as BullMQ\'s own add stores one, plus its index entry', async () => {
    const t = await setup();
    const now = Date.now();
    const { outcomes } = await acquireLeases(t.target, [{ sessionId: 'lease-a', requestId: 'req-1' }], 60_000, { now, source: 'test' });
    expect(outcomes).toEqual([{ sessionId: 'lease-a', jobId: 'close-lease-a', status: 'created', expiresAt: now + 60_000, renewals: 0 }]);
    await t.queues.closeQueue.add(CLOSE_JOB_NAME, { sessionId: 'plain-b', enqueuedAt: now }, { jobId: 'close-plain-b', delay: 60_000 });
    const ours = await t.redis.hgetall(t.queues.closeQueue.toKey('close-lease-a'));
    const theirs = await t.redis.hgetall(t.queues.closeQueue.toKey('close-plain-b'));
    expect(Object.keys(ours).sort()).toEqual(Object.keys(theirs).sort());
    expect(JSON.parse(ours.opts as string)).toEqual({ ...JSON.parse(theirs.opts as string), jobId: 'close-lease-a' });
    expect(JSON.parse(ours.data as string)).toEqual({ sessionId: 'lease-a', enqueuedAt: now, source: 'test', requestId: 'req-1', lease: true });
    expect({ name: ours.name, delay: ours.delay, priority: ours.priority, timestamp: ours.timestamp }).toEqual({ name: CLOSE_JOB_NAME, delay: '60000', priority: '0', timestamp: String(now) });
    // BullMQ reads it as any delayed job, due at the deadline
    const job = await t.queues.closeQueue.getJob('close-lease-a');
    expect(await job?.getState()).toBe('delayed');
    expect(await t.deadline('lease-a')).toBe(now + 60_000);
    expect(await t.redis.zscore(leaseKeys(t.prefix).deadlines, 'close-lease-a')).toBe(String(now + 60_000));
    expect(await readLeaseCounts(t.redis, t.prefix, now)).toMatchObject({ active: 1, due: 0, created: 1 });
    await t.cleanup();
  });

  it('acquiring a pending lease again renews it; renew moves the deadline and counts renewals; neither creates a second job', async () => {
    const t = await setup();
    const now = Date.now();
    await acquireLeases(t.target, ['lease-r'], 60_000, { now });
    const again = await acquireLeases(t.target, ['lease-r'], 120_000, { now: now + 1000 });
    expect(again.outcomes[0]).toMatchObject({ status: 'renewed', expiresAt: now + 121_000, renewals: 1 });
    expect(await t.deadline('lease-r')).toBe(now + 121_000);
    const r = await renewLease(t.target, 'lease-r', 30_000, now + 2000);
    expect(r).toMatchObject({ status: 'renewed', expiresAt: now + 32_000, renewals: 2 });
    expect(await t.deadline('lease-r')).toBe(now + 32_000);
    expect(await t.queues.closeQueue.getDelayedCount()).toBe(1);
    expect(await renewLease(t.target, 'never-leased', 30_000)).toMatchObject({ status: 'none' });
    expect(await readLeaseCounts(t.redis, t.prefix)).toMatchObject({ active: 1, created: 1, renewed: 2 });
    await t.cleanup();
  });

  it('cancel removes the job (nothing closes); release promotes it to wait (closes now), once; both say so when repeated', async () => {
    const t = await setup();
    await acquireLeases(t.target, ['lease-c', 'lease-x'], 60_000);
    const [cancelled] = await endLeases(t.target, 'cancel', ['lease-c']);
    expect(cancelled).toMatchObject({ status: 'cancelled' });
    expect(await t.state('lease-c')).toBe('absent');
    expect((await endLeases(t.target, 'cancel', ['lease-c']))[0]).toMatchObject({ status: 'ended', ended: { state: 'cancelled' } });
    expect(await renewLease(t.target, 'lease-c', 60_000)).toMatchObject({ status: 'ended', ended: { state: 'cancelled' } });

    const [released] = await endLeases(t.target, 'release', ['lease-x']);
    expect(released).toMatchObject({ status: 'released' });
    expect(await t.state('lease-x')).toBe('waiting');
    expect((await endLeases(t.target, 'release', ['lease-x']))[0]).toMatchObject({ status: 'ended', ended: { state: 'released' } });
    expect(await t.queues.closeQueue.getWaitingCount()).toBe(1);
    expect(await renewLease(t.target, 'lease-x', 60_000)).toMatchObject({ status: 'ended', ended: { state: 'released' } });
    expect((await acquireLeases(t.target, ['lease-x'], 60_000)).outcomes[0]).toMatchObject({ status: 'ended', ended: { state: 'released' } });
    // a cancelled lease leaves nothing behind: a new one can be made
    expect((await acquireLeases(t.target, ['lease-c'], 60_000)).outcomes[0]).toMatchObject({ status: 'created' });
    expect(await readLeaseCounts(t.redis, t.prefix)).toMatchObject({ active: 1, created: 3, cancelled: 1, released: 1 });
    await t.cleanup();
  });

  it('a close request for a leased session wins: the lease is released and the close runs now; a sweep (`leases: keep`) leaves it', async () => {
    const t = await setup();
    await acquireLeases(t.target, ['lease-w', 'lease-k'], 60_000);
    const kept = await enqueueCloses({ queues: t.queues, redis: t.target.redis }, ['lease-k'], { leases: 'keep' });
    expect(kept).toMatchObject({ accepted: 0, duplicates: 1, leasesReleased: 0 });
    expect(await t.state('lease-k')).toBe('delayed');
    const report = await enqueueCloses({ queues: t.queues, redis: t.target.redis }, ['lease-w', 'fresh-1', 'lease-w']);
    expect(report).toMatchObject({ accepted: 2, duplicates: 1, leasesReleased: 1 });
    expect(await t.state('lease-w')).toBe('waiting');
    expect(await t.state('fresh-1')).toBe('waiting');
    expect((await renewLease(t.target, 'lease-w', 60_000)).ended?.state).toBe('released');
    // a second close request is a plain duplicate
    expect(await enqueueCloses({ queues: t.queues, redis: t.target.redis }, ['lease-w'])).toMatchObject({ accepted: 0, duplicates: 1 });
    await t.cleanup();
  });

  it('a lease for a session whose close is pending or done is a no-op reported as such', async () => {
    const t = await setup();
    await enqueueCloses({ queues: t.queues, redis: t.target.redis }, ['closing-1', 'done-1']);
    const done = await t.queues.closeQueue.getJob(closeJobId('done-1'));
    await t.redis.zadd(t.queues.closeQueue.keys.completed as string, Date.now(), done!.id!);
    await t.redis.lrem(t.queues.closeQueue.keys.wait as string, 0, done!.id!);
    const { outcomes, invalid } = await acquireLeases(t.target, ['closing-1', 'done-1', 'bad/id'], 60_000);
    expect(outcomes.map((o) => o.status)).toEqual(['close_pending', 'close_done']);
    expect(invalid).toEqual([{ input: 'bad/id', reason: expect.stringMatching(/^invalid session id/) }]);
    expect(await t.state('closing-1')).toBe('waiting');
    expect(await t.queues.closeQueue.getDelayedCount()).toBe(0);
    expect(await readLeaseCounts(t.redis, t.prefix)).toMatchObject({ active: 0, created: 0 });
    await t.cleanup();
  });

  it('a lease whose job BullMQ promoted at its deadline has fired: renew and cancel say so and change nothing; a retry in backoff is never taken for a lease', async () => {
    const t = await setup();
    const now = Date.now();
    await acquireLeases(t.target, ['lease-f'], 10_000, { now: now - 9_900 }); // due in 100 ms
    await new Promise((r) => setTimeout(r, 200));
    // what a worker's fetch does at the deadline: promote, then take the job
    await t.queues.closeQueue.promoteJobs();
    expect(await t.state('lease-f')).toBe('waiting');
    expect(await renewLease(t.target, 'lease-f', 60_000)).toMatchObject({ status: 'ended', ended: { state: 'fired', at: now + 100 } });
    expect(await settleTakenLease(t.target, 'close-lease-f')).toEqual({ state: 'fired', deadline: now + 100 });
    expect(Number(await t.redis.hget(leaseKeys(t.prefix).lease('close-lease-f'), 'takenAt'))).toBeGreaterThanOrEqual(now + 100);
    // the job goes back to delayed as a retry in backoff would (taken once: processedOn set)
    await t.redis.hset(t.queues.closeQueue.toKey('close-lease-f'), 'processedOn', Date.now());
    await t.redis.lrem(t.queues.closeQueue.keys.wait as string, 0, 'close-lease-f');
    await t.redis.zadd(t.queues.closeQueue.keys.delayed as string, (Date.now() + 60_000) * 0x1000, 'close-lease-f');
    expect(await renewLease(t.target, 'lease-f', 60_000)).toMatchObject({ status: 'ended', ended: { state: 'fired' } });
    expect((await endLeases(t.target, 'cancel', ['lease-f']))[0]).toMatchObject({ status: 'ended', ended: { state: 'fired' } });
    expect(await t.state('lease-f')).toBe('delayed');
    expect(await readLeaseCounts(t.redis, t.prefix)).toMatchObject({ active: 0, fired: 1, cancelled: 0 });
    await t.cleanup();
  });

  it('lists pending leases soonest first with renewals and request id', async () => {
    const t = await setup();
    const now = Date.now();
    await acquireLeases(t.target, [{ sessionId: 'l-late', requestId: 'r-late' }], 600_000, { now });
    await acquireLeases(t.target, ['l-soon'], 60_000, { now });
    await renewLease(t.target, 'l-soon', 90_000, now);
    const { total, leases } = await listLeases(t.target, { limit: 10 });
    expect(total).toBe(2);
    expect(leases).toEqual([
      { sessionId: 'l-soon', jobId: 'close-l-soon', expiresAt: now + 90_000, ttlMs: 90_000, renewals: 1, createdAt: now, account: 'default' },
      { sessionId: 'l-late', jobId: 'close-l-late', expiresAt: now + 600_000, ttlMs: 600_000, renewals: 0, requestId: 'r-late', createdAt: now, account: 'default' },
    ]);
    await t.cleanup();
  });

  it('producer.lease: the handle renews, releases, cancels and says clearly when its lease ended', async () => {
    const prefix = uniquePrefix('lease-handle');
    const producer = track(createProducer({ redisUrl: testRedisUrl(), prefix }), 'producer');
    const lease = await producer.lease('handle-1', { ttl: '1m', requestId: 'job-9' });
    expect({ status: lease.status, active: lease.active, ttlMs: lease.ttlMs }).toEqual({ status: 'created', active: true, ttlMs: 60_000 });
    const before = lease.expiresAt as number;
    const after = await lease.renew('5m');
    expect(after).toBeGreaterThan(before);
    expect(lease.renewals).toBe(1);
    await lease.release();
    expect({ status: lease.status, active: lease.active, expiresAt: lease.expiresAt }).toEqual({ status: 'released', active: false, expiresAt: undefined });
    await lease.release(); // once: a second release is fine and closes nothing more
    const err = await lease.renew().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LeaseError);
    expect(err).toMatchObject({ code: 'LEASE_ENDED', message: expect.stringMatching(/^the lease of session handle-1 was already released at .*; its close is pending or done: nothing to renew$/) });
    await expect(lease.cancel()).rejects.toMatchObject({ code: 'LEASE_ENDED' });

    const other = await producer.lease('handle-2', { ttl: 60_000 });
    await other.cancel();
    await expect(other.release()).rejects.toMatchObject({ code: 'LEASE_ENDED', message: expect.stringContaining('was already cancelled') });
    const pending = await producer.lease('handle-1', { ttl: '1m' });
    expect({ status: pending.status, active: pending.active }).toEqual({ status: 'ended', active: false });
    await expect(producer.lease('handle-3', { ttl: '5s' })).rejects.toMatchObject({ code: 'INVALID_LEASE', message: 'Expected `ttl` to be a duration from 10s to 6h (the longest a Browserbase session runs), such as `90s` or `10m`, got `5s`' });
    await expect(producer.lease('handle-3', { ttl: '7h' })).rejects.toMatchObject({ code: 'INVALID_LEASE' });
    await expect(producer.lease('bad/id', { ttl: '1m' })).rejects.toMatchObject({ code: 'INVALID_SESSION_ID' });
    expect(await producer.queues.closeQueue.getJob(closeJobId('handle-3'))).toBeUndefined();
    await producer.close();
  });
});
