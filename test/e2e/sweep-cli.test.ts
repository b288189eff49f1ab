import { afterEach, describe, expect, it } from 'vitest';
import { closeJobId } from '../../src/shared/names.js';
import { createRedis } from '../../src/shared/redis.js';
import { createSweepQueue, listSweepSchedules } from '../../src/sweep/scheduler.js';
import { runCli, spawnCli } from '../helpers/cli-process.js';
import { testRedisUrl, trackRedis } from '../helpers/context.js';
import { SIM_KEY, startPipeline, waitFor, type PipelineFixture } from '../helpers/pipeline.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length) await (cleanups.pop() as () => Promise<unknown>)();
});

async function fleet() {
  const p = await startPipeline();
  cleanups.push(async () => {
    await p.close();
  });
  const oldCi = p.sim.createSessions(2, { startedAgoSeconds: 2 * 3600, userMetadata: { owner: 'ci', run: 7 } });
  const oldPending = p.sim.createSessions(1, { startedAgoSeconds: 20 * 60, status: 'PENDING' });
  const oldOther = p.sim.createSessions(1, { startedAgoSeconds: 3 * 3600, userMetadata: { owner: 'alice' } });
  const young = p.sim.createSessions(2, { startedAgoSeconds: 60, userMetadata: { owner: 'ci' } });
  const kept = p.sim.createSessions(1, { startedAgoSeconds: 5 * 3600, keepAlive: true, userMetadata: { owner: 'ci' } });
  const env = { REDIS_URL: p.config.redisUrl, BB_REAPER_PREFIX: p.prefix, BROWSERBASE_API_KEY: SIM_KEY, BROWSERBASE_BASE_URL: p.sim.url };
  return { p, env, oldCi, oldPending, oldOther, young, kept };
}

async function enqueued(p: PipelineFixture): Promise<string[]> {
  const jobs = await p.producer.queues.closeQueue.getJobs(['waiting', 'active', 'delayed', 'completed', 'prioritized']);
  return jobs.map((j) => j.data.sessionId).sort();
}

describe('bb-reaper sweep', () => {
  it('--dry-run lists the orphans (old, active, not keepAlive) and enqueues nothing', async () => {
    const { p, env, oldCi, oldPending, oldOther, kept } = await fleet();
    const r = await runCli(['sweep', '--older-than', '10m', '--dry-run', '--json'], { env });
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { orphans: Array<{ id: string; status: string; ageMs: number }>; scanned: number; skippedYoung: number; skippedKeepAlive: number; dryRun: boolean };
    expect(out.orphans.map((o) => o.id).sort()).toEqual([...oldCi, ...oldPending, ...oldOther].sort());
    expect(out).toMatchObject({ scanned: 7, skippedYoung: 2, skippedKeepAlive: 1, dryRun: true });
    expect(out.orphans.map((o) => o.id)).not.toContain(kept[0]);
    expect(out.orphans.find((o) => o.id === oldPending[0])?.status).toBe('PENDING');
    expect(await enqueued(p)).toEqual([]);
    const human = await runCli(['sweep', '--older-than', '1h', '--dry-run'], { env });
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/found 3 orphans among 7 active sessions \(older than 1h, keepAlive skipped\); skipped 3 younger, 1 keepAlive/);
    expect(human.stdout).toMatch(/SESSION\s+STATUS\s+AGE\s+REGION\s+KEEPALIVE\s+METADATA/);
    expect(human.stdout).toContain('dry run: nothing enqueued');
  });

  it('enqueues closes for the orphans that match the metadata query; --include-keep-alive adds keepAlive ones; --wait follows them', async () => {
    const { p, env, oldCi, kept, oldOther, young } = await fleet();
    const r = await runCli(['sweep', '--older-than', '90m', '--q', "user_metadata['owner']:'ci'"], { env });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/found 2 orphans among 5 active sessions/);
    expect(r.stdout).toContain('enqueued closes: accepted 2, duplicate 0');
    expect(await enqueued(p)).toEqual([...oldCi].sort());
    expect((await p.producer.queues.closeQueue.getJob(closeJobId(oldCi[0] as string)))?.data.source).toBe('sweep');
    const worker = await p.startWorker();
    cleanups.push(() => worker.close());
    await waitFor('the first sweep closed', () => oldCi.every((id) => p.sim.getSession(id)?.status === 'COMPLETED'), 30_000);
    // Closed sessions are no longer active: the next sweep finds only the keepAlive one.
    const all = await runCli(['sweep', '--older-than', '90m', '--q', "user_metadata['owner']:'ci'", '--include-keep-alive', '--wait', '--json'], { env });
    expect(all.code).toBe(0);
    const out = JSON.parse(all.stdout) as { orphans: Array<{ id: string }>; enqueued: { accepted: number; duplicates: number }; wait: { closed: number; total: number } };
    expect(out.orphans.map((o) => o.id)).toEqual(kept);
    expect(out.enqueued).toMatchObject({ accepted: 1, duplicates: 0 });
    expect(out.wait).toMatchObject({ total: 1, closed: 1, deadLettered: 0 });
    // A release answered 200 is still RUNNING until the simulator's release delay passes: wait for the state.
    await waitFor('the keepAlive orphan to end COMPLETED', () => kept.every((id) => p.sim.getSession(id)?.status === 'COMPLETED'), 10_000);
    for (const id of [...oldCi, ...kept]) expect(p.sim.getSession(id)?.status).toBe('COMPLETED');
    for (const id of [...oldOther, ...young]) expect(p.sim.getSession(id)?.status).toBe('RUNNING');
  });

  it('--every registers a recurring sweep (no API key needed, none stored) and --stop removes it', async () => {
    const { p, env } = await fleet();
    const redisOnly = { REDIS_URL: env.REDIS_URL, BB_REAPER_PREFIX: env.BB_REAPER_PREFIX };
    const r = await runCli(['sweep', '--every', '5m', '--older-than', '30m', '--q', "user_metadata['owner']:'ci'", '--name', 'ci'], { env: redisOnly });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/registered recurring sweep `ci`: every 5m, older than 30m/);
    const connection = trackRedis(createRedis(testRedisUrl(), { role: 'producer' }));
    cleanups.push(() => connection.quit());
    const queue = createSweepQueue({ connection, prefix: p.prefix });
    cleanups.push(() => queue.close());
    expect(await listSweepSchedules(queue)).toEqual([expect.objectContaining({ name: 'ci', everyMs: 300_000, params: { olderThanMs: 1_800_000, q: "user_metadata['owner']:'ci'" } })]);
    const stats = await runCli(['stats', '--json'], { env: redisOnly });
    expect(JSON.parse(stats.stdout).sweeps).toHaveLength(1);
    const listed = await runCli(['sweep', '--list'], { env: redisOnly });
    expect(listed.stdout).toMatch(/^ci: every 5m, older than 30m/);
    const stopped = await runCli(['sweep', '--stop', '--name', 'ci'], { env: redisOnly });
    expect(stopped.code).toBe(0);
    expect(stopped.stdout).toContain('removed recurring sweep `ci`');
    expect(await listSweepSchedules(queue)).toEqual([]);
    expect(await queue.getJobCountByTypes('waiting', 'delayed', 'prioritized')).toBe(0);
    const again = await runCli(['sweep', '--stop', '--name', 'ci'], { env: redisOnly });
    expect(again.stdout).toContain('no recurring sweep named `ci`');
  });

  it('a recurring sweep registered with --every runs inside `bb-reaper worker` and closes the orphans it finds', async () => {
    const { p, env, oldCi, oldOther, young, kept } = await fleet();
    const redisOnly = { REDIS_URL: env.REDIS_URL, BB_REAPER_PREFIX: env.BB_REAPER_PREFIX };
    const reg = await runCli(['sweep', '--every', '1h', '--older-than', '90m', '--q', "user_metadata['owner']:'ci'"], { env: redisOnly });
    expect(reg.code).toBe(0);
    expect(reg.stderr).toMatch(/no worker is running under prefix/);
    const worker = spawnCli(['worker', '--no-ingress'], { env });
    // The first run of an `every` schedule starts at once.
    await waitFor('scheduled sweep closed the orphans', () => oldCi.every((id) => p.sim.getSession(id)?.status === 'COMPLETED'), 30_000);
    for (const id of [...oldOther, ...young, ...kept]) expect(p.sim.getSession(id)?.status).toBe('RUNNING');
    expect((await p.producer.queues.closeQueue.getJob(closeJobId(oldCi[0] as string)))?.data.source).toBe('sweep');
    worker.kill('SIGTERM');
    expect((await worker.exited).code).toBe(0);
    await worker.close();
    expect((await runCli(['sweep', '--stop'], { env: redisOnly })).stdout).toContain('removed recurring sweep `default`');
  });

  it('reports bad input with exit 2: durations, combinations, a query the API rejects, a missing key', async () => {
    const { env } = await fleet();
    const cases: Array<[string[], RegExp, Record<string, string>?]> = [
      [['sweep'], /--older-than is required/],
      [['sweep', '--older-than', '10 minutes'], /`--older-than`.*got `10 minutes`/],
      [['sweep', '--older-than', '500ms'], /`--older-than` to be at least 1s/],
      [['sweep', '--older-than', '10m', '--every', '1s'], /`--every` to be at least 10s/],
      [['sweep', '--older-than', '10m', '--every', '5m', '--dry-run'], /--every cannot be combined with --dry-run/],
      [['sweep', '--stop', '--older-than', '10m'], /--stop takes no sweep parameters/],
      [['sweep', '--older-than', '10m', '--q', 'owner=ci'], /the API rejected the query --q `owner=ci`/],
      [['sweep', '--older-than', '10m'], /BROWSERBASE_API_KEY.*required/, { BROWSERBASE_API_KEY: '' }],
    ];
    const results = await Promise.all(cases.map(([args, , extra]) => runCli(args, { env: { ...env, ...extra } })));
    cases.forEach(([args, message], i) => {
      const r = results[i] as { code: number | null; stderr: string };
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.stderr).toMatch(message);
    });
  });
});
