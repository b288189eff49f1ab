import { afterEach, describe, expect, it } from 'vitest';
import { createBrowserbaseClient } from '../../src/browserbase/index.js';
import { closeJobId } from '../../src/shared/names.js';
import { getQueueStats } from '../../src/shared/queues.js';
import { createCloseWorker, type CloseWorker } from '../../src/worker/index.js';
import { runCli } from '../helpers/cli-process.js';
import { track } from '../helpers/context.js';
import { SIM_KEY, startPipeline, testLogger, waitFor, type PipelineFixture } from '../helpers/pipeline.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length) await (cleanups.pop() as () => Promise<unknown>)();
});

/** A pipeline whose first worker uses a key the simulator refuses: every close is dead-lettered. */
async function withDeadLetters(n: number): Promise<{ p: PipelineFixture; env: Record<string, string>; ids: string[]; badWorker: CloseWorker }> {
  const p = await startPipeline();
  cleanups.push(async () => {
    await p.close();
  });
  const badClient = track(createBrowserbaseClient({ apiKey: 'revoked-key', baseUrl: p.sim.url }), 'client');
  cleanups.push(() => badClient.close());
  const badWorker = track(await createCloseWorker({ config: p.config, client: badClient, logger: testLogger() }), 'close worker');
  cleanups.push(() => badWorker.close());
  const ids = p.sim.createSessions(n);
  await p.producer.closeSessions(ids);
  await waitFor('dead letters parked', async () => (await p.producer.queues.deadLetterQueue.getFailedCount()) === n, 30_000);
  return { p, env: { REDIS_URL: p.config.redisUrl, BB_REAPER_PREFIX: p.prefix }, ids, badWorker };
}

describe('bb-reaper dlq', () => {
  it('lists dead letters as a table and as JSON with session, code, HTTP status, message, attempts and time', async () => {
    const { env, ids } = await withDeadLetters(3);
    const json = await runCli(['dlq', 'list', '--json'], { env });
    expect(json.code).toBe(0);
    const rows = JSON.parse(json.stdout) as Array<Record<string, unknown>>;
    expect(rows.map((r) => r.sessionId).sort()).toEqual([...ids].sort());
    expect(rows[0]).toMatchObject({ id: expect.stringMatching(/^close-/), state: 'failed', code: 'REJECTED', httpStatus: 401, attempts: 1, message: expect.stringMatching(/key/i) });
    expect(Date.parse(String(rows[0]?.deadLetteredAt))).toBeGreaterThan(0);
    const table = await runCli(['dlq', 'list', '--limit', '2'], { env });
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^ID\s+ACCOUNT\s+SESSION\s+CODE\s+HTTP\s+ATTEMPTS\s+DEAD-LETTERED AT\s+MESSAGE/);
    expect(table.stdout).toMatch(/REJECTED\s+401\s+1/);
    expect(table.stdout).toContain('(2 of 3; use --limit/--offset for more)');
    const bad = await runCli(['dlq', 'list', '--limit', '0'], { env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/`--limit`.*got `0`/);
  });

  it('re-drives chosen letters (by letter id or session id) and --all; --wait exits 0 once they close, 3 if they fail again', async () => {
    const { p, env, ids, badWorker } = await withDeadLetters(4);
    const [a, b, c, d] = ids as [string, string, string, string];
    // Still the bad key: a re-driven close is dead-lettered again -> exit 3.
    const again = await runCli(['dlq', 'retry', closeJobId(a), '--wait'], { env });
    expect(again.code).toBe(3);
    expect(again.stdout).toMatch(/re-drove 1 dead letter\n/);
    expect(again.stdout).toMatch(/dead-lettered 1 \(of 1\)/);
    await badWorker.close();
    const worker = await p.startWorker();
    cleanups.push(() => worker.close());
    const one = await runCli(['dlq', 'retry', b, 'not-a-letter', '--wait', '--json'], { env });
    expect(one.code).toBe(2); // one id was not a dead letter; the other was still re-driven
    expect(JSON.parse(one.stdout)).toMatchObject({ redriven: [closeJobId(b)], missing: ['not-a-letter'], wait: { closed: 1, deadLettered: 0 } });
    const all = await runCli(['dlq', 'retry', '--all', '--wait'], { env });
    expect(all.code).toBe(0);
    expect(all.stdout).toMatch(/re-drove 3 dead letters/);
    expect(all.stdout).toMatch(/closed 3, already gone 0, dead-lettered 0 \(of 3\)/);
    // A release answered 200 is still RUNNING until the simulator's release delay passes: wait for the state.
    await waitFor('every re-driven session to end COMPLETED', () => [a, b, c, d].every((id) => p.sim.getSession(id)?.status === 'COMPLETED'), 10_000);
    for (const id of [a, b, c, d]) expect(p.sim.getSession(id)?.status).toBe('COMPLETED');
    expect((await getQueueStats(p.producer.queues)).dead).toBe(0);
    const usage = await runCli(['dlq', 'retry'], { env });
    expect(usage.code).toBe(2);
  });

  it('purges only with --yes when stdin is not a terminal', async () => {
    const { p, env } = await withDeadLetters(2);
    const refused = await runCli(['dlq', 'purge'], { env });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/refusing to purge dead letters without --yes/);
    expect((await getQueueStats(p.producer.queues)).dead).toBe(2);
    const purged = await runCli(['dlq', 'purge', '--yes', '--json'], { env });
    expect(purged.code).toBe(0);
    expect(JSON.parse(purged.stdout)).toEqual({ purged: 2 });
    expect((await getQueueStats(p.producer.queues)).dead).toBe(0);
    const empty = await runCli(['dlq', 'list'], { env });
    expect(empty.stdout).toBe('no dead letters\n');
  });
});

describe('bb-reaper stats', () => {
  it('prints queue counts, limiter state, live workers and sweeps as JSON; --healthcheck checks this host', async () => {
    const { p, env, badWorker } = await withDeadLetters(2);
    await badWorker.close();
    const worker = await p.startWorker();
    cleanups.push(() => worker.close());
    await p.producer.closeSessions(['pending-1', 'pending-2', 'pending-3']);
    const r = await runCli(['stats', '--json'], { env });
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(s.prefix).toBe(p.prefix);
    expect(s.queue.dead).toBe(2);
    expect(s.queue.waiting + s.queue.active + s.queue.completed + s.queue.delayed).toBeGreaterThanOrEqual(3);
    expect(s.limiter).toMatchObject({ configuredRate: p.config.rate, concurrency: p.config.concurrency });
    expect(s.workers).toEqual([expect.objectContaining({ alive: true, id: expect.stringMatching(/:\d+$/) })]);
    expect(s.sweeps).toEqual([]);
    const human = await runCli(['stats'], { env });
    expect(human.stdout).toMatch(/dead letters\s+2/);
    expect(human.stdout).toMatch(/workers\s+1 alive/);
    const healthy = await runCli(['stats', '--healthcheck'], { env });
    expect(healthy.code).toBe(0);
    expect(healthy.stdout).toMatch(/^healthy: worker /);
    const nobody = await runCli(['stats', '--healthcheck'], { env: { ...env, BB_REAPER_PREFIX: `${p.prefix}-empty` } });
    expect(nobody.code).toBe(1);
    expect(nobody.stderr).toMatch(/unhealthy: no worker on host/);
  });
});

describe('bb-reaper stats --slots', () => {
  it('adds the slots report (as `slots --json` prints it) only with --slots; plain stats and --healthcheck still need only Redis', async () => {
    const p = await startPipeline({ sim: { concurrencyLimit: 4 } });
    cleanups.push(() => p.close());
    const res = await fetch(`${p.sim.url}/_sim/sessions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ count: 3, startedAgoSeconds: 300, userMetadata: { owner: 'ci' } }) });
    expect(res.status).toBe(200);
    const redisOnly = { REDIS_URL: p.config.redisUrl, BB_REAPER_PREFIX: p.prefix };
    const env = { ...redisOnly, BROWSERBASE_API_KEY: SIM_KEY, BROWSERBASE_BASE_URL: p.sim.url };

    const plain = await runCli(['stats', '--json'], { env: redisOnly });
    expect(plain.code).toBe(0);
    expect(JSON.parse(plain.stdout)).not.toHaveProperty('slots');
    const keyButNoFlag = await runCli(['stats', '--json'], { env });
    expect(JSON.parse(keyButNoFlag.stdout)).not.toHaveProperty('slots');

    const withSlots = await runCli(['stats', '--slots', '--json'], { env });
    expect(withSlots.code).toBe(0);
    const s = JSON.parse(withSlots.stdout) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(s.prefix).toBe(p.prefix);
    expect(s.slots).toMatchObject({ project: { id: 'sim-project', concurrency: 4 }, active: { running: 3, pending: 0 }, free: 1, pendingCloses: 0 });
    expect(s.slots.oldest).toHaveLength(3);
    const human = await runCli(['stats', '--slots'], { env });
    expect(human.stdout).toMatch(/close queue\s+waiting 0/);
    expect(human.stdout).toMatch(/slots\s+3 in use \(3 running, 0 pending\), 1 free/);

    const noKey = await runCli(['stats', '--slots'], { env: redisOnly });
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toMatch(/BROWSERBASE_API_KEY/);
    // A health check never calls the API, so --slots without a key does not make it fail for that.
    const health = await runCli(['stats', '--slots', '--healthcheck'], { env: redisOnly });
    expect(health.stderr).toMatch(/unhealthy: no worker on host/);
  });
});
